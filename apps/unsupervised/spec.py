"""The unsupervised tab's facts, written once (torch-free): checkpoints, the held-out data's size,
every number a visitor can set. Imported by tab.py, infer.py, data.py, train.py and the tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from apps.zoo.spec import N_HELD_OUT as DIGITS_HELD_OUT
from shared.checkpoints import WEIGHTS_DIR
from shared.spec import Limit

W = WEIGHTS_DIR / "unsupervised"
AE_PATH, DAE_PATH = W / "autoencoder_2d.safetensors", W / "denoising_ae.safetensors"
RBM_PATH, DSN_PATH, SOM_PATH = W / "rbm_dbn.safetensors", W / "dsn.safetensors", W / "som_digits.safetensors"
CHECKPOINTS = (AE_PATH, DAE_PATH, RBM_PATH, DSN_PATH, SOM_PATH)

# 1,000 held-out Fashion-MNIST test images the app serves (never trained on; written by train.py).
FASHION_SAMPLE = Path(__file__).parent / "assets" / "fashion_sample.npz"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]


def _fashion_sample_size() -> int:
    with np.load(FASHION_SAMPLE) as sample:
        return len(sample["labels"])


# Every image and digit number refers to both held-out sets (Fashion-MNIST images, MNIST digits).
SAMPLE_SIZE = min(_fashion_sample_size(), DIGITS_HELD_OUT)
IMAGE_INDEX = Limit("held-out image", 0, SAMPLE_SIZE - 1, default=0)

LATENT = Limit("latent coordinate", -1e4, 1e4, default=0.0, step=0.1, integer=False)
NOISE_STD = Limit("noise (std)", 0.0, 1.0, default=0.35, step=0.05, integer=False)
GIBBS_STEPS = Limit("Gibbs steps", 1, 1000, default=200)
GIBBS_STARTS = ["random noise", "a held-out digit"]
SOM_DATASETS = ["colours", "digits"]
SOM_SIZE = Limit("map size (units per side)", 4, 20, default=12)
SOM_STEPS = Limit("training steps (16 samples each)", 50, 5000, default=1500, step=50)
SOM_TIME_CAP_S = 45.0
SHIPPED_SOM_SIDE = 12

# The default inputs of each view (what it shows on arrival).
RECONSTRUCT_START = 0
INTERPOLATE_FROM, INTERPOLATE_TO = 1, 2
DENOISE_INDEX = 3

# The latent map is drawn with fixed axes, so that a click's pixel maps back to latent coordinates.
SCATTER_PX = (640, 560)
SCATTER_AXES = (0.135, 0.10, 0.585, 0.84)  # left, bottom, width, height as figure fractions
