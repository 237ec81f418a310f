"""Matplotlib helpers that return Figures for gr.Plot.

Figures are built with matplotlib.figure.Figure, not pyplot, so a long-running server keeps
no global list of open figures (pyplot would leak one per request).
"""

from __future__ import annotations

from typing import Sequence

import matplotlib

matplotlib.use("Agg")  # no display on servers and Spaces
import numpy as np
from matplotlib.figure import Figure


def new_figure(width: float = 6.0, height: float = 3.5) -> tuple[Figure, "matplotlib.axes.Axes"]:
    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot(1, 1, 1)


def heatmap(matrix, *, x_labels: Sequence[str] | None = None, y_labels: Sequence[str] | None = None,
            title: str = "", x_title: str = "", y_title: str = "", cmap: str = "viridis",
            vmin: float | None = None, vmax: float | None = None, colorbar: bool = True,
            width: float = 6.0, height: float = 4.0) -> Figure:
    """A labelled heat map (attention, gates over time, spectrograms)."""
    matrix = np.asarray(matrix, dtype=float)
    fig, ax = new_figure(width, height)
    image = ax.imshow(matrix, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                      interpolation="nearest", origin="upper")
    if x_labels is not None:
        ax.set_xticks(range(len(x_labels)), list(x_labels), rotation=60, ha="right", fontsize=8)
    if y_labels is not None:
        ax.set_yticks(range(len(y_labels)), list(y_labels), fontsize=8)
    ax.set(title=title, xlabel=x_title, ylabel=y_title)
    if colorbar:
        fig.colorbar(image, ax=ax, shrink=0.85)
    return fig


def line_plot(series: dict[str, Sequence[float]], *, x: Sequence[float] | None = None,
              title: str = "", x_title: str = "", y_title: str = "", log_y: bool = False,
              width: float = 6.0, height: float = 3.5) -> Figure:
    """Several named lines on one axis (loss curves, accuracy against L, gradient norms)."""
    fig, ax = new_figure(width, height)
    for name, ys in series.items():
        xs = x if x is not None else range(len(ys))
        ax.plot(list(xs)[: len(ys)], list(ys), label=name, marker="." if len(ys) < 30 else None)
    if log_y:
        ax.set_yscale("log")
    ax.set(title=title, xlabel=x_title, ylabel=y_title)
    ax.grid(alpha=0.3)
    if len(series) > 1:
        ax.legend(fontsize=8)
    return fig


def image_grid(images, *, columns: int = 8, title: str = "", cmap: str = "gray",
               labels: Sequence[str] | None = None, cell: float = 0.9) -> Figure:
    """Small images (feature maps, filters) in a grid; each is min-max scaled on its own."""
    images = [np.asarray(im, dtype=float) for im in images]
    n = max(len(images), 1)
    columns = min(columns, n)
    rows = int(np.ceil(n / columns))
    fig = Figure(figsize=(cell * columns, cell * rows + (0.4 if title else 0)), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            im = images[i]
            span = im.max() - im.min()
            ax.imshow((im - im.min()) / span if span > 0 else np.zeros_like(im),
                      cmap=None if im.ndim == 3 else cmap, interpolation="nearest")
            if labels is not None:
                ax.set_title(labels[i], fontsize=7)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def figure_to_array(fig: Figure) -> np.ndarray:
    """Render a Figure to an RGB uint8 array (for gr.Image outputs and for tests)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def encoded(fig: Figure):
    """What gr.Plot sends for `fig`, drawn once: cache this (not the Figure) for a figure many
    requests share. Drawing a many-panel figure takes far longer than computing it, matplotlib
    Figures must not be drawn by two threads at once, and gr.Plot passes encoded data through."""
    import gradio as gr

    global _PLOT_ENCODER
    if _PLOT_ENCODER is None:
        _PLOT_ENCODER = gr.Plot(render=False)
    return _PLOT_ENCODER.postprocess(fig)


_PLOT_ENCODER = None


def enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    """A small image (28×28 digits, 7×7 maps) repeated `factor` times per pixel, so browsers show
    sharp pixels instead of blurring it when they scale it up."""
    image = np.asarray(image)
    return image.repeat(factor, axis=0).repeat(factor, axis=1)
