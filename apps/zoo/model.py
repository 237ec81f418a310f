"""The ten classic CNNs: LeNet-5 written here, the rest built from torchvision / timm definitions.

Nothing is downloaded: every builder passes weights=None / pretrained=False. Architectures are
built on the `meta` device for the layer table (shapes only, no memory, no random init) and on
the CPU only when a latency is measured.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn as nn


class LeNet5(nn.Module):
    """LeCun et al. 1998, as in the paper's figure 2 with two modern simplifications:
    C3 connects to all six S2 maps (the paper used a sparse table) and S2/S4 are plain
    average pools (the paper's had a trainable scale and bias). tanh as in the paper."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.Tanh(),      # C1: (B,1,32,32) -> (B,6,28,28)
            nn.AvgPool2d(2),                    # S2: -> (B,6,14,14)
            nn.Conv2d(6, 16, 5), nn.Tanh(),     # C3: -> (B,16,10,10)
            nn.AvgPool2d(2),                    # S4: -> (B,16,5,5)
            nn.Conv2d(16, 120, 5), nn.Tanh(),   # C5: -> (B,120,1,1)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(),                       # -> (B,120)
            nn.Linear(120, 84), nn.Tanh(),      # F6: -> (B,84)
            nn.Linear(84, num_classes),         # output: -> (B,10)
        )

    def forward(self, x):  # x: (B,1,32,32), MNIST digits padded from 28 to 32 as in the paper
        return self.classifier(self.features(x))


@dataclass(frozen=True)
class Architecture:
    name: str
    year: int
    paper: str
    key_idea: str
    input_size: int          # the resolution it was designed for (its layer table uses this)
    builder: Callable[[], nn.Module]
    source: str              # where the definition comes from
    in_channels: int = 3


def _torchvision(fn_name: str, **kwargs) -> Callable[[], nn.Module]:
    def build():
        import torchvision.models as tvm
        return getattr(tvm, fn_name)(weights=None, **kwargs)
    return build


def _timm(model_name: str) -> Callable[[], nn.Module]:
    def build():
        try:
            import timm
        except ImportError as e:  # optional dependency: say what to install
            raise ImportError(f"this architecture is defined in timm; install it with "
                              f"`pip install timm` ({e})") from e
        return timm.create_model(model_name, pretrained=False)
    return build


# Chronological. Auxiliary classifiers (GoogLeNet, Inception-v3) only exist during training,
# so they are left out: the tables describe the network that classifies an image.
ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in [
    Architecture("LeNet-5", 1998, "LeCun, Bottou, Bengio, Haffner: Gradient-based learning applied to document recognition",
                 "Convolution + subsampling, repeated, then fully connected layers: weight sharing and local "
                 "receptive fields make a digit recogniser small enough to train by back-propagation.",
                 32, LeNet5, "written here (apps/zoo/model.py)", in_channels=1),
    Architecture("AlexNet", 2012, "Krizhevsky, Sutskever, Hinton: ImageNet classification with deep CNNs",
                 "LeNet's recipe scaled up on GPUs with ReLU, dropout and data augmentation: the network that "
                 "won ImageNet 2012 and started the deep-learning era in vision.",
                 224, _torchvision("alexnet"), "torchvision.models.alexnet"),
    Architecture("VGG-16", 2014, "Simonyan, Zisserman: Very deep convolutional networks for large-scale image recognition",
                 "Only 3×3 convolutions, stacked deep (13 conv + 3 fully connected layers): two 3×3 layers see "
                 "what one 5×5 sees with fewer weights. Most of its parameters sit in the first fully connected layer (see the table).",
                 224, _torchvision("vgg16"), "torchvision.models.vgg16"),
    Architecture("Inception-v1 (GoogLeNet)", 2014, "Szegedy et al.: Going deeper with convolutions",
                 "Inception modules run 1×1, 3×3, 5×5 convolutions and pooling side by side and concatenate them; "
                 "1×1 'bottleneck' convolutions keep it cheap, and global average pooling replaces big FC layers.",
                 224, _torchvision("googlenet", aux_logits=False, init_weights=False), "torchvision.models.googlenet"),
    Architecture("Inception-v3", 2015, "Szegedy et al.: Rethinking the Inception architecture for computer vision",
                 "Factorised convolutions (a 5×5 becomes two 3×3; an n×n becomes 1×n then n×1), batch "
                 "normalisation and label smoothing, at 299×299 input.",
                 299, _torchvision("inception_v3", aux_logits=False, init_weights=False), "torchvision.models.inception_v3"),
    Architecture("ResNet-50", 2015, "He, Zhang, Ren, Sun: Deep residual learning for image recognition",
                 "Residual connections: each block learns a correction F(x) that is added to its input, "
                 "so gradients flow through identity paths and 50+ layers train. 1×1-3×3-1×1 bottleneck blocks.",
                 224, _torchvision("resnet50"), "torchvision.models.resnet50"),
    Architecture("Xception", 2016, "Chollet: Xception, deep learning with depthwise separable convolutions",
                 "Inception taken to the extreme: every convolution is depthwise-separable (a per-channel 3×3, "
                 "then a 1×1 across channels), with residual connections.",
                 299, _timm("legacy_xception"), "timm legacy_xception (Chollet's original)"),
    Architecture("Inception-v4", 2016, "Szegedy, Ioffe, Vanhoucke, Alemi: Inception-v4, Inception-ResNet and the impact of residual connections",
                 "A deeper, more uniform Inception with a redesigned stem and dedicated reduction blocks, "
                 "without residual connections.",
                 299, _timm("inception_v4"), "timm inception_v4"),
    Architecture("Inception-ResNet-v2", 2016, "Szegedy, Ioffe, Vanhoucke, Alemi: Inception-v4, Inception-ResNet and the impact of residual connections",
                 "Inception modules whose output is scaled and added to their input (residual connections): "
                 "same accuracy as Inception-v4, reached much faster in training.",
                 299, _timm("inception_resnet_v2"), "timm inception_resnet_v2"),
    Architecture("ResNeXt-50 (32×4d)", 2017, "Xie, Girshick, Dollár, Tu, He: Aggregated residual transformations for deep neural networks",
                 "ResNet's bottleneck with a grouped 3×3 convolution (32 groups of 4 channels): 'cardinality' "
                 "as a new dimension, more accuracy at the same parameters and multiply-adds as ResNet-50.",
                 224, _torchvision("resnext50_32x4d"), "torchvision.models.resnext50_32x4d"),
]}

# Short names the API also accepts (case-insensitive), so "resnet50" or "vgg16" work.
ALIASES = {
    "lenet": "LeNet-5", "lenet5": "LeNet-5", "alexnet": "AlexNet", "vgg16": "VGG-16", "vgg": "VGG-16",
    "googlenet": "Inception-v1 (GoogLeNet)", "inceptionv1": "Inception-v1 (GoogLeNet)",
    "inceptionv3": "Inception-v3", "resnet50": "ResNet-50", "xception": "Xception",
    "inceptionv4": "Inception-v4", "inceptionresnetv2": "Inception-ResNet-v2",
    "inceptionresnet": "Inception-ResNet-v2", "resnext50": "ResNeXt-50 (32×4d)",
    "resnext5032x4d": "ResNeXt-50 (32×4d)", "resnext": "ResNeXt-50 (32×4d)",
}


def build(name: str, device: str = "meta") -> nn.Module:
    """The named architecture in eval mode; on 'meta' it has shapes but no memory."""
    with torch.device(device):
        model = ARCHITECTURES[name].builder()
    return model.eval()
