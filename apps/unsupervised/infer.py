"""What the unsupervised tab computes. Pure functions, no Gradio; figures via shared.plots."""

from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from apps.unsupervised import data as D
from apps.unsupervised.model import DBN, DSN, SOM, ConvAutoencoder
from shared import validate
from shared.checkpoints import WEIGHTS_DIR, load_checkpoint
from shared.errors import BadInput
from shared.lazy import load_once

W = WEIGHTS_DIR / "unsupervised"
AE_PATH, DAE_PATH = W / "autoencoder_2d.safetensors", W / "denoising_ae.safetensors"
RBM_PATH, DSN_PATH, SOM_PATH = W / "rbm_dbn.safetensors", W / "dsn.safetensors", W / "som_digits.safetensors"
CHECKPOINTS = (AE_PATH, DAE_PATH, RBM_PATH, DSN_PATH, SOM_PATH)
SAMPLE_SIZE = 1000        # held-out images the app works with (fashion_sample.npz / digit test split)
MAX_GIBBS_STEPS = 2000
SOM_TIME_CAP_S = 45.0
SOM_MAX_STEPS = 5000


# ---------------------------------------------------------------------------------------------
# loading

@load_once
def autoencoder(which: str) -> tuple[ConvAutoencoder, dict]:
    path = AE_PATH if which == "2d" else DAE_PATH
    state, card = load_checkpoint(path)
    model = ConvAutoencoder(card["latent_dim"])
    model.load_state_dict(state)
    return model.eval(), card


@load_once
def fashion() -> tuple[torch.Tensor, np.ndarray]:
    images, labels = D.fashion_sample()
    return torch.as_tensor(images.astype(np.float32) / 255).unsqueeze(1), labels


@load_once
def latent_codes() -> np.ndarray:
    model, _ = autoencoder("2d")
    with torch.no_grad():
        return model.encode(fashion()[0]).numpy()


@load_once
def dbn() -> tuple[DBN, dict[str, torch.nn.Linear], dict]:
    state, card = load_checkpoint(RBM_PATH)
    model = DBN((784, 256, 128))
    model.load_state_dict({k: v for k, v in state.items() if k.startswith("rbms.")})
    heads = {}
    for key, n_in in (("pixels", 784), ("rbm", 256), ("dbn", 128)):
        head = torch.nn.Linear(n_in, 10)
        head.load_state_dict({"weight": state[f"head_{key}.weight"], "bias": state[f"head_{key}.bias"]})
        heads[key] = head.eval()
    return model.eval(), heads, card


@load_once
def dsn() -> tuple[DSN, dict]:
    state, card = load_checkpoint(DSN_PATH)
    n_modules = len({k.split(".")[1] for k in state if k.startswith("stack.")})
    model = DSN(784, n_hidden=state["stack.0.lower.weight"].shape[0], n_modules=n_modules)
    model.load_state_dict(state)
    return model.eval(), card


@load_once
def som_digits() -> tuple[SOM, np.ndarray, dict]:
    state, card = load_checkpoint(SOM_PATH)
    som = SOM(12, 12, 784)
    som.weights = state["prototypes"].numpy().copy()
    return som, state["unit_labels"].numpy(), card


@load_once
def digits() -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Held-out digits: (binary (N,784), labels, gray uint8 (N,28,28))."""
    _, _, x_test, y_test = D.mnist_split()
    return torch.as_tensor(D.binarize(x_test)), torch.as_tensor(y_test), x_test


def load_models() -> None:
    autoencoder("2d"), autoencoder("dae"), latent_codes(), dbn(), dsn(), som_digits(), digits()


def _index(value, n: int = SAMPLE_SIZE, what: str = "image") -> int:
    return validate.integer(value, 0, n - 1, f"the {what} number")


# ---------------------------------------------------------------------------------------------
# autoencoder

# The scatter is drawn with fixed axes so that a click's pixel maps back to latent coordinates.
SCATTER_PX = (640, 560)
SCATTER_AXES = (0.10, 0.10, 0.62, 0.84)  # left, bottom, width, height as figure fractions


def latent_limits() -> tuple[float, float, float, float]:
    z = latent_codes()
    lo, hi = np.percentile(z, 0.5, axis=0), np.percentile(z, 99.5, axis=0)
    pad = 0.08 * (hi - lo)
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def latent_scatter_image(marker: tuple[float, float] | None = None) -> np.ndarray:
    """The 1,000 held-out images' 2-D codes coloured by class, as an RGB array."""
    from matplotlib.figure import Figure

    from shared.plots import figure_to_array

    z, labels = latent_codes(), fashion()[1]
    x0, x1, y0, y1 = latent_limits()
    fig = Figure(figsize=(SCATTER_PX[0] / 100, SCATTER_PX[1] / 100), dpi=100)
    ax = fig.add_axes(SCATTER_AXES)
    for c, name in enumerate(D.FASHION_CLASSES):
        points = z[labels == c]
        ax.scatter(points[:, 0], points[:, 1], s=7, alpha=0.7, label=name, color=_CLASS_COLORS[c])
    if marker is not None:
        ax.scatter([marker[0]], [marker[1]], s=180, marker="X", color="black", edgecolors="white", zorder=5)
    ax.set(xlim=(x0, x1), ylim=(y0, y1), xlabel="latent z₁", ylabel="latent z₂",
           title="2-D latent space of 1,000 held-out images (click to decode)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, markerscale=2)
    ax.grid(alpha=0.2)
    return figure_to_array(fig)


_CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def click_to_latent(px: float, py: float, width: int, height: int) -> tuple[float, float]:
    """Pixel (from the top-left of the shown image) -> latent (z₁, z₂)."""
    x0, x1, y0, y1 = latent_limits()
    left, bottom, w, h = SCATTER_AXES
    fx, fy = px / width, 1.0 - py / height
    if not (left <= fx <= left + w and bottom <= fy <= bottom + h):
        raise BadInput("Click inside the plot's axes to pick a point of the latent space.")
    return x0 + (fx - left) / w * (x1 - x0), y0 + (fy - bottom) / h * (y1 - y0)


def decode_point(z1, z2) -> np.ndarray:
    """Decode one latent point to a 28×28 image (uint8)."""
    z = torch.tensor([[validate.number(z1, -1e4, 1e4, "z₁"), validate.number(z2, -1e4, 1e4, "z₂")]])
    model, _ = autoencoder("2d")
    with torch.no_grad():
        return _to_uint8(model.decode(z)[0, 0])


def nearest_classes(z1: float, z2: float, k: int = 15) -> dict[str, float]:
    """Class mix of the k held-out images whose codes are nearest the point (what region it is)."""
    z, labels = latent_codes(), fashion()[1]
    nearest = np.argsort(((z - np.array([z1, z2])) ** 2).sum(1))[:k]
    counts = np.bincount(labels[nearest], minlength=10) / k
    return {D.FASHION_CLASSES[c]: float(p) for c, p in enumerate(counts) if p > 0}


def reconstructions(start) -> tuple[list[np.ndarray], list[str]]:
    """8 held-out images from `start`, each with its 2-D and 32-D reconstructions: 24 images."""
    start = _index(start)
    images, labels = fashion()
    idx = [(start + i) % SAMPLE_SIZE for i in range(8)]
    x = images[idx]
    with torch.no_grad():
        r2, r32 = autoencoder("2d")[0](x), autoencoder("dae")[0](x)
    tiles = [t[0].numpy() for t in x] + [t[0].numpy() for t in r2] + [t[0].numpy() for t in r32]
    names = ([f"#{i} {D.FASHION_CLASSES[labels[i]]}" for i in idx] + ["2-D code"] * 8 + ["32-D code"] * 8)
    return tiles, names


def interpolate(index_a, index_b, steps: int = 9) -> tuple[list[np.ndarray], list[str]]:
    """Decode evenly spaced points on the line between two images' 2-D codes (and compare with
    blending the pixels, which only cross-fades)."""
    a, b = _index(index_a), _index(index_b)
    images, labels = fashion()
    model, _ = autoencoder("2d")
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        za, zb = model.encode(images[[a, b]])
        decoded = model.decode((1 - t) * za + t * zb)
    blended = (1 - t[:, :, None, None]) * images[a] + t[:, :, None, None] * images[b]
    tiles = [d[0].numpy() for d in decoded] + [p[0].numpy() for p in blended]
    names = [f"latent t={v:.2f}" for v in t[:, 0].tolist()] + [f"pixels t={v:.2f}" for v in t[:, 0].tolist()]
    names[0] += f"\n{D.FASHION_CLASSES[labels[a]]}"
    names[steps - 1] += f"\n{D.FASHION_CLASSES[labels[b]]}"
    return tiles, names


def denoise(index, noise_std, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """(clean, corrupted, denoised) uint8 images and their errors for one held-out image."""
    index = _index(index)
    std = validate.number(noise_std, 0.0, 1.0, "the noise level")
    clean = fashion()[0][index: index + 1]
    generator = torch.Generator().manual_seed(int(seed))
    noisy = (clean + std * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    with torch.no_grad():
        cleaned = autoencoder("dae")[0](noisy)
    errors = {"corrupted input MSE": F.mse_loss(noisy, clean).item(),
              "denoised MSE": F.mse_loss(cleaned, clean).item()}
    return _to_uint8(clean[0, 0]), _to_uint8(noisy[0, 0]), _to_uint8(cleaned[0, 0]), errors


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    return (image.clamp(0, 1).numpy() * 255).round().astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# RBM and DBN

def rbm_filters(count: int = 64) -> list[np.ndarray]:
    """The first RBM's weights into `count` hidden units, each as a 28×28 picture."""
    model, _, _ = dbn()
    W1 = model.rbms[0].W.detach()
    # show the most-used filters: largest weight norm first (dead units look like noise)
    order = W1.norm(dim=0).argsort(descending=True)[:count]
    return [W1[:, j].reshape(28, 28).numpy() for j in order]


def gibbs_chain(steps, start: str = "noise", seed: int = 0, snapshots: int = 8) -> tuple[list[np.ndarray], list[str]]:
    """Run the first RBM's Gibbs chain v → h → v from noise or from a held-out digit; return
    `snapshots` visible probability images spread over the run."""
    steps = validate.integer(steps, 1, MAX_GIBBS_STEPS, "the number of Gibbs steps")
    model, _, _ = dbn()
    rbm = model.rbms[0]
    generator = torch.Generator().manual_seed(int(seed))
    if start == "noise":
        v = torch.bernoulli(torch.full((1, 784), 0.2), generator=generator)
        first = "noise"
    else:
        index = _index(start, what="digit")
        v = digits()[0][index: index + 1]
        first = f"digit #{index}"
    marks = sorted(set(np.linspace(0, steps, snapshots).round().astype(int).tolist()))
    tiles, names = [v[0].reshape(28, 28).numpy()], [first]
    done = 0
    with torch.no_grad():
        for mark in marks[1:]:
            probs, v = rbm.gibbs(v, mark - done, generator)
            done = mark
            tiles.append(probs[0].reshape(28, 28).numpy())
            names.append(f"step {mark}")
    return tiles, names


def probe_accuracies() -> dict[str, float]:
    """Held-out accuracy of the three linear classifiers, recomputed now (not read from the card)."""
    model, heads, _ = dbn()
    x, y, _ = digits()
    with torch.no_grad():
        features = {"pixels": x, "rbm": model.features(x, 1), "dbn": model.features(x, 2)}
        return {key: (heads[key](features[key]).argmax(1) == y).float().mean().item() for key in heads}


# ---------------------------------------------------------------------------------------------
# deep stacking network

def dsn_accuracies() -> list[float]:
    model, _ = dsn()
    x, y, _ = digits()
    with torch.no_grad():
        return [(out.argmax(1) == y).float().mean().item() for out in model.module_outputs(x)]


def dsn_on_digit(index) -> tuple[np.ndarray, int, list[dict[str, float]]]:
    """(the digit, its label, each module's scores as softmax-normalised probabilities)."""
    index = _index(index, what="digit")
    model, _ = dsn()
    x, y, gray = digits()
    with torch.no_grad():
        outputs = model.module_outputs(x[index: index + 1])
    # the modules output least-squares scores, not probabilities; softmax(5·score) is for display
    per_module = [{str(c): float(p) for c, p in enumerate(torch.softmax(5 * out[0], 0))} for out in outputs]
    return gray[index], int(y[index]), per_module


# ---------------------------------------------------------------------------------------------
# self-organising map, trained live

def som_data(dataset: str, seed: int = 0) -> np.ndarray:
    if dataset == "colours":
        return np.random.default_rng(seed).random((2000, 3)).astype(np.float32)
    if dataset == "digits":
        x_train = D.mnist_split()[0]
        return x_train.reshape(-1, 784).astype(np.float32) / 255
    raise BadInput("Choose 'colours' or 'digits' to train the map on.")


def train_som_live(dataset: str, size, steps, snapshots: int = 6, seed: int = 0):
    """Yield (fraction done, snapshot images, snapshot titles, quantization errors) as a SOM
    trains; stops at SOM_TIME_CAP_S."""
    size = validate.integer(size, 4, 20, "the map size (units per side)")
    steps = validate.integer(steps, 10, SOM_MAX_STEPS, "the number of training steps")
    data = som_data(dataset, seed)
    som = SOM(size, size, data.shape[1], seed=seed)
    images, titles, errors = [som.image()], ["start (random)"], [som.quantization_error(data[:500])]
    chunk = max(1, steps // snapshots)
    started = time.monotonic()
    for start in range(0, steps, chunk):
        stop = min(start + chunk, steps)
        som.train_steps(data, start, stop, steps)
        images.append(som.image())
        titles.append(f"step {stop}")
        errors.append(som.quantization_error(data[:500]))
        yield stop / steps, images, titles, errors
        if time.monotonic() - started > SOM_TIME_CAP_S:
            titles[-1] += " (time cap)"
            yield stop / steps, images, titles, errors
            return


# ---------------------------------------------------------------------------------------------
# sentences written from the numbers a learner sees

def _at(step: int) -> str:
    return "at the start" if step == 0 else f"at step {step:,}"


def som_error_sentence(errors, steps) -> str:
    """One sentence on a SOM run's quantization error, from its numbers; empty when it only falls.

    The error of a random map can be low (random prototypes spread through the data); while the
    neighbourhood is wide every sample drags whole regions of the map toward it, so the error rises
    before it falls. errors[i] was measured after steps[i] training steps (0 = the random start).
    """
    errors, steps = [float(e) for e in errors], [int(s) for s in steps]
    if len(errors) < 3:
        return ""
    low = next((i for i in range(len(errors) - 1) if errors[i + 1] > errors[i]), len(errors) - 1)
    if low == len(errors) - 1:
        return ""
    peak = max(range(low, len(errors)), key=errors.__getitem__)
    last = len(errors) - 1
    text = (f"The error went from {errors[low]:.3g} {_at(steps[low])} up to {errors[peak]:.3g} "
            f"{_at(steps[peak])}")
    if peak < last:
        text += f" and back down to {errors[last]:.3g} {_at(steps[last])}"
    where = "above" if errors[last] > errors[low] else "below"
    text += (f", {where} its first low: the error rises while the neighbourhood is still wide and pulls units "
             "together; it falls once the neighbourhood shrinks.")
    return text


def dsn_sentence(accuracies) -> str:
    """What the per-module accuracies say, with their real range (a zoomed axis would exaggerate it)."""
    acc = [float(a) for a in accuracies]
    if not acc:
        return ""
    first, last = acc[0], acc[-1]
    best = max(range(len(acc)), key=acc.__getitem__)
    change = (last - first) * 100
    text = f"Held-out accuracy goes from {first:.1%} after module 1 to {last:.1%} after module {len(acc)}"
    if acc[best] > last and best != 0:
        text += f" (best {acc[best]:.1%} after module {best + 1})"
    if abs(change) < 0.05:
        return text + ": the extra modules change nothing on these digits."
    verb = "add" if change > 0 else "cost"
    text += f": the {len(acc) - 1} extra modules {verb} {abs(change):.1f} points"
    if abs(change) < 2:
        text += ", a small change: on an axis from 0 to 100 % the line looks almost flat"
    return text + "."
