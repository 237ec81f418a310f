"""🏛️ Architecture zoo: ten landmark CNNs, explored layer by layer; LeNet-5 reads a drawn digit."""

from __future__ import annotations

import gradio as gr

from apps import Tab
from apps.zoo import spec
from shared import arrival
from shared.inputs import SketchInput
from shared.ui import explainer, guard, model_card_accordion

LAYER_HEADERS = ["#", "layer", "type", "output shape", "parameters", "multiply-adds"]
BLOCK_HEADERS = ["block", "layers", "parameters", "share of parameters", "multiply-adds",
                 "share of multiply-adds", "output shape"]
COMPARISON_HEADERS = ["architecture", "year", "input", "parameters", "multiply-adds", "ImageNet top-1 (%)",
                      "source"]


# ----- handlers: infer computes, views shows ---------------------------------------------------

@guard("Describing the architecture")
def describe_architecture(name):
    """The tables and the summary (cached per architecture: fast); the figure is explain_architecture's."""
    from apps.zoo import infer, views

    d = infer.describe(name)
    return views.layer_table(d), views.summary_markdown(d, infer.cached_latency(d.name)), views.block_table(d)


@guard("Drawing the block summary")
def explain_architecture(name):
    from apps.zoo import infer, views

    return views.block_plot(infer.resolve_name(name))


@guard("Measuring CPU latency")
def measure_latency(names):
    from apps.zoo import infer, views

    return views.latency_markdown(infer.measure_latency(names or []))


@guard("Comparing the architectures")
def compare_architectures(x_axis):
    from apps.zoo import infer, views

    return views.comparison_table(infer.comparison()), views.comparison_plot(views.x_column(x_axis))


@guard("Classifying the digit")
def classify_digit(drawing):
    from apps.zoo import infer, views

    image = drawing.get("composite") if isinstance(drawing, dict) else drawing
    return views.digit_views(infer.classify_digit(image))


def default_architecture():
    """What the architecture view shows on arrival: the default architecture's tables and figure."""
    return (*describe_architecture(spec.DEFAULT_ARCHITECTURE), explain_architecture(spec.DEFAULT_ARCHITECTURE))


def default_comparison():
    return compare_architectures(spec.DEFAULT_X_AXIS)


# ----- layout, then events ---------------------------------------------------------------------

def build():
    explainer("Ten convolutional networks that shaped computer vision, each built from its definition "
              "(torchvision, timm, or written here for LeNet-5) **without its weights**: everything below "
              "is computed from the model itself by running one dummy image through it.")
    with gr.Tabs():
        with gr.Tab("One architecture", id="zoo-architecture", elem_id="zoo-architecture"):
            explainer("Pick one to see its layers, where its parameters and multiply-adds sit, and how fast "
                      "it runs on this CPU.")
            with gr.Row():
                name = gr.Dropdown(spec.ARCHITECTURE_NAMES, value=spec.DEFAULT_ARCHITECTURE, label="Architecture",
                                   scale=3, min_width=200,
                                   allow_custom_value=True)  # the API takes names like "resnet50" too
                describe_button = gr.Button("Describe", variant="primary", scale=1, min_width=120)
            summary = gr.Markdown()
            blocks_plot = gr.Plot(label="Block summary", show_label=False, elem_classes=["natural-size"])
            with gr.Accordion("Per-layer table (every layer the image passes through)", open=True):
                layers = gr.Dataframe(label="Layers: output shape per image, parameters, multiply-adds",
                                      headers=LAYER_HEADERS, interactive=False, max_height=420, wrap=True)
            with gr.Accordion("Per-block totals", open=False):
                blocks = gr.Dataframe(headers=BLOCK_HEADERS, interactive=False, max_height=360, wrap=True)

            gr.Markdown("### CPU latency, measured here")
            explainer("Timing builds the full-size model in memory (VGG-16 needs 550 MB) and runs one image "
                      "through it; each result is kept, and only one measurement runs at a time. Several models "
                      "whose timing would take longer than a minute together are refused: measure a few at a "
                      "time. Other work on the machine slows the figures down.")
            with gr.Row():
                to_measure = gr.CheckboxGroup(spec.ARCHITECTURE_NAMES, value=[spec.DEFAULT_ARCHITECTURE],
                                              label="Measure these", scale=4, min_width=240)
                measure_button = gr.Button("Measure latency", scale=1, min_width=120)
            latency = gr.Markdown()

        with gr.Tab("All ten side by side", id="zoo-compare", elem_id="zoo-compare"):
            explainer("Cost (multiply-adds or parameters, computed here) against the ImageNet accuracy their "
                      "authors published: newer designs get more accuracy per multiply-add.")
            with gr.Row():
                x_axis = gr.Radio(spec.X_AXES, value=spec.DEFAULT_X_AXIS, label="x axis", scale=3, min_width=200)
                compare_button = gr.Button("Compare", scale=1, min_width=120)
            comparison_plot = gr.Plot(label="Cost against published accuracy", show_label=False,
                                      elem_classes=["natural-size"])
            comparison = gr.Dataframe(headers=COMPARISON_HEADERS, interactive=False, wrap=True)

        with gr.Tab("LeNet-5 reads your digit", id="zoo-lenet", elem_id="zoo-lenet"):
            explainer("The one network here with trained weights: LeNet-5 trained on MNIST digits by this "
                      "project. Pick the brush (✎, left of the canvas), draw a digit large in the middle; it is "
                      "cropped, scaled to 20×20 and centred in 28×28 like MNIST's digits, then padded to "
                      "LeNet's 32×32 input.")
            with gr.Row():
                pad = SketchInput(label="Draw a digit (0–9)", type="numpy", image_mode="RGBA",
                                  canvas_size=(280, 280), height=320)
                with gr.Column(min_width=200):
                    prediction = gr.Label(num_top_classes=3, label="LeNet-5 says")
                    seen = gr.Image(label="What LeNet-5 sees (28×28)", height=160, interactive=False)
                    classify_button = gr.Button("Classify", variant="primary")
            feature_maps = gr.Plot(label="Inside LeNet-5", show_label=False, elem_classes=["natural-size"])
            model_card_accordion([spec.LENET_PATH])

    gr.on([name.change, describe_button.click], describe_architecture, inputs=name,
          outputs=[layers, summary, blocks], api_name="describe_architecture").success(
        explain_architecture, inputs=name, outputs=blocks_plot, api_name="explain_architecture")
    measure_button.click(measure_latency, inputs=to_measure, outputs=latency,
                         api_name="measure_latency", concurrency_limit=1)
    compare_button.click(compare_architectures, inputs=x_axis, outputs=[comparison, comparison_plot],
                         api_name="compare_architectures")
    classify_button.click(classify_digit, inputs=pad, outputs=[prediction, seen, feature_maps],
                          api_name="classify_digit")

    arrival.show(default_architecture, [layers, summary, blocks, blocks_plot])
    arrival.show(default_comparison, [comparison, comparison_plot])


def _warmup():
    from apps.zoo import infer

    infer.load_models()


TAB = Tab(name="zoo", title="🏛️ Architecture zoo", order=60, build=build,
          summary="Ten landmark CNNs layer by layer (params, multiply-adds, latency); LeNet-5 on your digit",
          checkpoints=(spec.LENET_PATH,), warmup=_warmup)
