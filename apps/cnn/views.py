"""Pictures and text for the CNN tab, drawn from infer.py's dataclasses (no Gradio, no torch).

    explain_outputs(explanation)   -> the model's view, Grad-CAM overlay, stage grids, filters, text
    teach_summary(report)          -> the held-out table and what it says, in words
    comparison_figure(report)      -> held-out accuracy of both approaches, chance marked
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from apps.cnn import spec
from shared import plots

VIEW_SIDE = 224  # the model's input and the Grad-CAM overlay are shown at this size

VIEW_TEXT = {
    "fashion": "The clothes model was trained on 28×28 grayscale product photos, light on black. "
               "Your photo is turned gray, inverted if its background is light, cropped to the object "
               "and scaled to fill 28×28, like the training data.",
    "digits": "The digits model was trained on MNIST: white ink on black, the digit scaled into a "
              "20×20 box and centred by its centre of mass in 28×28. Your drawing gets the same treatment.",
    "imagenet": "EfficientNet-Lite0 sees a 224×224 centre crop of your photo (the short side, minus a "
                "small border), as in its original evaluation.",
}

INSIDE_TEXT = """**What you are looking at** ({model} answered **{label}**).
*Grad-CAM* (left): how much each region of the input raised the score of **{label}**, measured by
the gradient of that score with respect to the last convolutional feature maps (red = strong evidence).
*Feature maps*: the output of each stage for this image, its {k} most active channels. Each small
square is one channel: bright where its filter found its pattern. Resolution drops from stage to stage
({sizes}) while the number of channels rises overall ({channels}). *First-layer filters*: the 3×3 weights the
network learned (for the ImageNet model in colour): mostly edge and colour-contrast detectors, never
programmed by hand."""


VIT_INSIDE_TEXT = """**What you are looking at** ({model} answered **{label}**).
A vision transformer has no convolutions, so there is no Grad-CAM: the *evidence map* (left) is
its class token's **attention rollout**, how much the answer drew on each of the 7×7 patches through
all layers (red = much). The *maps* below are the last layer's attention, one per head: each head
looks at different patches. The *first-layer filters* are its patch projections: each 4×4 square is
one of the {n} directions a patch is projected onto (its first layer, as a CNN's 3×3 filters are)."""


def model_view(view: np.ndarray) -> np.ndarray:
    """The model's input at VIEW_SIDE, with sharp pixels for the 28×28 models."""
    return plots.enlarge(view, max(1, VIEW_SIDE // view.shape[0])) if view.ndim == 2 else view


def cam_overlay(view: np.ndarray, heat: np.ndarray, size: int = VIEW_SIDE) -> np.ndarray:
    """The model's input with a heat map on top (jet colours, half transparent), uint8 RGB."""
    from matplotlib import colormaps
    from PIL import Image

    rgb = np.stack([view] * 3, -1) if view.ndim == 2 else view
    rgb = np.asarray(Image.fromarray(rgb).resize((size, size), Image.Resampling.NEAREST), dtype=np.float64)
    heat = np.asarray(Image.fromarray((heat * 255).astype(np.uint8))
                      .resize((size, size), Image.Resampling.BILINEAR)) / 255.0
    colour = colormaps["jet"](heat)[..., :3] * 255
    alpha = 0.25 + 0.45 * heat[..., None]  # strong evidence is more opaque
    return ((1 - alpha) * rgb + alpha * colour).clip(0, 255).astype(np.uint8)


def stage_grid(maps: np.ndarray, cell: int = 56, gap: int = 3) -> np.ndarray:
    """Feature maps (C, H, W) tiled into a near-square uint8 RGB grid (16 maps: 4×4), each map
    scaled to its own range and shown about `cell` pixels wide: small maps enlarged with sharp
    pixels, large ones (112×112) subsampled. Plain numpy: six matplotlib figures per click would
    take seconds."""
    from matplotlib import colormaps

    c, h, w = maps.shape
    if max(h, w) > cell:
        stride = int(np.ceil(max(h, w) / cell))
        maps = maps[:, ::stride, ::stride]
        c, h, w = maps.shape
    scale = max(1, cell // max(h, w))
    columns = int(np.ceil(np.sqrt(c)))
    rows = int(np.ceil(c / columns))
    canvas = np.ones((rows * (h * scale + gap) + gap, columns * (w * scale + gap) + gap, 3))
    for i, m in enumerate(maps):
        span = m.max() - m.min()
        m = (m - m.min()) / span if span > 0 else np.zeros_like(m)
        tile = colormaps["viridis"](plots.enlarge(m, scale))[..., :3]
        r, col = divmod(i, columns)
        y, x = gap + r * (h * scale + gap), gap + col * (w * scale + gap)
        canvas[y:y + h * scale, x:x + w * scale] = tile
    return (canvas * 255).astype(np.uint8)


def stage_gallery(explanation) -> list[tuple[np.ndarray, str]]:
    """One compact grid per stage, captioned with what it shows."""
    return [(stage_grid(s.maps), f"{s.name}: {len(s.maps)} most active of {s.n_channels} channels, "
                                 f"{s.maps.shape[1]}×{s.maps.shape[2]} each")
            for s in explanation.stages]


def filters_image(filters: np.ndarray) -> np.ndarray:
    side = filters.shape[1]
    kind = f"RGB {side}×{side}" if filters.ndim == 4 else f"{side}×{side}"
    what = "patch projections" if side != 3 else "filters"
    first = "first layer" if side != 3 else "first conv layer"
    fig = plots.image_grid(list(filters[:64]), columns=8, cell=0.6,
                           title=f"{first}: {min(len(filters), 64)} of {len(filters)} learned {kind} {what}")
    return plots.figure_to_array(fig)


def inside_text(explanation) -> str:
    stages = explanation.stages
    if explanation.model == spec.VIT:
        return (VIT_INSIDE_TEXT.format(model=spec.MODEL_NAMES[spec.VIT], label=explanation.label,
                                       n=len(explanation.filters)) + "\n\n" + VIEW_TEXT["fashion"])
    text = INSIDE_TEXT.format(
        model=spec.MODEL_NAMES[explanation.model], label=explanation.label, k=len(stages[0].maps),
        sizes=" → ".join(f"{s.maps.shape[1]}×{s.maps.shape[2]}" for s in stages),
        channels=" → ".join(str(s.n_channels) for s in stages))
    return text + "\n\n" + VIEW_TEXT[explanation.model]


def explain_outputs(explanation) -> tuple:
    """(model view, Grad-CAM overlay, stage grids, first-layer filters, text): /explain_image's outputs."""
    return (model_view(explanation.view), cam_overlay(explanation.view, explanation.cam),
            stage_gallery(explanation), filters_image(explanation.filters), inside_text(explanation))


# ---------------------------------------------------------------------------------------------
# The vision transformer

def position_maps_image(maps: dict, cell: int = 84, gap: int = 10) -> np.ndarray:
    """One small map per chosen patch, in a row: its position embedding's cosine similarity to every
    patch's (viridis, -1..1 fixed so maps compare), the patch itself outlined in red."""
    from matplotlib import colormaps

    grids = list(maps.items())
    g = grids[0][1].shape[0]
    scale = cell // g
    side = g * scale
    canvas = np.ones((side + 2 * gap, len(grids) * (side + gap) + gap, 3))
    for k, ((r, c), m) in enumerate(grids):
        tile = colormaps["viridis"](plots.enlarge((np.clip(m, -1, 1) + 1) / 2, scale))[..., :3]
        y0, x0 = r * scale, c * scale
        tile[y0:y0 + scale, [x0, x0 + scale - 1]] = tile[[y0, y0 + scale - 1], x0:x0 + scale] = (1, 0, 0)
        x = gap + k * (side + gap)
        canvas[gap:gap + side, x:x + side] = tile
    return (canvas * 255).astype(np.uint8)


def vit_text(insight) -> str:
    """What the position maps show, from the numbers: do nearby patches have similar embeddings?"""
    near, far = [], []
    for (r, c), m in insight.position_maps.items():
        g = m.shape[0]
        for rr in range(g):
            for cc in range(g):
                d = max(abs(rr - r), abs(cc - c))
                if d == 1:
                    near.append(m[rr, cc])
                elif d >= g // 2:
                    far.append(m[rr, cc])
    near_mean, far_mean = float(np.mean(near)), float(np.mean(far))
    layout = ("so it has learnt which patches are neighbours, although nobody told it the 2-D layout"
              if near_mean > far_mean + 0.1 else
              "so this model has learnt little about which patches are neighbours")
    top = insight.classification
    peak = np.unravel_index(int(np.argmax(insight.rollout)), insight.rollout.shape)
    return (f"The ViT answers **{top.label}** ({top.top[top.label]:.0%}). Its class token drew most on the patch "
            f"in row {peak[0] + 1}, column {peak[1] + 1} ({insight.rollout.max():.1%} of its attention; "
            f"spread evenly it would be {1 / insight.rollout.size:.1%} each). **Learned positions** (right): each "
            "small map is one patch (outlined in red); bright where another patch's position embedding is "
            f"similar. Direct neighbours average a similarity of {near_mean:.2f}, patches half the grid away "
            f"or more {far_mean:.2f}, {layout}.")


def vit_outputs(insight) -> tuple:
    """(top-5 label, rollout overlay, position similarity maps, text): /explain_vit's outputs."""
    heat = insight.rollout / insight.rollout.max() if insight.rollout.max() > 0 else insight.rollout
    from PIL import Image

    view = insight.classification.view
    heat = np.asarray(Image.fromarray((heat * 255).astype(np.uint8)).resize(view.shape[::-1],
                                                                            Image.Resampling.NEAREST)) / 255.0
    return (insight.classification.top, cam_overlay(view, heat), position_maps_image(insight.position_maps),
            vit_text(insight))


def data_efficiency_figure(measured) -> Figure:
    """Test accuracy against training images (log x axis), CNN and ViT."""
    fig, ax = plots.new_figure(6.4, 3.4)
    colours = {"cnn": "#2563eb", "vit": "#ea580c"}
    names = {"cnn": "CNN (fashion model's architecture)", "vit": "vision transformer"}
    for model, points in measured.points.items():
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", color=colours[model], label=names[model])
    ax.set_xscale("log")
    ax.set(xlabel="training images (log scale)", ylabel="test accuracy (10,000 images)", ylim=(0, 1))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=11, loc="lower right")
    return fig


def data_efficiency_text(measured) -> str:
    """Two sentences written from the measured points: the gap at the smallest and largest size."""
    cnn, vit = dict(measured.points["cnn"]), dict(measured.points["vit"])
    if not cnn or not vit:
        return ""
    largest_cnn, largest_vit = max(cnn), max(vit)
    second = (f"With all the data (CNN {largest_cnn:,} images: {cnn[largest_cnn]:.1%}; ViT {largest_vit:,}: "
              f"{vit[largest_vit]:.1%}) the {'CNN' if cnn[largest_cnn] >= vit[largest_vit] else 'ViT'} is "
              f"{100 * abs(cnn[largest_cnn] - vit[largest_vit]):.1f} percentage points ahead.")
    shared = sorted(set(cnn) & set(vit))
    if not shared:
        return second
    small = shared[0]
    gap_small = cnn[small] - vit[small]
    first = (f"With {small:,} training images the CNN gets {cnn[small]:.1%} of the test images right and the "
             f"ViT {vit[small]:.1%}: " + (f"{100 * gap_small:.1f} percentage points in the CNN's favour, because its filters "
                                          "build in that nearby pixels belong together and a pattern means "
                                          "the same anywhere, which the ViT has to learn from the data."
                                          if gap_small > 0 else
                                          "the ViT is not behind here."))
    return first + " " + second


# ---------------------------------------------------------------------------------------------
# The models' measured accuracy, from their cards

def accuracy_note(fashion_card: dict | None, digits_card: dict | None) -> str:
    """Held-out accuracy of the two trained models against what was asked of them, in words."""
    parts = []
    if fashion_card:
        acc = fashion_card["metrics"]["test_accuracy"]
        parts.append(f"the clothes model gets **{acc:.1%}** of the 10,000 Fashion-MNIST test images right "
                     f"(goal ≥ {spec.FASHION_GOAL:.1%}: {_reached(acc, spec.FASHION_GOAL)})")
    if digits_card:
        metrics = digits_card["metrics"]
        if "mnist_test_accuracy" in metrics:
            acc = metrics["mnist_test_accuracy"]
            parts.append(f"the digits model **{acc:.2%}** of the 10,000 official MNIST test digits, after "
                         f"learning from only 4,250 (goal ≥ {spec.DIGITS_GOAL:.0%}: "
                         f"{_reached(acc, spec.DIGITS_GOAL)})")
        else:
            parts.append(f"the digits model **{metrics['test_accuracy']:.1%}** of 500 held-out MNIST digits")
    if not parts:
        return ""
    return "Measured on images the models never learnt from: " + "; ".join(parts) + ". Details in the model cards below."


def vit_card_note(card: dict | None) -> str:
    """How the shipped ViT was trained and what it scores on the test images, from its card."""
    if not card:
        return ""
    metrics, teacher = card["metrics"], card.get("teacher")
    taught = (" Besides the labels it learnt to match the clothes CNN's answers (*distillation*, as in DeiT): "
              "the attention and the positions below are still its own." if teacher else "")
    return (f"Trained here on {card['train_images']:,} images for {card['epochs_completed']:.0f} epochs "
            f"({card['params']:,} parameters), it gets **{metrics['test_accuracy']:.1%}** of the 10,000 test "
            f"images right (goal ≥ {spec.VIT_GOAL:.0%}: {_reached(metrics['test_accuracy'], spec.VIT_GOAL)})."
            + taught)


def _reached(value: float, goal: float) -> str:
    return "reached" if value >= goal else "not yet"


# ---------------------------------------------------------------------------------------------
# Teaching new classes

def _pct(x: float) -> str:
    return f"{x:.0%}"


def teach_summary(report) -> str:
    """The held-out table, then what it says."""
    pre = (f"**{_pct(report.pretrained_accuracy)}**" if not report.near_chance(report.pretrained_accuracy)
           else f"{_pct(report.pretrained_accuracy)} (chance level)")
    scr = (f"**{_pct(report.scratch_accuracy)}**" if not report.near_chance(report.scratch_accuracy)
           else f"{_pct(report.scratch_accuracy)} (chance level)")
    return (
        f"**Held-out accuracy** on {report.n_held_out} images neither model trained on "
        f"({report.n_train} used for training; guessing would get {_pct(report.chance)}):\n\n"
        "| | accuracy | seconds | steps |\n|---|---|---|---|\n"
        f"| pretrained EfficientNet-Lite0 + linear head | {pre} | "
        f"{report.pretrained_seconds:.1f} (of which features {report.feature_seconds:.1f}) | "
        f"{report.pretrained_steps} |\n"
        f"| small CNN from scratch | {scr} | {report.scratch_seconds:.1f} | {report.scratch_steps} |\n\n"
        + lesson(report))


def lesson(report) -> str:
    """What the numbers say, honestly: a model near chance learnt nothing usable, and with easy
    classes the scratch CNN can do as well."""
    pre, scr = report.pretrained_accuracy, report.scratch_accuracy
    chance = _pct(report.chance)
    if report.near_chance(pre) and report.near_chance(scr):
        text = (f"Both are at or near chance ({chance} with {len(report.classes)} classes): neither learnt "
                "anything that carries over to new images. Give each class more, and more varied, images.")
    elif report.near_chance(scr):
        text = (f"The CNN from scratch is at or near chance ({chance} with {len(report.classes)} classes): "
                f"in {report.scratch_seconds:.0f} s and {report.scratch_steps} steps on {report.n_train} "
                "images it learnt nothing that carries over to new ones, so its answers below are guesses. "
                "The pretrained network already knows edges, textures and object parts from 1.28 million "
                "ImageNet photos, so a straight line in its feature space separates your classes.")
    elif pre > scr:
        text = ("The pretrained network already knows edges, textures and object parts from ImageNet, "
                "so a straight line in its feature space separates your classes; the network from "
                "scratch has to learn all of that from your few images.")
    elif pre == scr:
        text = ("Here both do equally well: your classes differ in something simple (colour or overall "
                "brightness, say) that even a tiny network picks up. Try classes that differ in shape "
                "or kind, with varied backgrounds, to see what pretraining buys.")
    else:
        text = ("Here the network from scratch did better on the held-out images: with so few of them "
                "one image decides. Add more images per class and train again.")
    return (f"{text} (Each held-out image moves an accuracy by {1 / report.n_held_out:.0%}.) "
            "Now try a new image below.")


def scratch_label_title(near_chance: bool) -> str:
    return ("Small CNN from scratch: at chance on the held-out images, so this is a guess"
            if near_chance else "Small CNN from scratch")


def comparison_figure(report) -> Figure:
    """Held-out accuracy of both approaches, with the seconds each spent; chance marked."""
    fig, ax = plots.new_figure(6.0, 3.0)
    names = ["pretrained EfficientNet-Lite0\n+ linear head", "small CNN\nfrom scratch"]
    accs = [report.pretrained_accuracy, report.scratch_accuracy]
    secs = [report.pretrained_seconds, report.scratch_seconds]
    bars = ax.barh(names, accs, color=["#2563eb", "#9ca3af"])
    for bar, acc, sec in zip(bars, accs, secs):
        ax.text(min(acc, 0.75) + 0.02, bar.get_y() + bar.get_height() / 2,
                f"{acc:.0%} in {sec:.1f} s", va="center", fontsize=11)
    ax.axvline(report.chance, color="#dc2626", ls="--", lw=1)
    ax.text(report.chance, 1.45, " guessing", color="#dc2626", fontsize=11, va="center")
    ax.set(xlim=(0, 1.05), xlabel=f"accuracy on {report.n_held_out} held-out images",
           title=f"Trained on {report.n_train} images")
    ax.xaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.invert_yaxis()
    return fig
