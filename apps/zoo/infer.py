"""What the zoo tab computes: layer tables, block totals, latencies, published accuracies, and
LeNet-5 on a drawn digit. Pure functions returning dataclasses; apps/zoo/views.py draws them.

Layer tables come from the model itself: forward hooks record every leaf module's output shape
during one pass of a dummy image on the `meta` device (shapes only: no memory, no arithmetic).
Multiply-adds (MACs) are counted for convolutions and linear layers, the usual convention
(batch norm, activations, pooling and residual additions are comparatively free):
    Conv: output elements × (input channels / groups) × kernel height × kernel width
    Linear: output elements × input features
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from apps.zoo.model import ALIASES, ARCHITECTURES, LeNet5, build
from apps.zoo.spec import DIGIT_LABELS, LATENCY_CAP_S, LATENCY_INPUT, LENET_PATH
from shared.checkpoints import load_checkpoint
from shared.errors import BadInput
from shared.lazy import load_once

# Until something has been measured here, assume this CPU speed to estimate a request's cost;
# afterwards the slowest speed actually measured is used (pessimistic on purpose).
ASSUMED_GMACS_PER_S = 1.0  # a busy 2-core laptop; an idle desktop does 5-20
MODEL_BUILD_S_PER_MPARAM = 0.02  # random init of the weights before a timing run (measured on VGG-16)

# Published ImageNet-1K top-1 (single crop). torchvision's come from the weights enum's metadata
# (torchvision's own training recipes, read at run time, nothing downloaded); the three timm
# models from their papers, whose tables give these numbers.
TORCHVISION_WEIGHTS = {
    "AlexNet": "AlexNet_Weights", "VGG-16": "VGG16_Weights",
    "Inception-v1 (GoogLeNet)": "GoogLeNet_Weights", "Inception-v3": "Inception_V3_Weights",
    "ResNet-50": "ResNet50_Weights", "ResNeXt-50 (32×4d)": "ResNeXt50_32X4D_Weights",
}
PAPER_TOP1 = {
    "Xception": (79.0, "Chollet 2017, Xception (CVPR), Table 1: top-1 0.790, single crop 299×299"),
    "Inception-v4": (80.0, "Szegedy et al. 2017, Inception-v4 (AAAI), Table 2: top-1 error 20.0%, single crop"),
    "Inception-ResNet-v2": (80.1, "Szegedy et al. 2017, Inception-v4 (AAAI), Table 2: top-1 error 19.9%, single crop"),
}


def resolve_name(name) -> str:
    """A catalogue name from what the user typed ('resnet50', 'VGG-16', ...) or BadInput."""
    if not isinstance(name, str) or not name.strip():
        raise BadInput(f"Choose an architecture: {', '.join(ARCHITECTURES)}.")
    text = name.strip()
    if text in ARCHITECTURES:
        return text
    for known in ARCHITECTURES:
        if known.lower() == text.lower():
            return known
    key = "".join(ch for ch in text.lower() if ch.isalnum())
    if key in ALIASES:
        return ALIASES[key]
    raise BadInput(f"Unknown architecture {text[:60]!r}. Known: {', '.join(ARCHITECTURES)}.")


# ---------------------------------------------------------------------------------------------
# layer tables

@dataclass
class Description:
    name: str
    layers: pd.DataFrame   # one row per leaf-module call: layer, type, output shape, params, MACs
    blocks: pd.DataFrame   # the same, summed per top-level block
    params: int            # every parameter of the model (model.parameters())
    macs: int              # multiply-adds for one image at input_size
    weight_layers: int     # conv + linear layers on the inference path
    input_size: int
    year: int
    paper: str
    key_idea: str
    source: str            # where the definition comes from
    top1: float | None     # published ImageNet top-1 (%); None for LeNet-5 (digits)
    top1_source: str


def _macs(module: nn.Module, inputs, output: torch.Tensor) -> int:
    if isinstance(module, nn.modules.conv._ConvNd):
        per_output = (module.in_channels // module.groups) * int(np.prod(module.kernel_size))
        return int(output.numel() // output.shape[0]) * per_output
    if isinstance(module, nn.Linear):
        return int(output.numel() // output.shape[0]) * module.in_features
    return 0


def describe(name: str) -> Description:
    """The layer table of one architecture, from a forward pass on the meta device (cached).

    Accepts what resolve_name does ('resnet50', 'VGG-16'); the cache is keyed by the catalogue
    name, so it holds at most one entry per architecture (ten).
    """
    return _describe(resolve_name(name))


@load_once
def _describe(name: str) -> Description:
    arch = ARCHITECTURES[name]
    model = build(name, "meta")
    rows: list[dict] = []
    seen: set[int] = set()

    def hook(module, inputs, output):
        if not isinstance(output, torch.Tensor):
            return
        first_call = id(module) not in seen  # a reused module (ResNet's relu) owns its weights once
        seen.add(id(module))
        rows.append({
            "layer": qualified[id(module)],
            "type": type(module).__name__,
            "output shape": "×".join(str(d) for d in output.shape[1:]),
            "params": sum(p.numel() for p in module.parameters(recurse=False)) if first_call else 0,
            "MACs": _macs(module, inputs, output),
        })

    qualified = {id(m): n for n, m in model.named_modules()}
    # Leaves, plus containers that own weights directly (timm's BatchNormAct2d holds the batch-norm
    # weights and an activation child): every parameter then appears in exactly one row.
    hooked = [m for m in model.modules()
              if not list(m.children()) or any(True for _ in m.parameters(recurse=False))]
    handles = [m.register_forward_hook(hook) for m in hooked]
    try:
        with torch.no_grad():
            model(torch.empty(1, arch.in_channels, arch.input_size, arch.input_size, device="meta"))
    finally:
        for h in handles:
            h.remove()
    layers = pd.DataFrame(rows, columns=["layer", "type", "output shape", "params", "MACs"])
    layers.insert(0, "#", range(1, len(layers) + 1))
    # Blocks, in order of first use: the top-level child each layer lives in (layer1.0 for ResNet's
    # stages, conv1), and a Sequential of plain layers (VGG's features) cut at its pooling layers.
    layers["block"] = _split_flat_stages([_block_of(n) for n in layers["layer"]], list(layers["layer"]),
                                         list(layers["type"]))
    blocks = (layers.groupby("block", sort=False)
              .agg(first_layer=("#", "min"), layers=("#", "count"), params=("params", "sum"),
                   MACs=("MACs", "sum"), output_shape=("output shape", "last"))
              .reset_index().sort_values("first_layer").drop(columns="first_layer")
              .rename(columns={"output_shape": "output shape"}))
    layers = layers.drop(columns="block")
    weight_layers = int(layers["type"].isin(["Conv1d", "Conv2d", "Linear"]).sum())
    top1, top1_source = published_top1().get(name, (None, "no ImageNet result: trained on digits"))
    return Description(name, layers, blocks.reset_index(drop=True),
                       int(sum(p.numel() for p in model.parameters())),
                       int(layers["MACs"].sum()), weight_layers, arch.input_size,
                       arch.year, arch.paper, arch.key_idea, arch.source, top1, top1_source)


POOLS = {"MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"}


def _split_flat_stages(blocks: list[str], names: list[str], types: list[str]) -> list[str]:
    """A block made of plain layers only (VGG's and LeNet's `features.0` ... `features.30`) split
    into its stages, each ending at a pooling layer: `features.0–4`, `features.5–9`, ..."""
    flat = {b for b in blocks if all(n.startswith(b + ".") and n[len(b) + 1:].isdigit()
                                     for n, nb in zip(names, blocks) if nb == b)}
    out, i = list(blocks), 0
    while i < len(blocks):
        if blocks[i] not in flat:
            i += 1
            continue
        j = i
        while j + 1 < len(blocks) and blocks[j + 1] == blocks[i] and types[j] not in POOLS:
            j += 1
        first, last = names[i].rsplit(".", 1)[1], names[j].rsplit(".", 1)[1]
        out[i: j + 1] = [f"{blocks[i]}.{first}–{last}" if first != last else names[i]] * (j - i + 1)
        i = j + 1
    return out


def _block_of(qualified_name: str) -> str:
    parts = qualified_name.split(".")
    # Sequential containers name their children 0, 1, 2...: a block is the first named part
    # plus the index inside it (ResNet's layer1.0, timm's blocks.3), else the named part alone.
    if len(parts) >= 3 and parts[1].isdigit():
        return ".".join(parts[:2])
    return parts[0]


# ---------------------------------------------------------------------------------------------
# published accuracies

@load_once
def published_top1() -> dict[str, tuple[float, str]]:
    """{name: (top-1 %, source)} for the nine ImageNet models."""
    import torchvision.models as tvm

    table = {}
    for name, enum_name in TORCHVISION_WEIGHTS.items():
        weights = getattr(tvm, enum_name).IMAGENET1K_V1
        top1 = weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]
        table[name] = (float(top1), f"torchvision {enum_name}.IMAGENET1K_V1 metadata (torchvision's own training)")
    table.update(PAPER_TOP1)
    return table


def comparison() -> list[Description]:
    """All ten, in chronological order (each description is cached)."""
    return [describe(name) for name in ARCHITECTURES]


# ---------------------------------------------------------------------------------------------
# latency: measured on demand, once per architecture, one measurement at a time

_latency_ms: dict[str, float] = {}
_measure_lock = threading.Lock()


def cached_latency(name: str) -> float | None:
    return _latency_ms.get(resolve_name(name))


def estimated_seconds(names: list[str]) -> float:
    """How long measuring the not-yet-measured `names` would take (pessimistic estimate)."""
    speeds = [describe(n).macs / 1e9 / (ms / 1e3) for n, ms in _latency_ms.items()
              if describe(n).macs > 1e8]
    gmacs_per_s = min(speeds) if speeds else ASSUMED_GMACS_PER_S
    total = 0.0
    for name in names:
        if name in _latency_ms:
            continue
        d = describe(name)
        macs_224 = d.macs * (LATENCY_INPUT / d.input_size) ** 2 if name != "LeNet-5" else d.macs
        total += TIMED_RUNS_PLUS_WARMUP * macs_224 / 1e9 / gmacs_per_s + MODEL_BUILD_S_PER_MPARAM * d.params / 1e6
    return total


TIMED_RUNS = 3                 # at most; fewer once TIMING_BUDGET_S is spent (at least one)
TIMED_RUNS_PLUS_WARMUP = TIMED_RUNS + 1
TIMING_BUDGET_S = 5.0


@dataclass
class Latencies:
    ms: dict[str, float]   # median CPU milliseconds for one image, per architecture, in the order asked
    input_size: int        # the ImageNet models' input (LeNet-5 runs at its own 32×32)


def measure_latency(names) -> Latencies:
    """Median CPU milliseconds for one image through each named model (batch 1, eval mode).

    224×224 RGB for the nine ImageNet models (so they compare), 32×32 for LeNet-5. Each model
    is measured at most once per process; measurements never overlap (a lock), and a request
    whose estimated work exceeds LATENCY_CAP_S is refused before anything runs, unless it
    names a single model (one model is always allowed: VGG-16 alone takes ~20 s on a busy CPU).
    """
    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    resolved = list(dict.fromkeys(resolve_name(n) for n in names))  # de-duplicated, in order
    if not resolved:
        raise BadInput("Name at least one architecture to measure.")
    estimate = estimated_seconds(resolved)
    if estimate > LATENCY_CAP_S and len(resolved) > 1:
        raise BadInput(f"Measuring {', '.join(n for n in resolved if n not in _latency_ms)} would take "
                       f"about {estimate:.0f} s on this CPU, over the {LATENCY_CAP_S:.0f} s cap for one "
                       "request. Measure fewer at a time (each result is kept).")
    with _measure_lock:  # serialised: two timings at once would each slow the other down
        for name in resolved:
            if name not in _latency_ms:
                _latency_ms[name] = _time_one(name)
    return Latencies({name: _latency_ms[name] for name in resolved}, LATENCY_INPUT)


def _time_one(name: str) -> float:
    arch = ARCHITECTURES[name]
    size = arch.input_size if name == "LeNet-5" else LATENCY_INPUT
    model = build(name, "cpu")
    x = torch.randn(1, arch.in_channels, size, size)
    timings = []
    with torch.inference_mode():
        model(x)  # warm-up: first call allocates and picks kernels
        while len(timings) < TIMED_RUNS and (not timings or sum(timings) < TIMING_BUDGET_S):
            start = time.perf_counter()
            model(x)
            timings.append(time.perf_counter() - start)
    del model
    return float(np.median(timings) * 1e3)


# ---------------------------------------------------------------------------------------------
# LeNet-5 on a drawn digit

@load_once
def lenet() -> tuple[LeNet5, dict]:
    state, card = load_checkpoint(LENET_PATH)
    model = LeNet5()
    model.load_state_dict(state)
    return model.eval(), card


def load_models() -> None:
    """Warm-up: the digit model and the first table (LeNet-5's) are cheap; nothing big."""
    lenet()
    describe("LeNet-5")


def drawing_to_gray(image) -> np.ndarray:
    """A drawing as an (H,W) float array in [0,1] with ink bright on dark (MNIST's polarity).

    Accepts RGB/RGBA/gray arrays. Transparent pixels count as background; a light background
    (black ink on white, as most drawing pads use) is inverted.
    """
    if image is None:
        raise BadInput("Draw a digit first (or upload a picture of one).")
    arr = np.asarray(image)
    if arr.dtype == object or arr.ndim not in (2, 3) or min(arr.shape[:2]) < 8:
        raise BadInput("That is not an image I can read: draw a digit or upload a PNG/JPEG.")
    arr = arr.astype(np.float32)
    if arr.max() > 1.0:
        arr = arr / 255.0
    if arr.ndim == 3:
        if arr.shape[2] == 4 and arr[..., 3].min() < 0.5:
            gray = arr[..., 3]  # strokes on a transparent canvas: opacity is the ink
        else:
            gray = arr[..., :3].mean(-1)
    else:
        gray = arr
    if np.median(gray) > 0.5:  # light background: ink is dark, invert to MNIST's white-on-black
        gray = 1.0 - gray
    return np.clip(gray, 0.0, 1.0)


@dataclass
class DigitReading:
    probabilities: dict[str, float]   # digit label -> probability
    digit: np.ndarray                 # the 28×28 uint8 digit LeNet-5 saw (centred like MNIST's)
    c1_maps: list[np.ndarray]         # the first convolution's 6 maps, 28×28
    c3_maps: list[np.ndarray]         # the second's 16 maps, 10×10


@torch.no_grad()
def classify_digit(image) -> DigitReading:
    """LeNet-5's reading of a drawing (any size, RGB/RGBA/gray, either polarity)."""
    from apps.zoo.data import center_like_mnist, to_lenet_input

    gray = drawing_to_gray(image)
    if (gray > 0.1).sum() < 10:
        raise BadInput("The canvas is empty: draw a digit (0–9) with a thick stroke.")
    digit = center_like_mnist(gray)
    model, card = lenet()
    x = to_lenet_input(digit[None])
    c1 = model.features[1](model.features[0](x))           # (1,6,28,28)
    c3 = model.features[4](model.features[3](model.features[2](c1)))  # (1,16,10,10)
    probs = torch.softmax(model(x), -1)[0]
    labels = card.get("labels", DIGIT_LABELS)
    return DigitReading({labels[i]: float(p) for i, p in enumerate(probs)}, digit,
                        [m.numpy() for m in c1[0]], [m.numpy() for m in c3[0]])
