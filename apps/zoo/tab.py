"""🏛️ Architecture zoo: ten landmark CNNs, explored layer by layer; LeNet-5 reads a drawn digit."""

from __future__ import annotations

import functools

import gradio as gr

from apps import Tab
from shared.checkpoints import WEIGHTS_DIR
from shared.inputs import SketchInput
from shared.ui import explainer, guard, model_card_accordion

LENET_PATH = WEIGHTS_DIR / "zoo" / "lenet5_mnist.safetensors"
# Typed here (not imported from model.py) so that building the UI never imports torch.
NAMES = ["LeNet-5", "AlexNet", "VGG-16", "Inception-v1 (GoogLeNet)", "Inception-v3", "ResNet-50",
         "Xception", "Inception-v4", "Inception-ResNet-v2", "ResNeXt-50 (32×4d)"]


@guard("Describing the architecture")
def describe_architecture(name):
    """The tables and the summary (cached per architecture: fast); the figure is explain_architecture's."""
    from apps.zoo import infer

    d = infer.describe(name)
    return (infer.readable_table(d.layers), infer.summary_markdown(d, infer.cached_latency(d.name)),
            infer.readable_table(d.blocks))


@guard("Drawing the block summary")
def explain_architecture(name):
    from apps.zoo import infer

    return _block_summary_plot(infer.resolve_name(name))


# The figure depends on the architecture alone and there are ten: each is drawn and encoded once
# (drawing it takes about half a second), and what gr.Plot sends is kept.
_PLOT_ENCODER = gr.Plot(render=False)


@functools.lru_cache(maxsize=len(NAMES))
def _block_summary_plot(name: str):
    from apps.zoo import infer

    return _PLOT_ENCODER.postprocess(infer.blocks_figure(infer.describe(name)))


@guard("Measuring CPU latency")
def measure_latency(names):
    from apps.zoo import infer

    if isinstance(names, str):
        names = [n for n in names.split(",") if n.strip()]
    measured = infer.measure_latency(names or [])
    lines = ["| architecture | CPU latency, one image (median of up to 3 runs) |", "|---|---|"]
    lines += [f"| {n} | {ms:.1f} ms |" for n, ms in measured.items()]
    return "\n".join(lines) + (f"\n\nMeasured on this machine: batch 1, {infer.LATENCY_INPUT}×{infer.LATENCY_INPUT} "
                               "RGB (LeNet-5: 32×32 gray), random weights (speed does not depend on their values).")


@guard("Comparing the architectures")
def compare_architectures(x_axis):
    from apps.zoo import infer

    table = infer.comparison_table()
    axis = "params (M)" if str(x_axis).startswith("param") else "GMACs"
    return table, infer.comparison_figure(table, axis)


@guard("Classifying the digit")
def classify_digit(drawing):
    from apps.zoo import infer
    from shared.plots import image_grid

    image = drawing.get("composite") if isinstance(drawing, dict) else drawing
    probs, digit, maps = infer.classify_digit(image)
    labels = [f"C1 map {i + 1}" for i in range(6)] + [f"C3 map {i + 1}" for i in range(16)]
    big = digit.repeat(6, axis=0).repeat(6, axis=1)  # 28×28 shown at 168×168, pixels kept sharp
    return probs, big, image_grid(maps, columns=11, labels=labels, cell=0.8,
                                    title="Feature maps: C1 (6 of 28×28), C3 (16 of 10×10)")


def build():
    explainer("Ten convolutional networks that shaped computer vision, each built from its definition "
              "(torchvision, timm, or written here for LeNet-5) **without its weights**: everything below "
              "is computed from the model itself by running one dummy image through it. Pick one to see "
              "its layers, where its parameters and multiply-adds sit, and how fast it runs on this CPU.")
    with gr.Row():
        name = gr.Dropdown(NAMES, value="ResNet-50", label="Architecture", scale=3,
                           allow_custom_value=True)  # the API takes names like "resnet50" too
        describe_button = gr.Button("Describe", variant="primary", scale=1)
    with gr.Row():
        with gr.Column(scale=2):
            summary = gr.Markdown()
        with gr.Column(scale=3):
            blocks_plot = gr.Plot(label="Block summary")
    with gr.Accordion("Per-layer table (every layer the image passes through)", open=True):
        layers = gr.Dataframe(label="Layers: output shape per image, parameters, multiply-adds",
                              headers=["#", "layer", "type", "output shape", "params", "params (readable)",
                                       "MACs", "MACs (readable)"],
                              interactive=False, max_height=420)
    with gr.Accordion("Per-block totals", open=False):
        blocks = gr.Dataframe(headers=["block", "layers", "params", "params (readable)", "MACs", "MACs (readable)",
                                       "output shape"],
                              interactive=False, max_height=360)

    gr.Markdown("### CPU latency, measured here")
    explainer("Timing builds the full-size model in memory (VGG-16 needs 550 MB) and runs one image "
              "through it; each result is kept, and only one measurement runs at a time. Several models "
              "whose timing would take longer than a minute together are refused: measure a few at a time. "
              "Other work on the machine slows the figures down; re-run the app to measure afresh.")
    with gr.Row():
        to_measure = gr.CheckboxGroup(NAMES, value=["ResNet-50"], label="Measure these", scale=4)
        measure_button = gr.Button("Measure latency", scale=1)
    latency = gr.Markdown()

    gr.Markdown("### All ten side by side")
    with gr.Row():
        x_axis = gr.Radio(["multiply-adds", "parameters"], value="multiply-adds", label="x axis", scale=3)
        compare_button = gr.Button("Compare", scale=1)
    comparison_plot = gr.Plot(label="Cost against published accuracy")
    comparison = gr.Dataframe(headers=["architecture", "year", "input", "params (M)", "GMACs",
                                       "ImageNet top-1 (%)", "source"], interactive=False, wrap=True)

    gr.Markdown("### LeNet-5 reads your digit")
    explainer("The one network here with trained weights: LeNet-5 trained on MNIST digits by this "
              "project. Pick the brush (✎, left of the canvas), draw a digit large in the middle; it is cropped, scaled to 20×20 and centred "
              "in 28×28 like MNIST's digits, then padded to LeNet's 32×32 input.")
    with gr.Row():
        pad = SketchInput(label="Draw a digit (0–9)", type="numpy", image_mode="RGBA",
                           canvas_size=(280, 280), height=320)
        with gr.Column():
            prediction = gr.Label(num_top_classes=3, label="LeNet-5 says")
            seen = gr.Image(label="What LeNet-5 sees (28×28)", height=160, interactive=False)
            classify_button = gr.Button("Classify", variant="primary")
    feature_maps = gr.Plot(label="Inside LeNet-5")
    model_card_accordion([LENET_PATH])

    gr.on([name.change, describe_button.click], describe_architecture, inputs=name,
          outputs=[layers, summary, blocks], api_name="describe_architecture").success(
        explain_architecture, inputs=name, outputs=blocks_plot, api_name="explain_architecture")
    measure_button.click(measure_latency, inputs=to_measure, outputs=latency,
                         api_name="measure_latency", concurrency_limit=1)
    compare_button.click(compare_architectures, inputs=x_axis, outputs=[comparison, comparison_plot],
                         api_name="compare_architectures")
    classify_button.click(classify_digit, inputs=pad, outputs=[prediction, seen, feature_maps],
                          api_name="classify_digit")


def _warmup():
    from apps.zoo import infer

    infer.load_models()
    _block_summary_plot("ResNet-50")  # the dropdown's first choice: its figure is ready when asked for


TAB = Tab(name="zoo", title="🏛️ Architecture zoo", order=60, build=build,
          summary="Ten landmark CNNs layer by layer (params, multiply-adds, latency); LeNet-5 on your digit",
          checkpoints=(LENET_PATH,), warmup=_warmup)
