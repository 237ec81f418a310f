"""Train the Fashion-MNIST vision transformer (apps/cnn/vit.py), and measure data efficiency.

    python -m apps.cnn.train_vit --epochs 36 --time-limit 3900 --threads 2 --augment none --teacher-weight 0.8
                                                        # weights/cnn/fashion_vit.safetensors + card
    python -m apps.cnn.train_vit --data-efficiency      # weights/cnn/data_efficiency.json

The ViT trains on the first 55,000 training images; the last 5,000 are validation, which picks
the epoch (KeepBest) and chose between runs; the 10,000 test images are evaluated once per run,
at the end, for the card. The main run also learns from the shipped fashion CNN's answers
(distillation; its logits are computed once, on the unaugmented images).
Data efficiency: the fashion CNN (architecture from its card) and the ViT, each trained on
stratified subsets of 1k, 5k and 20k of those 55,000 images for the same number of optimizer
steps per size, each with its own optimizer and labels alone; the full-data points are the
shipped models' cards.

How long it took here, on 2 CPU cores: 0.19 s per step on 2 threads, 3,009 s for 36 epochs (0.37 s
with two runs side by side, one thread each); data efficiency about 30 min per run, run as
parallel processes:
    python -m apps.cnn.train_vit --data-efficiency --only vit --sizes 5000 --run-time-limit 1200
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from apps.cnn import data
from apps.cnn.model import SmallCNN
from apps.cnn.train import latency_ms
from apps.cnn.vit import ViT, ViTConfig, config_dict, n_params, position_locality
from apps.cnn.vit_spec import CHECKPOINT, DATA_EFFICIENCY, GOAL, MAX_PARAMS
from shared.checkpoints import WEIGHTS_DIR, read_card, save_checkpoint
from shared.training import (
    KeepBest,
    accuracy,
    budgeted_schedule,
    card_command,
    classification_loss,
    fit,
    print_progress,
    set_seed,
)

N_VAL = 5_000
FIRST_TEST = 2_000
SIZES = (1_000, 5_000, 20_000)
STEPS = {1_000: 300, 5_000: 300, 20_000: 300}   # per size, the same for both models (batch 128)
CNN_CARD = WEIGHTS_DIR / "cnn" / "fashion_cnn.safetensors"
CNN_DROPOUT = 0.3  # as the shipped fashion CNN was trained
MODEL_NAMES = {"cnn": "CNN", "vit": "ViT"}
TEMPERATURE = 2.0  # distillation: softened teacher and student distributions
DATA_NOTE = ("Fashion-MNIST (Zalando), 28x28 grayscale, Debian package dataset-fashion-mnist: "
             "first 55,000 training images trained on, last 5,000 validation, 10,000 test")


def main(argv=None):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    splits = load_splits(args.data_dir)
    if args.data_efficiency:
        measure_data_efficiency(args, splits)
    else:
        train_main(args, splits)


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-efficiency", action="store_true", help="the 1k/5k/20k curves instead")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--time-limit", type=float, default=3300, help="seconds for the main run")
    parser.add_argument("--run-time-limit", type=float, default=1800, help="seconds cap per data-efficiency run")
    parser.add_argument("--only", choices=["cnn", "vit"], help="data efficiency of one model (processes share the file)")
    parser.add_argument("--sizes", type=int, nargs="+", choices=SIZES, default=SIZES, help="data efficiency: these sizes")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight-decay", type=float, default=0.05)
    parser.add_argument("--teacher-weight", type=float, default=0.5,
                        help="main run: weight of distillation from the shipped fashion CNN (0 = none)")
    parser.add_argument("--augment", choices=["shift-flip", "none"], default="shift-flip")
    parser.add_argument("--dim", type=int, default=ViTConfig.dim)
    parser.add_argument("--depth", type=int, default=ViTConfig.depth)
    parser.add_argument("--heads", type=int, default=ViTConfig.heads)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=data.FASHION_DIR)
    args = parser.parse_args(argv)
    args.argv = argv  # None: the command line, for the card
    return args


def load_splits(data_dir: Path) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Normalised like the fashion CNN's input: {'train': first 55k, 'val': last 5k, 'test': 10k}."""
    x, y = data.load_fashion("train", data_dir)
    x_test, y_test = data.load_fashion("test", data_dir)
    x = data.normalize(x, data.FASHION_MEAN, data.FASHION_STD)
    x_test = data.normalize(x_test, data.FASHION_MEAN, data.FASHION_STD)
    return {"train": (x[:-N_VAL], y[:-N_VAL]), "val": (x[-N_VAL:], y[-N_VAL:]), "test": (x_test, y_test)}


def train_main(args, splits) -> dict:
    cfg = ViTConfig(dim=args.dim, depth=args.depth, heads=args.heads)
    gen = set_seed(args.seed)
    model = ViT(cfg)
    if n_params(model) > MAX_PARAMS:
        raise SystemExit(f"{n_params(model):,} parameters is over the {MAX_PARAMS:,} cap")
    x_val, y_val = splits["val"]
    keep = KeepBest("val_accuracy")
    steps_per_epoch = -(-len(splits["train"][0]) // args.batch_size)
    teacher = teacher_logits(splits["train"][0]) if args.teacher_weight else None
    result, _ = train(model, splits["train"], steps_per_epoch * args.epochs, args.time_limit, gen,
                      optimizer=adamw(model, args), warmup=0.1, batch_size=args.batch_size,
                      evaluate=lambda m: keep.evaluated(m, {"val_accuracy": accuracy(m, eval_batches(x_val, y_val))}),
                      augment=args.augment == "shift-flip", teacher_logits=teacher, teacher_weight=args.teacher_weight)
    keep.restore(model)
    x_test, y_test = splits["test"]
    test_pred = predictions(model, x_test)
    metrics = {
        "test_accuracy": round((test_pred == y_test).float().mean().item(), 4),
        **shipped_figures(model, splits),
        "val_accuracy": round(keep.value, 4),
        "per_class_test_accuracy": {name: round((test_pred[y_test == c] == c).float().mean().item(), 4)
                                    for c, name in enumerate(data.FASHION_CLASSES)},
        "latency_ms_1_thread": latency_ms(torch.no_grad()(lambda: model(x_test[:1]))),
        f"first{FIRST_TEST}_predictions_differing_1_vs_2_threads": threads_disagreement(model, x_test[:FIRST_TEST]),
    }
    card = {
        "name": "Fashion-MNIST vision transformer",
        "architecture": f"ViT (apps/cnn/vit.py): {cfg.patch}x{cfg.patch} patches -> {cfg.grid}x{cfg.grid} = "
                        f"{cfg.grid ** 2} tokens + class token, dim {cfg.dim}, {cfg.depth} pre-norm encoder "
                        f"blocks, {cfg.heads} heads, MLP x{cfg.mlp_ratio}, learned position embeddings, "
                        "linear head on the class token; no convolution",
        "config": config_dict(cfg),
        "data": DATA_NOTE,
        "data_license": "MIT (Zalando Research)",
        "train_images": len(splits["train"][0]),
        "labels": data.FASHION_CLASSES,
        "normalization": {"mean": data.FASHION_MEAN, "std": data.FASHION_STD},
        "augmentation": "random shift up to 2 px, horizontal flip" if args.augment == "shift-flip" else "none",
        "target": f"test_accuracy >= {GOAL} with <= {MAX_PARAMS:,} parameters",
        "teacher": ({"checkpoint": str(CNN_CARD.relative_to(WEIGHTS_DIR.parent)), "weight": args.teacher_weight,
                     "temperature": TEMPERATURE} if args.teacher_weight else None),
        "metrics": metrics,
        "headline_metric": "test_accuracy",
        "note": f"Epoch chosen on the 5,000 validation images (evaluation {keep.evaluation} of "
                f"{keep.evaluations}); the test set was evaluated once, after training.",
        "command": card_command("apps.cnn.train_vit", args.argv),
        "seed": args.seed,
        "steps": result.steps,
        "epochs_completed": round(result.steps / steps_per_epoch, 2),
        "stopped_early": result.stopped_early,
        "train_seconds": round(result.seconds),
        "threads": args.threads,
        "training": f"AdamW lr {args.lr} weight decay {args.weight_decay} (not on biases, norms, embeddings), "
                    f"warm-up 10 % then cosine over {args.epochs} epochs or {args.time_limit:g} s, whichever "
                    f"ends first (shared.training.budgeted_schedule), label smoothing 0.1, batch {args.batch_size}"
                    + (f"; distilled from the shipped fashion CNN (weights/cnn/fashion_cnn.safetensors): loss = "
                       f"{1 - args.teacher_weight:g} x cross-entropy + {args.teacher_weight:g} x T^2 KL(teacher || "
                       f"student) at T = {TEMPERATURE:g}, the teacher's logits computed once on the unaugmented "
                       "images" if args.teacher_weight else ""),
        "notes": ("The teacher CNN was trained on all 60,000 training images, the 5,000 validation images "
                  "included: validation (which picks the epoch) may flatter the ViT a little; the test images "
                  "were seen by neither, and were evaluated once per run, after training." if args.teacher_weight else
                  "Trained on labels alone."),
        "history": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                    for row in result.history if "val_accuracy" in row],
    }
    saved = save_checkpoint(model.state_dict(), CHECKPOINT, card)
    print({k: saved[k] for k in ("metrics", "params", "train_seconds", "epochs_completed")}, flush=True)
    return saved


def shipped_figures(model, splits) -> dict:
    """What the tests and the tab check against: accuracy on the first 2,000 test images (the
    tests' subset) and how much the position embeddings resemble the 2-D grid."""
    x_test, y_test = splits["test"]
    first = (predictions(model, x_test[:FIRST_TEST]) == y_test[:FIRST_TEST]).float().mean().item()
    return {f"test_first{FIRST_TEST}_accuracy": round(first, 4), "position_similarity": position_locality(model)}


def measure_data_efficiency(args, splits) -> dict:
    """Both models on 1k / 5k / 20k stratified training images, equal steps; test accuracy each.

    Runs already in data_efficiency.json with the same plan are kept (a rerun after the main
    runs only refreshes the full-data points from the cards)."""
    cnn_card = read_card(CNN_CARD)
    vit_cfg = ViTConfig(dim=args.dim, depth=args.depth, heads=args.heads)
    x_test, y_test = splits["test"]
    done = json.loads(DATA_EFFICIENCY.read_text())["runs"] if DATA_EFFICIENCY.exists() else []
    rows = []
    for size in args.sizes:
        subset = stratified(splits["train"], size, seed=args.seed)
        for name in [args.only] if args.only else ["cnn", "vit"]:
            plan = {"model": name, "train_images": size, "planned_steps": STEPS[size], "seed": args.seed}
            kept = [r for r in done if all(r.get(k) == v for k, v in plan.items())]
            if kept:
                rows.append(kept[0])
                continue
            gen = set_seed(args.seed)
            if name == "cnn":
                model = SmallCNN(tuple(cnn_card["widths"]), flatten_head=cnn_card["flatten_head"], dropout=CNN_DROPOUT)
                optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
                warmup = 0.2
            else:
                model = ViT(vit_cfg)
                optimizer, warmup = adamw(model, args), 0.1
            result, _ = train(model, subset, STEPS[size], args.run_time_limit, gen, optimizer=optimizer,
                              warmup=warmup, batch_size=args.batch_size)
            acc = (predictions(model.eval(), x_test) == y_test).float().mean().item()
            rows.append({**plan, "test_accuracy": round(acc, 4), "steps": result.steps,
                         "epochs": round(result.steps * args.batch_size / size, 1), "seconds": round(result.seconds),
                         "time_cap_s": args.run_time_limit, "command": card_command("apps.cnn.train_vit", args.argv)})
            print(rows[-1], flush=True)
            write_data_efficiency(args, rows, vit_cfg)
    return write_data_efficiency(args, rows, vit_cfg)


def write_data_efficiency(args, rows, vit_cfg) -> dict:
    mine = {(r["model"], r["train_images"]) for r in rows}
    if DATA_EFFICIENCY.exists():  # another process's runs (--only) stay
        rows = rows + [r for r in json.loads(DATA_EFFICIENCY.read_text())["runs"]
                       if "planned_steps" in r and (r["model"], r["train_images"]) not in mine]
    rows = sorted(rows, key=lambda r: (r["train_images"], r["model"]))
    cnn_card, vit_card = read_card(CNN_CARD), read_card(CHECKPOINT)
    full = [{"model": "cnn", "train_images": 60_000, "test_accuracy": cnn_card["metrics"]["test_accuracy"],
             "steps": cnn_card["steps"], "seconds": cnn_card["train_seconds"], "source": "weights/cnn/fashion_cnn.json"},
            {"model": "vit", "train_images": 55_000, "test_accuracy": vit_card["metrics"]["test_accuracy"],
             "steps": vit_card["steps"], "seconds": vit_card["train_seconds"], "source": "weights/cnn/fashion_vit.json",
             "epochs": vit_card["epochs_completed"], "recipe": vit_card["training"]}]
    caps = ", ".join(f"{MODEL_NAMES[r['model']]} {r['train_images'] // 1000}k {r['time_cap_s']:,.0f} s" for r in rows)
    out = {
        "what": "Fashion-MNIST test accuracy (10,000 images) of the fashion CNN and the ViT by training-set size",
        "sizes": sorted({r["train_images"] for r in rows + full}),
        "test_accuracy": {m: {str(r["train_images"]): r["test_accuracy"] for r in rows + full if r["model"] == m}
                          for m in ("cnn", "vit")},
        "runs": rows + full,
        "vit_config": config_dict(vit_cfg),
        "vit_config_matches_shipped": vit_card.get("config") == config_dict(vit_cfg),
        "recipe": f"subsets: stratified (equal per class) from the first 55,000 training images, seed {args.seed}; "
                  f"per size both models get the same optimizer steps {STEPS} at batch {args.batch_size}, "
                  f"each capped by wall-clock time (time_cap_s per run: {caps}) on a CPU shared with other "
                  "training jobs, so a run may stop before its planned steps (steps run are recorded) and its "
                  "schedule then anneals by time; same augmentation (2 px shift, flip) and label smoothing 0.1; "
                  "CNN: SGD nesterov lr 0.05, weight decay 5e-4, warm-up 20 % + cosine; ViT: AdamW lr "
                  f"{args.lr}, weight decay {args.weight_decay}, warm-up 10 % + cosine. Final weights, no "
                  "selection. Full-data points: the shipped checkpoints' cards (CNN trained on all 60,000; ViT "
                  "on 55,000, epoch chosen on the last 5,000"
                  + (", distilled from the shipped CNN: see its card" if vit_card.get("teacher") else "")
                  + "), with their own budgets. The 1k-20k ViT runs learn from labels alone.",
        "command": "python -m apps.cnn.train_vit --data-efficiency",  # with every run kept: refreshes the full-data points
        "commands": sorted({r["command"] for r in rows}),
        "seed": args.seed,
        "threads": args.threads,
        "seconds": sum(r["seconds"] for r in rows),
    }
    DATA_EFFICIENCY.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["test_accuracy"]), flush=True)
    return out


def train(model, split, steps, time_limit, gen, *, optimizer, warmup, batch_size, evaluate=None,
          augment=True, teacher_logits=None, teacher_weight=0.0):
    x, y = split
    shift_flip = (lambda b: data.random_crop_flip(b, pad=2, flip=True, generator=gen)) if augment else None
    if teacher_logits is None or not teacher_weight:
        batches = data.batches(x, y, batch_size, shuffle=True, generator=gen, augment=shift_flip)
        loss = classification_loss(label_smoothing=0.1)
    else:  # each label travels with the teacher's logits for that image: (N, 1 + classes)
        targets = torch.cat([y[:, None].float(), teacher_logits], dim=1)
        batches = data.batches(x, targets, batch_size, shuffle=True, generator=gen, augment=shift_flip)
        loss = distillation_loss(teacher_weight)
    scheduler = budgeted_schedule(optimizer, steps, time_limit, warmup=warmup, shape="cosine", floor=0.01)
    epochs = -(-steps // len(batches))
    result = fit(model, optimizer, batches, loss, epochs=epochs, max_steps=steps, time_limit_s=time_limit,
                 scheduler=scheduler, evaluate=evaluate, log_every=100, on_progress=print_progress)
    return result, model.eval()


def distillation_loss(weight: float, temperature: float = TEMPERATURE):
    """(1 - weight) x label-smoothed cross-entropy + weight x T^2 KL(teacher || student) at
    temperature T (Hinton et al. 2015; DeiT's soft distillation, on the class token)."""
    import torch.nn.functional as F

    def loss_fn(model, batch):
        x, targets = batch
        y, teacher = targets[:, 0].long(), targets[:, 1:]
        logits = model(x)
        t = temperature
        kd = F.kl_div(F.log_softmax(logits / t, -1), F.log_softmax(teacher / t, -1), log_target=True,
                      reduction="batchmean") * t * t
        ce = F.cross_entropy(logits, y, label_smoothing=0.1)
        return (1 - weight) * ce + weight * kd, {"acc": (logits.argmax(-1) == y).float().mean()}

    return loss_fn


@torch.no_grad()
def teacher_logits(x: torch.Tensor) -> torch.Tensor:
    """The shipped fashion CNN's logits for each (unaugmented) training image, computed once."""
    from apps.cnn import infer

    teacher, _ = infer.fashion_model()  # the app's loader: built from its card, sha256 checked, eval mode
    return torch.cat([teacher(x[i:i + 1000]) for i in range(0, len(x), 1000)])


def adamw(model, args) -> torch.optim.AdamW:
    """AdamW with weight decay on the weight matrices only (not biases, norms, tokens, positions)."""
    decay = [p for n, p in model.named_parameters() if p.ndim >= 2 and "embedding" not in n and "token" not in n]
    rest = [p for n, p in model.named_parameters() if not any(p is q for q in decay)]
    return torch.optim.AdamW([{"params": decay, "weight_decay": args.weight_decay},
                              {"params": rest, "weight_decay": 0.0}], lr=args.lr)


def stratified(split, size: int, seed: int):
    x, y = split
    g = torch.Generator().manual_seed(seed)
    idx = torch.cat([torch.nonzero(y == c).flatten()[torch.randperm(int((y == c).sum()), generator=g)[:size // 10]]
                     for c in range(10)])
    return x[idx], y[idx]


@torch.no_grad()
def threads_disagreement(model, x) -> int:
    """How many of these images get another class with 2 threads than with 1 (the tests' tolerance)."""
    threads = torch.get_num_threads()
    answers = []
    for n in (1, 2):
        torch.set_num_threads(n)
        answers.append(predictions(model, x))
    torch.set_num_threads(threads)
    return int((answers[0] != answers[1]).sum())


def eval_batches(x, y):
    return data.batches(x, y, 1000, shuffle=False)


@torch.no_grad()
def predictions(model, x) -> torch.Tensor:
    model.eval()
    return torch.cat([model(x[i:i + 1000]).argmax(-1) for i in range(0, len(x), 1000)])



if __name__ == "__main__":
    main()
