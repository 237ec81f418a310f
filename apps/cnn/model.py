"""The small CNNs trained here (Fashion-MNIST, handwritten digits), built bottom-up.

    image (B, 1, 28, 28)   (any H, W divisible by 4 works: the live 'from scratch' model uses 3x64x64)
      stage 1  conv 3x3 -> BN -> ReLU              (B, w1, 28, 28), then max-pool -> 14x14
      stage 2  2 x [conv 3x3 -> BN -> ReLU]        (B, w2, 14, 14), then max-pool -> 7x7
      stage 3  2 x [conv 3x3 -> BN -> ReLU]        (B, w3, 7, 7)
      head     global average pool (or flatten) -> dropout -> linear   (B, n_classes)

Why this shape: most of the compute sits at 14x14 and 7x7, where a 3x3 filter already sees a
large part of a 28x28 image; the single full-resolution conv keeps the per-epoch cost low
enough to train on a shared 2-core CPU. BatchNorm lets a high one-cycle learning rate work.
"""

from __future__ import annotations

import torch
import torch.nn as nn


class ConvBN(nn.Sequential):
    """conv 3x3 (no bias: BN has one) -> BatchNorm -> ReLU; keeps H and W."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
        )


class SmallCNN(nn.Module):
    def __init__(self, widths: tuple[int, int, int] = (32, 64, 128), n_classes: int = 10,
                 dropout: float = 0.2, in_channels: int = 1, flatten_head: bool = False):
        super().__init__()
        self.widths = tuple(widths)
        w1, w2, w3 = widths
        self.stages = nn.ModuleList([
            ConvBN(in_channels, w1),                         # (B, w1, 28, 28)
            nn.Sequential(ConvBN(w1, w2), ConvBN(w2, w2)),   # (B, w2, 14, 14)
            nn.Sequential(ConvBN(w2, w3), ConvBN(w3, w3)),   # (B, w3, 7, 7)
        ])
        self.pool = nn.MaxPool2d(2)
        self.dropout = nn.Dropout(dropout)
        # flatten_head: the linear layer sees all 7x7 positions (where a sleeve or a strap is),
        # not just their average; costs ~w3*49*10 weights but almost no compute.
        self.flatten_head = flatten_head
        self.classifier = nn.Linear(w3 * 49 if flatten_head else w3, n_classes)

    @property
    def first_conv(self) -> nn.Conv2d:
        return self.stages[0][0]

    @property
    def last_conv_stage(self) -> nn.Module:
        """Where Grad-CAM looks: the last 7x7 feature maps, before pooling throws 'where' away."""
        return self.stages[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28) -> (B, n_classes) logits
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i < len(self.stages) - 1:
                x = self.pool(x)
        if self.flatten_head:
            x = x.flatten(1)                                 # (B, w3 * 7 * 7)
        else:
            x = x.mean(dim=(2, 3))                           # global average pool: (B, w3)
        return self.classifier(self.dropout(x))
