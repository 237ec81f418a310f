"""Torch-free facts about the Fashion-MNIST vision transformer (apps/cnn/vit.py), for tab.py and tests."""

from __future__ import annotations

from shared.checkpoints import WEIGHTS_DIR

IMAGE = 28                      # Fashion-MNIST images are 28x28 gray
PATCH = 4                       # pixels per patch side
GRID = IMAGE // PATCH           # 7 patches per side
N_PATCHES = GRID * GRID         # 49 tokens, plus one class token
MODEL_NAME = "fashion-vit"      # the name /classify_image serves it under
CHECKPOINT = WEIGHTS_DIR / "cnn" / "fashion_vit.safetensors"
DATA_EFFICIENCY = WEIGHTS_DIR / "cnn" / "data_efficiency.json"
MAX_PARAMS = 1_000_000
GOAL = 0.91                     # test accuracy asked of it (10,000 Fashion-MNIST test images)
