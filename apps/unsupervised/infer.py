"""What the unsupervised tab computes: the autoencoders' codes and images, the RBM's filters and
Gibbs chains, the DBN's features, the deep stacking network's modules and self-organising maps.
Pure functions returning dataclasses; apps/unsupervised/views.py draws them."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from apps.unsupervised import data as D
from apps.unsupervised import spec
from apps.unsupervised.model import DBN, DSN, SOM, ConvAutoencoder
from apps.unsupervised.spec import AE_PATH, DAE_PATH, DSN_PATH, RBM_PATH, SAMPLE_SIZE, SOM_PATH
from shared.checkpoints import load_checkpoint
from shared.errors import BadInput
from shared.lazy import load_once

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
    som = SOM(spec.SHIPPED_SOM_SIDE, spec.SHIPPED_SOM_SIDE, 784)
    som.weights = state["prototypes"].numpy().copy()
    return som, state["unit_labels"].numpy(), card


@load_once
def digits() -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Held-out digits: (binary (N,784), labels, gray uint8 (N,28,28))."""
    _, _, x_test, y_test = D.mnist_split()
    return torch.as_tensor(D.binarize(x_test)), torch.as_tensor(y_test), x_test


def load_models() -> None:
    autoencoder("2d"), autoencoder("dae"), latent_codes(), dbn(), dsn(), som_digits(), digits()


def _index(value, what: str = "image") -> int:
    return spec.IMAGE_INDEX.check(value, f"the {what} number")


# ---------------------------------------------------------------------------------------------
# autoencoder

@dataclass
class LatentMap:
    codes: np.ndarray                              # (N, 2): every held-out image's 2-number code
    classes: np.ndarray                            # (N,) class index of each image
    limits: tuple[float, float, float, float]      # z1 from, z1 to, z2 from, z2 to
    marker: tuple[float, float] | None = None      # the point being decoded


@dataclass
class DecodedPoint:
    z1: float
    z2: float
    image: np.ndarray              # 28×28 uint8
    nearest: dict[str, float]      # class -> share of the held-out images whose codes are nearest


@dataclass
class Reconstructions:
    indices: list[int]
    classes: list[str]
    originals: list[np.ndarray]    # 28×28 floats in [0, 1]
    through_2: list[np.ndarray]    # through the 2-number code
    through_32: list[np.ndarray]   # through the denoising autoencoder's 32-number code


@dataclass
class Interpolation:
    index_a: int
    index_b: int
    class_a: str
    class_b: str
    t: list[float]
    decoded: list[np.ndarray]      # decoded points on the line between the two codes
    blended: list[np.ndarray]      # the two images' pixels cross-faded, for comparison


@dataclass
class Denoised:
    index: int
    noise_std: float
    clean: np.ndarray              # 28×28 uint8
    noisy: np.ndarray
    cleaned: np.ndarray
    noisy_mse: float               # mean squared pixel error of the corrupted input
    denoised_mse: float            # ... and of the autoencoder's output


def latent_limits() -> tuple[float, float, float, float]:
    z = latent_codes()
    lo, hi = np.percentile(z, 0.5, axis=0), np.percentile(z, 99.5, axis=0)
    pad = 0.08 * (hi - lo)
    return float(lo[0] - pad[0]), float(hi[0] + pad[0]), float(lo[1] - pad[1]), float(hi[1] + pad[1])


def latent_map(marker: tuple[float, float] | None = None) -> LatentMap:
    return LatentMap(latent_codes(), fashion()[1], latent_limits(), marker)


def click_to_latent(px: float, py: float, width: int, height: int) -> tuple[float, float]:
    """Pixel (from the top-left of the shown image) -> latent (z₁, z₂)."""
    x0, x1, y0, y1 = latent_limits()
    left, bottom, w, h = spec.SCATTER_AXES
    fx, fy = px / width, 1.0 - py / height
    if not (left <= fx <= left + w and bottom <= fy <= bottom + h):
        raise BadInput("Click inside the plot's axes to pick a point of the latent space.")
    return x0 + (fx - left) / w * (x1 - x0), y0 + (fy - bottom) / h * (y1 - y0)


def decode_point(z1, z2, k: int = 15) -> DecodedPoint:
    """Decode one latent point to a 28×28 image; say which classes the k nearest held-out codes are."""
    z1, z2 = spec.LATENT.check(z1, "z₁"), spec.LATENT.check(z2, "z₂")
    model, _ = autoencoder("2d")
    with torch.no_grad():
        image = _to_uint8(model.decode(torch.tensor([[z1, z2]], dtype=torch.float32))[0, 0])
    z, labels = latent_codes(), fashion()[1]
    nearest = np.argsort(((z - np.array([z1, z2])) ** 2).sum(1))[:k]
    counts = np.bincount(labels[nearest], minlength=10) / k
    return DecodedPoint(z1, z2, image, {D.FASHION_CLASSES[c]: float(p) for c, p in enumerate(counts) if p > 0})


def reconstructions(start) -> Reconstructions:
    """8 held-out images from `start`, each with its 2-D and 32-D reconstructions."""
    start = _index(start)
    images, labels = fashion()
    idx = [(start + i) % SAMPLE_SIZE for i in range(8)]
    x = images[idx]
    with torch.no_grad():
        r2, r32 = autoencoder("2d")[0](x), autoencoder("dae")[0](x)
    return Reconstructions(idx, [D.FASHION_CLASSES[labels[i]] for i in idx], [t[0].numpy() for t in x],
                           [t[0].numpy() for t in r2], [t[0].numpy() for t in r32])


def interpolate(index_a, index_b, steps: int = 9) -> Interpolation:
    """Decode evenly spaced points on the line between two images' 2-D codes (and blend the pixels,
    which only cross-fades)."""
    a, b = _index(index_a), _index(index_b)
    images, labels = fashion()
    model, _ = autoencoder("2d")
    t = torch.linspace(0, 1, steps)[:, None]
    with torch.no_grad():
        za, zb = model.encode(images[[a, b]])
        decoded = model.decode((1 - t) * za + t * zb)
    blended = (1 - t[:, :, None, None]) * images[a] + t[:, :, None, None] * images[b]
    return Interpolation(a, b, D.FASHION_CLASSES[labels[a]], D.FASHION_CLASSES[labels[b]], t[:, 0].tolist(),
                         [d[0].numpy() for d in decoded], [p[0].numpy() for p in blended])


def denoise(index, noise_std, seed: int = 0) -> Denoised:
    """One held-out image corrupted by Gaussian noise, and the denoising autoencoder's output."""
    index = _index(index)
    std = spec.NOISE_STD.check(noise_std, "the noise level")
    clean = fashion()[0][index: index + 1]
    generator = torch.Generator().manual_seed(int(seed))
    noisy = (clean + std * torch.randn(clean.shape, generator=generator)).clamp(0, 1)
    with torch.no_grad():
        cleaned = autoencoder("dae")[0](noisy)
    return Denoised(index, std, _to_uint8(clean[0, 0]), _to_uint8(noisy[0, 0]), _to_uint8(cleaned[0, 0]),
                    F.mse_loss(noisy, clean).item(), F.mse_loss(cleaned, clean).item())


def _to_uint8(image: torch.Tensor) -> np.ndarray:
    return (image.clamp(0, 1).numpy() * 255).round().astype(np.uint8)


# ---------------------------------------------------------------------------------------------
# RBM and DBN

@dataclass
class FeatureProbe:
    filters: list[np.ndarray]      # RBM-1's weights into its most-used hidden units, 28×28 each
    accuracy: dict[str, float]     # "pixels", "rbm", "dbn" -> held-out accuracy of a linear classifier
    test_samples: int


@dataclass
class GibbsChain:
    start: str                     # "noise" or "digit #3"
    steps: list[int]               # after how many steps each image was taken (0 = the start)
    images: list[np.ndarray]       # the start, then p(v | h) at each step


def rbm_filters(count: int = 64) -> list[np.ndarray]:
    """The first RBM's weights into `count` hidden units, each as a 28×28 picture."""
    model, _, _ = dbn()
    W1 = model.rbms[0].W.detach()
    # show the most-used filters: largest weight norm first (dead units look like noise)
    order = W1.norm(dim=0).argsort(descending=True)[:count]
    return [W1[:, j].reshape(28, 28).numpy() for j in order]


def probe_accuracies() -> dict[str, float]:
    """Held-out accuracy of the three linear classifiers, recomputed now (not read from the card)."""
    model, heads, _ = dbn()
    x, y, _ = digits()
    with torch.no_grad():
        features = {"pixels": x, "rbm": model.features(x, 1), "dbn": model.features(x, 2)}
        return {key: (heads[key](features[key]).argmax(1) == y).float().mean().item() for key in heads}


def feature_probe() -> FeatureProbe:
    return FeatureProbe(rbm_filters(64), probe_accuracies(), len(digits()[1]))


def gibbs_chain(steps, start="noise", seed: int = 0, snapshots: int = 8) -> GibbsChain:
    """Run the first RBM's Gibbs chain v → h → v from noise or from a held-out digit (its number);
    keep `snapshots` visible probability images spread over the run."""
    steps = spec.GIBBS_STEPS.check(steps, "the number of Gibbs steps")
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
    images, done = [v[0].reshape(28, 28).numpy()], 0
    with torch.no_grad():
        for mark in marks[1:]:
            probs, v = rbm.gibbs(v, mark - done, generator)
            done = mark
            images.append(probs[0].reshape(28, 28).numpy())
    return GibbsChain(first, marks, images)


# ---------------------------------------------------------------------------------------------
# deep stacking network

@dataclass
class DsnReading:
    accuracies: list[float]              # held-out accuracy after each module
    index: int
    digit: np.ndarray                    # 28×28 uint8
    label: int
    per_module: list[dict[str, float]]   # each module's scores, softmax-normalised for display


def dsn_accuracies() -> list[float]:
    model, _ = dsn()
    x, y, _ = digits()
    with torch.no_grad():
        return [(out.argmax(1) == y).float().mean().item() for out in model.module_outputs(x)]


def dsn_on_digit(index) -> DsnReading:
    index = _index(index, what="digit")
    model, _ = dsn()
    x, y, gray = digits()
    with torch.no_grad():
        outputs = model.module_outputs(x[index: index + 1])
    # the modules output least-squares scores, not probabilities; softmax(5·score) is for display
    per_module = [{str(c): float(p) for c, p in enumerate(torch.softmax(5 * out[0], 0))} for out in outputs]
    return DsnReading(dsn_accuracies(), index, gray[index], int(y[index]), per_module)


# ---------------------------------------------------------------------------------------------
# self-organising maps: the shipped digit map, and one trained live

@dataclass
class ShippedSom:
    prototypes: np.ndarray         # every unit's prototype, tiled into one gray image
    unit_labels: np.ndarray        # (rows, cols): the majority digit of the training digits each unit wins
    accuracy: float                # held-out digits labelled by their best unit's label, recomputed now
    test_samples: int


@dataclass
class SomSnapshot:
    dataset: str
    size: int
    total_steps: int
    steps: list[int]               # after how many training steps each snapshot was taken (0 = random start)
    images: list[np.ndarray]       # the map at each snapshot (RGB for colours, tiled prototypes for digits)
    errors: list[float]            # quantization error at each snapshot
    time_capped: bool = False      # stopped at SOM_TIME_CAP_S before total_steps

    @property
    def fraction(self) -> float:
        return self.steps[-1] / self.total_steps


def shipped_som() -> ShippedSom:
    som, unit_labels, _ = som_digits()
    _, y, gray = digits()
    predicted = unit_labels[som.bmu(gray.reshape(-1, 784).astype(np.float32) / 255)]
    return ShippedSom(som.image(), unit_labels.reshape(som.rows, som.cols),
                      float((predicted == y.numpy()).mean()), len(y))


def som_data(dataset: str, seed: int = 0) -> np.ndarray:
    if dataset == "colours":
        return np.random.default_rng(seed).random((2000, 3)).astype(np.float32)
    if dataset == "digits":
        x_train = D.mnist_split()[0]
        return x_train.reshape(-1, 784).astype(np.float32) / 255
    raise BadInput(f"Choose {' or '.join(repr(d) for d in spec.SOM_DATASETS)} to train the map on.")


def train_som_live(dataset: str, size, steps, snapshots: int = 6, seed: int = 0):
    """Yield a SomSnapshot after each of `snapshots` chunks of training; stops at SOM_TIME_CAP_S."""
    size = spec.SOM_SIZE.check(size, "the map size (units per side)")
    steps = spec.SOM_STEPS.check(steps, "the number of training steps")
    data = som_data(dataset, seed)
    som = SOM(size, size, data.shape[1], seed=seed)
    run = SomSnapshot(dataset, size, steps, [0], [som.image()], [som.quantization_error(data[:500])])
    chunk = max(1, steps // snapshots)
    started = time.monotonic()
    for start in range(0, steps, chunk):
        stop = min(start + chunk, steps)
        som.train_steps(data, start, stop, steps)
        run.steps.append(stop)
        run.images.append(som.image())
        run.errors.append(som.quantization_error(data[:500]))
        run.time_capped = stop < steps and time.monotonic() - started > spec.SOM_TIME_CAP_S
        yield run
        if run.time_capped:
            return
