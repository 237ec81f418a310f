"""The unsupervised family (and the deep stacking network), each small enough to train in minutes.

    ConvAutoencoder   Fashion-MNIST 28×28 -> latent (2-D for the map, 32-D for denoising) -> 28×28
    RBM               binary visible units <-> binary hidden units, trained by contrastive divergence
    DBN               RBMs stacked greedily: the hidden units of one are the data of the next
    DSNModule         one module of a deep stacking network: sigmoid hidden layer, linear output
                      solved in closed form; each module also sees the previous modules' outputs
    SOM               a grid of prototype vectors pulled toward the data, neighbours together
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ---------------------------------------------------------------------------------------------
# autoencoder

class ConvAutoencoder(nn.Module):
    def __init__(self, latent_dim: int = 2):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 3, stride=2, padding=1), nn.ReLU(),   # (B,1,28,28) -> (B,16,14,14)
            nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),  # -> (B,32,7,7)
            nn.Flatten(),                                           # -> (B,1568)
            nn.Linear(32 * 7 * 7, 64), nn.ReLU(),                   # -> (B,64)
            nn.Linear(64, latent_dim),                              # -> (B,latent)
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 64), nn.ReLU(),
            nn.Linear(64, 32 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),                            # -> (B,32,7,7)
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),  # -> (B,16,14,14)
            nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1),     # -> (B,1,28,28) logits
        )

    def encode(self, x):  # x: (B,1,28,28) in [0,1]
        return self.encoder(x)

    def decode(self, z):  # z: (B,latent) -> (B,1,28,28) in [0,1]
        return torch.sigmoid(self.decoder(z))

    def forward(self, x):
        return self.decode(self.encode(x))


# ---------------------------------------------------------------------------------------------
# restricted Boltzmann machine and deep belief network

class RBM(nn.Module):
    """Energy E(v,h) = -v·b - h·c - vᵀWh. Trained by persistent contrastive divergence through
    `free_energy`: the gradient of mean F(v_data) - mean F(v_model), with v_model taken from
    Gibbs chains that persist across updates (held fixed), is exactly PCD's update. Persistent
    chains wander through the model's distribution, so its Gibbs samples look like digits
    (plain CD-1 learns good features but samples collapse to a gray blur)."""

    def __init__(self, n_visible: int, n_hidden: int):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_visible, n_hidden) * 0.01)
        self.b_visible = nn.Parameter(torch.zeros(n_visible))
        self.b_hidden = nn.Parameter(torch.zeros(n_hidden))

    @torch.no_grad()
    def init_visible_bias(self, data):
        """b = log(p / (1 - p)) of each unit's mean: the start Hinton's practical guide recommends."""
        p = data.mean(0).clamp(0.01, 0.99)
        self.b_visible.copy_(torch.log(p / (1 - p)))

    def hidden_probs(self, v):   # (B,V) -> (B,H): p(h=1 | v)
        return torch.sigmoid(v @ self.W + self.b_hidden)

    def visible_probs(self, h):  # (B,H) -> (B,V): p(v=1 | h)
        return torch.sigmoid(h @ self.W.t() + self.b_visible)

    def gibbs(self, v, steps: int = 1, generator=None):
        """v -> h -> v, `steps` times, sampling binary units; returns the last visible probabilities
        and sample."""
        probs = v
        for _ in range(steps):
            h = torch.bernoulli(self.hidden_probs(v), generator=generator)
            probs = self.visible_probs(h)
            v = torch.bernoulli(probs, generator=generator)
        return probs, v

    def free_energy(self, v):    # (B,V) -> (B,)
        return -(v @ self.b_visible) - F.softplus(v @ self.W + self.b_hidden).sum(-1)

    def pcd_loss(self, v, chains, k: int = 1, generator=None):
        """(loss, advanced chains): advance the persistent `chains` k Gibbs steps, then compare."""
        with torch.no_grad():
            _, chains = self.gibbs(chains, k, generator)
        return self.free_energy(v).mean() - self.free_energy(chains).mean(), chains


class DBN(nn.Module):
    """A stack of RBMs trained greedily, bottom first; features are the top layer's p(h | v)."""

    def __init__(self, sizes: tuple[int, ...] = (784, 256, 128)):
        super().__init__()
        self.rbms = nn.ModuleList(RBM(a, b) for a, b in zip(sizes[:-1], sizes[1:]))

    def features(self, v, depth: int | None = None):
        for rbm in self.rbms[:depth]:
            v = rbm.hidden_probs(v)
        return v


# ---------------------------------------------------------------------------------------------
# deep stacking network

class DSNModule(nn.Module):
    """Input [x, outputs of all earlier modules] -> sigmoid hidden (H) -> linear output U (C).

    W (lower layer) is trained by gradient descent; U (upper layer) is then the closed-form ridge
    solution U = (HᵀH + λI)⁻¹ HᵀT, a convex problem: the defining trick of Deng & Yu's DSN."""

    def __init__(self, n_inputs: int, n_hidden: int, n_classes: int = 10):
        super().__init__()
        self.lower = nn.Linear(n_inputs, n_hidden)
        self.upper = nn.Linear(n_hidden, n_classes, bias=False)

    def hidden(self, x):
        return torch.sigmoid(self.lower(x))

    def forward(self, x):
        return self.upper(self.hidden(x))

    @torch.no_grad()
    def solve_upper(self, x, targets_onehot, ridge: float = 1.0) -> None:
        h = self.hidden(x)
        gram = h.t() @ h + ridge * torch.eye(h.shape[1])
        self.upper.weight.copy_(torch.linalg.solve(gram, h.t() @ targets_onehot).t())


class DSN(nn.Module):
    def __init__(self, n_inputs: int = 784, n_hidden: int = 200, n_modules: int = 4, n_classes: int = 10):
        super().__init__()
        self.stack = nn.ModuleList(
            DSNModule(n_inputs + i * n_classes, n_hidden, n_classes) for i in range(n_modules))

    def module_outputs(self, x) -> list[torch.Tensor]:
        """Every module's class scores: module i sees x and the outputs of modules 0..i-1."""
        outputs = []
        for module in self.stack:
            outputs.append(module(torch.cat([x, *outputs], dim=1)))
        return outputs

    def forward(self, x):
        return self.module_outputs(x)[-1]


# ---------------------------------------------------------------------------------------------
# self-organising map (numpy: a few thousand tiny updates, no autograd needed)

class SOM:
    """Kohonen map: rows×cols prototypes in data space. Each step picks a sample, finds its
    best-matching unit (BMU) and pulls the BMU and its grid neighbours toward the sample; the
    learning rate and the neighbourhood radius shrink over training."""

    def __init__(self, rows: int, cols: int, dim: int, seed: int = 0):
        self.rows, self.cols, self.dim = rows, cols, dim
        self.rng = np.random.default_rng(seed)
        self.weights = self.rng.random((rows * cols, dim)).astype(np.float32)
        grid_r, grid_c = np.divmod(np.arange(rows * cols), cols)
        self.grid = np.stack([grid_r, grid_c], 1).astype(np.float32)  # (units, 2) grid positions

    def bmu(self, x: np.ndarray) -> np.ndarray:
        """(N,dim) -> (N,) index of the nearest prototype."""
        distances = (x ** 2).sum(1, keepdims=True) - 2 * x @ self.weights.T + (self.weights ** 2).sum(1)
        return distances.argmin(1)

    def train_steps(self, data: np.ndarray, start: int, stop: int, total: int,
                    lr0: float = 0.5, radius0: float | None = None, batch: int = 16) -> None:
        """Steps start..stop of a `total`-step schedule (so training can pause for snapshots).
        Each step updates with a small batch of samples (mini-batch SOM: same idea, fewer Python steps)."""
        radius0 = radius0 or max(self.rows, self.cols) / 2
        for step in range(start, stop):
            frac = step / total
            # exponential decay: the map orders itself early (wide radius), then fine-tunes locally
            lr = lr0 * (0.01 / lr0) ** frac
            radius = radius0 * (0.5 / radius0) ** frac
            x = data[self.rng.integers(0, len(data), batch)]
            winners = self.bmu(x)
            grid_dist2 = ((self.grid[None, :, :] - self.grid[winners][:, None, :]) ** 2).sum(-1)
            influence = np.exp(-grid_dist2 / (2 * radius ** 2))          # (batch, units)
            # each unit moves toward the influence-weighted mean of the batch's samples; dividing by
            # max(total influence, 1) makes a unit that wins one sample move exactly as online SOM
            weight_sum = influence.sum(0)                                  # (units,)
            pull = influence.T @ x - weight_sum[:, None] * self.weights    # Σ_i h_ij (x_i - w_j)
            self.weights += lr * pull / np.maximum(weight_sum, 1.0)[:, None]

    def quantization_error(self, data: np.ndarray) -> float:
        return float(np.linalg.norm(data - self.weights[self.bmu(data)], axis=1).mean())

    def image(self, side: int | None = None) -> np.ndarray:
        """The map as one picture: colours -> (rows,cols,3); digits -> a mosaic of prototypes."""
        if self.dim == 3:
            return self.weights.reshape(self.rows, self.cols, 3).clip(0, 1)
        side = side or int(round(np.sqrt(self.dim)))
        tiles = self.weights.reshape(self.rows, self.cols, side, side)
        return tiles.transpose(0, 2, 1, 3).reshape(self.rows * side, self.cols * side).clip(0, 1)
