"""How the zoo tab shows what apps/zoo/infer.py computes: tables in human units, the summary,
the block and comparison figures, the latency table and LeNet-5's view of a digit."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import ScalarFormatter

from apps.zoo import infer
from apps.zoo.spec import ARCHITECTURE_NAMES, X_AXES
from shared.plots import encoded, enlarge, image_grid, new_figure

BLUE, ORANGE = "#2563eb", "#d97706"


def human_count(n: float, unit: str = "") -> str:
    """A count in human units: 1849688064 -> '1.85 G', 25557032 -> '25.6 M', 850 -> '850'."""
    n = float(n)
    for factor, prefix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            text = f"{n / factor:.3g} {prefix}"
            break
    else:
        text = f"{n:.0f}"
    return f"{text} {unit}".strip() if unit else text


def layer_table(d: infer.Description) -> pd.DataFrame:
    """One row per layer the image passes through; parameters and multiply-adds in human units."""
    return pd.DataFrame({"#": d.layers["#"], "layer": d.layers["layer"], "type": d.layers["type"],
                         "output shape": d.layers["output shape"],
                         "parameters": [human_count(v) for v in d.layers["params"]],
                         "multiply-adds": [human_count(v) for v in d.layers["MACs"]]})


def block_table(d: infer.Description) -> pd.DataFrame:
    """The layers summed per block, with each block's share of the whole."""
    return pd.DataFrame({"block": d.blocks["block"], "layers": d.blocks["layers"],
                         "parameters": [human_count(v) for v in d.blocks["params"]],
                         "share of parameters": [_share(v, d.params) for v in d.blocks["params"]],
                         "multiply-adds": [human_count(v) for v in d.blocks["MACs"]],
                         "share of multiply-adds": [_share(v, d.macs) for v in d.blocks["MACs"]],
                         "output shape": d.blocks["output shape"]})


def _share(part: float, whole: float) -> str:
    if not whole:
        return "—"
    percent = 100 * part / whole
    return "< 0.1 %" if 0 < percent < 0.05 else f"{percent:.1f} %"


def summary_markdown(d: infer.Description, latency_ms: float | None = None) -> str:
    heaviest = d.blocks.loc[d.blocks["params"].idxmax()]
    busiest = d.blocks.loc[d.blocks["MACs"].idxmax()]
    lines = [
        f"### {d.name} ({d.year})",
        d.key_idea,
        "",
        f"*{d.paper}*. Built from {d.source}, weights not loaded (architecture only).",
        "",
        "| | |", "|---|---|",
        f"| Parameters | **{human_count(d.params)}** ({d.params:,}) |",
        f"| Multiply-adds, one {d.input_size}×{d.input_size} image | **{human_count(d.macs, 'MACs')}** |",
        f"| Depth: convolution + linear layers run (a depthwise-separable conv counts 2) | {d.weight_layers} |",
        f"| Layers the image passes through (table rows) | {len(d.layers)} |",
        f"| Float32 weights in memory | {d.params * 4 / 1e6:.0f} MB |",
    ]
    if d.top1 is not None:
        lines.append(f"| Published ImageNet top-1 | {d.top1:.1f} % ({d.top1_source}) |")
    else:
        lines.append("| Published ImageNet top-1 | — (a 1998 digit recogniser: see its MNIST accuracy in the LeNet-5 view) |")
    if latency_ms is not None:
        lines.append(f"| CPU latency, one image, measured here | {latency_ms:.1f} ms |")
    lines += ["", f"Block **{heaviest['block']}** holds {_share(heaviest['params'], d.params)} of the parameters; "
                  f"block **{busiest['block']}** does {_share(busiest['MACs'], d.macs)} of the multiply-adds."]
    return "\n".join(lines)


def blocks_figure(d: infer.Description) -> Figure:
    """The block totals as two bar charts along depth: each block's share of parameters and of work."""
    blocks = d.blocks
    fig = Figure(figsize=(8, 4.6), layout="constrained")
    ax_params, ax_macs = fig.subplots(2, 1, sharex=True)
    xs = np.arange(len(blocks))
    ax_params.bar(xs, 100 * blocks["params"] / max(d.params, 1), color=BLUE)
    ax_params.set_ylabel("% of parameters", fontsize=10)
    ax_macs.bar(xs, 100 * blocks["MACs"] / max(d.macs, 1), color=ORANGE)
    ax_macs.set_ylabel("% of multiply-adds", fontsize=10)
    labels = [f"{b} → {s}" for b, s in zip(blocks["block"], blocks["output shape"])]
    step = max(1, -(-len(labels) // 30))  # at most 30 labels: legible for 100-block networks
    ax_macs.set_xticks(xs[::step], labels[::step], rotation=70, ha="right", fontsize=9)
    fig.suptitle(f"{d.name}: blocks in order (output shape), where the parameters and the work are", fontsize=11)
    for ax in (ax_params, ax_macs):
        ax.set_ylim(bottom=0)  # shares: from zero
        ax.grid(axis="y", alpha=0.3)
        ax.tick_params(axis="y", labelsize=9)
    return fig


@functools.lru_cache(maxsize=len(ARCHITECTURE_NAMES))
def block_plot(name: str):
    """The block figure of one architecture (by its catalogue name), drawn and encoded once:
    drawing takes about half a second and there are only ten."""
    return encoded(blocks_figure(infer.describe(name)))


def comparison_table(descriptions: list[infer.Description]) -> pd.DataFrame:
    return pd.DataFrame([{"architecture": d.name, "year": d.year, "input": f"{d.input_size}×{d.input_size}",
                          "parameters": human_count(d.params), "multiply-adds": human_count(d.macs),
                          "ImageNet top-1 (%)": f"{d.top1:.1f}" if d.top1 is not None else "—",
                          "source": d.top1_source} for d in descriptions])


def x_column(x_axis) -> str:
    """'parameters' or 'multiply-adds' (anything that does not start with 'param' means multiply-adds)."""
    return X_AXES[1] if str(x_axis).startswith("param") else X_AXES[0]


def comparison_figure(descriptions: list[infer.Description], x_axis: str = X_AXES[0]) -> Figure:
    by_params = x_column(x_axis) == "parameters"
    shown = [d for d in descriptions if d.top1 is not None]
    xs = np.array([d.params / 1e6 if by_params else d.macs / 1e9 for d in shown])
    ys = np.array([d.top1 for d in shown])
    fig, ax = new_figure(7.5, 4.8)
    ax.scatter(xs, ys, s=30 + 8 * np.array([d.params / 1e6 for d in shown]), c=BLUE, alpha=0.6,
               edgecolors="black")
    ax.set_xscale("log")
    ax.set_xlim(xs.min() * 0.7, xs.max() * 3.0)  # room for the labels on the right
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.set_xlabel("parameters, millions (log scale, computed here)" if by_params
                  else "multiply-adds per image at its input size, billions (log scale, computed here)", fontsize=10)
    ax.set_ylabel("published ImageNet top-1 (%)", fontsize=10)
    ax.set_title("Nine ImageNet CNNs: cost against published accuracy\n(marker area grows with parameters)",
                 fontsize=11)
    ax.tick_params(labelsize=9)
    ax.grid(alpha=0.3)
    _place_labels(fig, ax, [f"{d.name} ({d.year})" for d in shown], xs, ys)
    return fig


@functools.lru_cache(maxsize=len(X_AXES))
def comparison_plot(x_axis: str):
    """The comparison figure for one x axis, drawn and encoded once."""
    return encoded(comparison_figure(infer.comparison(), x_axis))


def _place_labels(fig: Figure, ax, labels: list[str], xs, ys) -> None:
    """Each point's label beside it, at the first of a few offsets where it overlaps no label placed
    before it and no other point (neighbours such as ResNet-50 and ResNeXt-50 sit close together)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.get_layout_engine().execute(fig)  # the axes' final place, so that pixel boxes are right
    points = ax.transData.transform(np.column_stack([xs, ys]))
    offsets = [(7, 4, "left"), (7, -13, "left"), (-7, 4, "right"), (-7, -13, "right"), (7, 15, "left"),
               (-7, 15, "right"), (7, -24, "left"), (-7, -24, "right")]
    placed = []
    for i in np.argsort(-np.asarray(ys)):
        for dx, dy, ha in offsets:
            text = ax.annotate(labels[i], (xs[i], ys[i]), textcoords="offset points", xytext=(dx, dy),
                               fontsize=9, ha=ha)
            text.set_in_layout(False)  # inside the axes: it must not move them
            box = text.get_window_extent(renderer).expanded(1.05, 1.1)
            others = [p for j, p in enumerate(points) if j != i]
            if not any(box.overlaps(b) for b in placed) and not any(box.contains(*p) for p in others):
                break
            text.remove()
        else:
            text = ax.annotate(labels[i], (xs[i], ys[i]), textcoords="offset points", xytext=(7, 4), fontsize=9)
            text.set_in_layout(False)
            box = text.get_window_extent(renderer)
        placed.append(box)


def latency_markdown(latencies: infer.Latencies) -> str:
    lines = ["| architecture | CPU latency, one image (median of up to 3 runs) |", "|---|---|"]
    lines += [f"| {name} | {ms:.1f} ms |" for name, ms in latencies.ms.items()]
    return "\n".join(lines) + (f"\n\nMeasured on this machine: one {latencies.input_size}×{latencies.input_size} "
                               "colour image at a time (LeNet-5: its own 32×32 gray digit), random weights "
                               "(speed does not depend on their values).")


def digit_views(reading: infer.DigitReading) -> tuple[dict[str, float], np.ndarray, Figure]:
    """(LeNet-5's probabilities, the digit it saw enlarged with sharp pixels, its feature maps)."""
    maps = reading.c1_maps + reading.c3_maps
    labels = ([f"C1 map {i + 1}" for i in range(len(reading.c1_maps))]
              + [f"C3 map {i + 1}" for i in range(len(reading.c3_maps))])
    grid = image_grid(maps, columns=11, labels=labels, cell=0.9,
                      title=f"Feature maps: C1 ({len(reading.c1_maps)} of 28×28), C3 ({len(reading.c3_maps)} of 10×10)")
    for ax in grid.axes:
        ax.title.set_fontsize(8)
    return reading.probabilities, enlarge(reading.digit, 6), grid
