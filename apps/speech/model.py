"""Two keyword spotters over the same [B, 40 mels, 101 frames] log-mel input.

SpeechCNN: treats the spectrogram as an image; 3x3 convolutions find local time-frequency
patterns (formant transitions, bursts), pooling makes them shift-tolerant.
SpeechGRU: reads the spectrogram frame by frame, left to right and right to left; a short
1-D convolution first turns raw mel frames into features and halves the frame rate.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from apps.speech.spec import LABELS, N_MELS


class ConvBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, pool: bool = True):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
        self.norm = nn.BatchNorm2d(c_out)
        self.pool = pool

    def forward(self, x):
        x = F.relu(self.norm(self.conv(x)))
        return F.max_pool2d(x, 2) if self.pool else x


class SpeechCNN(nn.Module):
    def __init__(self, n_classes: int = len(LABELS), width: int = 16, dropout: float = 0.2):
        super().__init__()
        w = width
        self.blocks = nn.Sequential(
            ConvBlock(1, w),           # [B, w, 20, 50]
            ConvBlock(w, 2 * w),       # [B, 2w, 10, 25]
            ConvBlock(2 * w, 4 * w),   # [B, 4w, 5, 12]
            ConvBlock(4 * w, 6 * w, pool=False),  # [B, 6w, 5, 12]
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(6 * w, n_classes)

    def forward(self, spec):                  # spec: [B, 40, 101]
        x = self.blocks(spec.unsqueeze(1))    # [B, 6w, 5, 12]
        x = x.mean(dim=(2, 3))                # global average pool -> [B, 6w]
        return self.head(self.dropout(x))     # [B, 12] logits


class SpeechGRU(nn.Module):
    def __init__(self, n_classes: int = len(LABELS), channels: int = 64, hidden: int = 64,
                 layers: int = 2, dropout: float = 0.2):
        super().__init__()
        # Conv front end over time: 5 frames (50 ms) of context, stride 2 -> 51 steps per second.
        self.front = nn.Sequential(
            nn.Conv1d(N_MELS, channels, 5, stride=2, padding=2, bias=False),
            nn.BatchNorm1d(channels), nn.ReLU())
        self.gru = nn.GRU(channels, hidden, num_layers=layers, batch_first=True,
                          bidirectional=True, dropout=dropout if layers > 1 else 0.0)
        self.attention = nn.Linear(2 * hidden, 1)  # where in time the word is
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(2 * hidden, n_classes)

    def forward(self, spec, return_attention: bool = False):  # spec: [B, 40, 101]
        x = self.front(spec).transpose(1, 2)   # [B, 51, channels]
        states, _ = self.gru(x)                # [B, 51, 2*hidden]
        weights = torch.softmax(self.attention(states).squeeze(-1), dim=1)  # [B, 51]
        pooled = (weights.unsqueeze(-1) * states).sum(1)                    # [B, 2*hidden]
        logits = self.head(self.dropout(pooled))                            # [B, 12]
        return (logits, weights) if return_attention else logits


MODELS = {"cnn": SpeechCNN, "gru": SpeechGRU}


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
