"""How the unsupervised tab shows what apps/unsupervised/infer.py computes: the latent map, image
grids, the feature-probe bars, the SOM's snapshots and error curve, the DSN's per-module accuracy,
and the sentences that say what their numbers mean."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.figure import Figure

from apps.unsupervised import infer, spec
from shared.plots import enlarge, figure_to_array, image_grid, line_plot, new_figure

CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
ENLARGE = 6  # 28×28 images shown at 168×168 with sharp pixels


def _caption(fig: Figure, text: str, width: int = 80) -> None:
    """A sentence under a figure's axes (constrained layout keeps room for it)."""
    fig.supxlabel(textwrap.fill(text, width), fontsize=9, ha="center")


def _grid(tiles, names, columns: int, title: str, cell: float = 1.0) -> Figure:
    fig = image_grid(tiles, columns=columns, labels=names, title=title, cell=cell)
    for ax in fig.axes:
        ax.title.set_fontsize(8)
    return fig


# ----- autoencoder -----------------------------------------------------------------------------

def latent_scatter_image(latent: infer.LatentMap) -> np.ndarray:
    """The held-out images' 2-D codes coloured by class, as an RGB array of spec.SCATTER_PX with
    the axes at spec.SCATTER_AXES (infer.click_to_latent maps a click back through them)."""
    x0, x1, y0, y1 = latent.limits
    fig = Figure(figsize=(spec.SCATTER_PX[0] / 100, spec.SCATTER_PX[1] / 100), dpi=100)
    ax = fig.add_axes(spec.SCATTER_AXES)
    for c, name in enumerate(spec.FASHION_CLASSES):
        points = latent.codes[latent.classes == c]
        ax.scatter(points[:, 0], points[:, 1], s=7, alpha=0.7, label=name, color=CLASS_COLORS[c])
    if latent.marker is not None:
        ax.scatter([latent.marker[0]], [latent.marker[1]], s=180, marker="X", color="black",
                   edgecolors="white", zorder=5)
    ax.set(xlim=(x0, x1), ylim=(y0, y1))
    # Large type: the browser shows this picture shrunk to its column (phones, projectors).
    ax.set_xlabel("latent z₁", fontsize=13)
    ax.set_ylabel("latent z₂", fontsize=13)
    ax.set_title(f"2-D codes of {len(latent.codes):,} held-out images", fontsize=13)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=13, markerscale=2.5, handletextpad=0.2,
              borderaxespad=0.2)
    ax.tick_params(labelsize=12)
    ax.grid(alpha=0.2)
    return figure_to_array(fig)


def decoded_views(point: infer.DecodedPoint) -> tuple[np.ndarray, dict[str, float]]:
    return enlarge(point.image, ENLARGE), point.nearest


def reconstructions_figure(r: infer.Reconstructions) -> Figure:
    names = [f"#{i} {c}" for i, c in zip(r.indices, r.classes)] + ["2-D code"] * 8 + ["32-D code"] * 8
    return _grid(r.originals + r.through_2 + r.through_32, names, 8,
                 "Top: held-out images · middle: through a 2-number code · "
                 "bottom: through a 32-number code (denoising autoencoder)")


def interpolation_figure(i: infer.Interpolation) -> Figure:
    names = [f"latent t={v:.2f}" for v in i.t] + [f"pixels t={v:.2f}" for v in i.t]
    names[0] += f"\n{i.class_a}"
    names[len(i.t) - 1] += f"\n{i.class_b}"
    return _grid(i.decoded + i.blended, names, len(i.t),
                 "Top: walking the latent line (decoded) · bottom: blending pixels")


def denoise_sentence(d: infer.Denoised) -> str:
    if d.noisy_mse == 0:
        return "With no noise there is nothing to remove: the autoencoder only redraws the image."
    ratio = d.noisy_mse / d.denoised_mse if d.denoised_mse > 0 else float("inf")
    verdict = (f"{ratio:.1f}× closer to the original than the corrupted input" if ratio >= 1
               else f"further from the original than the corrupted input ({1 / ratio:.1f}×): at this little noise "
                    "its blur costs more than the noise it removes")
    return (f"Mean squared pixel error against the original (0 = identical, pixels from 0 to 1): "
            f"corrupted input **{d.noisy_mse:.4f}**, denoised **{d.denoised_mse:.4f}**, {verdict}.")


def denoise_views(d: infer.Denoised) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    return (enlarge(d.noisy, ENLARGE), enlarge(d.cleaned, ENLARGE), enlarge(d.clean, ENLARGE),
            denoise_sentence(d))


# ----- RBM / DBN -------------------------------------------------------------------------------

PROBE_NAMES = {"pixels": "raw pixels (784)", "rbm": "RBM-1 features (256)", "dbn": "DBN top layer (128)"}


def tiled(images, columns: int, gap: int = 2) -> np.ndarray:
    """Equal-sized images, each min-max scaled on its own, in one array with white gaps: one
    picture instead of a grid of axes (64 axes take seconds to lay out and draw)."""
    h, w = images[0].shape
    rows = -(-len(images) // columns)
    out = np.ones((rows * (h + gap) - gap, columns * (w + gap) - gap))
    for i, image in enumerate(images):
        span = image.max() - image.min()
        r, c = divmod(i, columns)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = (
            (image - image.min()) / span if span > 0 else 0.0)
    return out


def filters_figure(probe: infer.FeatureProbe) -> Figure:
    fig, ax = new_figure(5.6, 2.6)
    ax.imshow(tiled(probe.filters, 16), cmap="gray", interpolation="nearest")
    ax.axis("off")
    ax.set_title(f"RBM-1 filters: weights from 784 pixels into its {len(probe.filters)} most-used hidden units",
                 fontsize=11)
    return fig


def probe_sentence(probe: infer.FeatureProbe) -> str:
    acc = probe.accuracy
    best = max(acc, key=acc.get)
    text = (f"On {probe.test_samples:,} held-out digits a linear classifier is right {acc['pixels']:.1%} of the "
            f"time on raw pixels, {acc['rbm']:.1%} on RBM-1's features, {acc['dbn']:.1%} on the DBN's top layer")
    if best == "pixels":
        return text + ": the learned features do not beat the pixels here."
    best_name = {"rbm": "RBM-1's features", "dbn": "the DBN's top layer"}[best]
    return text + f": the best, {best_name}, is {100 * (acc[best] - acc['pixels']):.1f} points above the pixels."


def probe_figure(probe: infer.FeatureProbe) -> Figure:
    fig, ax = new_figure(5.6, 3.4)
    bars = ax.barh([PROBE_NAMES[k] for k in probe.accuracy], [100 * v for v in probe.accuracy.values()],
                   color="#2563eb")
    ax.bar_label(bars, fmt="%.1f %%", fontsize=10)
    ax.set_xlim(0, 100)  # a share: from zero, so a few points look like a few points
    ax.set_xlabel("held-out accuracy of a linear classifier (%)", fontsize=10)
    ax.set_title(f"Same linear classifier, different inputs ({probe.test_samples:,} held-out digits)", fontsize=11)
    ax.tick_params(labelsize=10)
    _caption(fig, probe_sentence(probe), width=70)
    return fig


def gibbs_figure(chain: infer.GibbsChain) -> Figure:
    names = [chain.start] + [f"step {s}" for s in chain.steps[1:]]
    return _grid(chain.images, names, len(chain.images), "Gibbs sampling: v → h → v, shown as p(v | h)", cell=1.2)


# ----- SOM -------------------------------------------------------------------------------------

def _at(step: int) -> str:
    return "at the start" if step == 0 else f"at step {step:,}"


def som_error_sentence(errors, steps) -> str:
    """One sentence on a SOM run's quantization error, from its numbers; empty when it only falls.

    The error of a random map can be low (random prototypes spread through the data); while the
    neighbourhood is wide every sample drags whole regions of the map toward it, so the error rises
    before it falls. errors[i] was measured after steps[i] training steps (0 = the random start).
    """
    errors, steps = [float(e) for e in errors], [int(s) for s in steps]
    if len(errors) < 3:
        return ""
    low = next((i for i in range(len(errors) - 1) if errors[i + 1] > errors[i]), len(errors) - 1)
    if low == len(errors) - 1:
        return ""
    peak = max(range(low, len(errors)), key=errors.__getitem__)
    last = len(errors) - 1
    text = (f"The error went from {errors[low]:.3g} {_at(steps[low])} up to {errors[peak]:.3g} "
            f"{_at(steps[peak])}")
    if peak < last:
        text += f" and back down to {errors[last]:.3g} {_at(steps[last])}"
    where = "still above" if errors[last] > errors[low] else "below"
    text += (f", {where} its first low: the error rises while the neighbourhood is still wide and pulls units "
             "together; it falls once the neighbourhood shrinks.")
    return text


def som_views(run: infer.SomSnapshot) -> tuple[Figure, Figure]:
    """(the map at each snapshot, its quantization error over training with a sentence when it rose)."""
    titles = ["start (random)"] + [f"step {s:,}" for s in run.steps[1:]]
    if run.time_capped:
        titles[-1] += " (time cap)"
    evolution = _grid(run.images, titles, len(run.images), f"The map during training ({run.dataset})",
                      cell=1.3 if run.dataset == "colours" else 1.5)
    note = som_error_sentence(run.errors, run.steps)
    curve = line_plot({"quantization error": run.errors}, x=run.steps,
                      title="Mean distance from a sample to its best unit", x_title="training step",
                      y_title="error", width=5.5, height=3.6 if note else 2.8)
    curve.axes[0].set_ylim(bottom=0)
    if note:
        _caption(curve, note, width=70)
    return evolution, curve


def shipped_som_figures(som: infer.ShippedSom) -> tuple[Figure, Figure]:
    rows, cols = som.unit_labels.shape
    mosaic = _grid([som.prototypes], None, 1, f"{rows}×{cols} SOM trained on digits: each tile is a unit's prototype",
                   cell=5.2)
    fig, ax = new_figure(5.2, 5.4)
    ax.imshow(som.unit_labels, cmap="tab10", vmin=-0.5, vmax=9.5, interpolation="nearest")
    for (r, c), label in np.ndenumerate(som.unit_labels):
        ax.text(c, r, "–" if label < 0 else str(label), ha="center", va="center", fontsize=11, color="white",
                fontweight="bold")
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("The digit each unit wins most often", fontsize=11)
    _caption(fig, f"Labelling each of {som.test_samples:,} held-out digits with its best unit's digit is right "
                  f"{som.accuracy:.1%} of the time (chance: 10 %).", width=55)
    return mosaic, fig


# ----- DSN -------------------------------------------------------------------------------------

def dsn_sentence(accuracies) -> str:
    """What the per-module accuracies say, with their real range (a zoomed axis would exaggerate it)."""
    acc = [float(a) for a in accuracies]
    if not acc:
        return ""
    first, last = acc[0], acc[-1]
    best = max(range(len(acc)), key=acc.__getitem__)
    change = (last - first) * 100
    text = f"Held-out accuracy goes from {first:.1%} after module 1 to {last:.1%} after module {len(acc)}"
    if acc[best] > last and best != 0:
        text += f" (best {acc[best]:.1%} after module {best + 1})"
    if abs(change) < 0.05:
        return text + ": the extra modules change nothing on these digits."
    verb = "add" if change > 0 else "cost"
    text += f": the {len(acc) - 1} extra modules {verb} {abs(change):.1f} points"
    if abs(change) < 2:
        text += ", a small change: on an axis from 0 to 100 % the line looks almost flat"
    return text + "."


def dsn_views(reading: infer.DsnReading) -> tuple[Figure, np.ndarray, str]:
    from matplotlib.ticker import MaxNLocator, PercentFormatter

    acc = reading.accuracies
    curve = line_plot({"held-out accuracy": acc}, x=range(1, len(acc) + 1),
                      title="Accuracy after each module (held-out digits)", x_title="module",
                      y_title="accuracy", width=5, height=3)
    ax = curve.axes[0]
    ax.set_ylim(0, 1)  # a share: from zero, so a half-point gain looks like one
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    rows = "\n".join(f"| {i + 1} | {max(p, key=p.get)} | {p[max(p, key=p.get)]:.2f} |"
                     for i, p in enumerate(reading.per_module))
    text = (f"{dsn_sentence(acc)}\n\nTrue digit: **{reading.label}**\n\n"
            f"| module | predicts | confidence (softmax of scores) |\n|---|---|---|\n{rows}")
    return curve, enlarge(reading.digit, ENLARGE), text
