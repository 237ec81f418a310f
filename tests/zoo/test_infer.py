"""Architecture zoo without the server: layer-table arithmetic against known figures, the latency
cap and cache, LeNet-5's accuracy against its card, and what the views show (human units, shares)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from apps.zoo import infer, spec, views
from apps.zoo.model import ARCHITECTURES
from shared.checkpoints import read_card
from shared.errors import BadInput

# Parameter counts as published (torchvision docs / the papers); timm's three as its model cards give.
KNOWN_PARAMS = {
    "LeNet-5": 61_706,            # 156 + 2,416 + 48,120 + 10,164 + 850 (C3 fully connected)
    "AlexNet": 61_100_840,
    "VGG-16": 138_357_544,
    "Inception-v1 (GoogLeNet)": 6_624_904,
    "Inception-v3": 23_834_568,   # without the training-only auxiliary classifier
    "ResNet-50": 25_557_032,
    "Xception": 22_855_952,
    "Inception-v4": 42_679_816,
    "Inception-ResNet-v2": 55_843_464,
    "ResNeXt-50 (32×4d)": 25_028_904,
}


@pytest.mark.parametrize("name", list(ARCHITECTURES))
def test_layer_table_adds_up_to_the_known_parameter_count(name):
    d = infer.describe(name)
    assert d.params == KNOWN_PARAMS[name]
    assert int(d.layers["params"].sum()) == d.params  # every parameter sits in exactly one row
    assert int(d.blocks["params"].sum()) == d.params
    assert int(d.blocks["MACs"].sum()) == d.macs == int(d.layers["MACs"].sum())


def test_headline_figures_match_the_literature():
    assert infer.describe("ResNet-50").params / 1e6 == pytest.approx(25.6, abs=0.05)
    assert infer.describe("VGG-16").params / 1e6 == pytest.approx(138.4, abs=0.05)
    assert infer.describe("VGG-16").weight_layers == 16  # 13 conv + 3 fully connected
    assert infer.describe("AlexNet").weight_layers == 8


@pytest.mark.parametrize("name,enum_name", list(infer.TORCHVISION_WEIGHTS.items()))
def test_multiply_adds_match_torchvision_metadata(name, enum_name):
    import torchvision.models as tvm

    published_gmacs = getattr(tvm, enum_name).IMAGENET1K_V1.meta["_ops"]  # torchvision's own count
    assert infer.describe(name).macs / 1e9 == pytest.approx(published_gmacs, abs=0.002)


def test_lenet_rows_by_hand():
    layers = infer.describe("LeNet-5").layers
    convs = layers[layers["type"] == "Conv2d"]
    assert list(convs["output shape"]) == ["6×28×28", "16×10×10", "120×1×1"]
    assert list(convs["params"]) == [6 * (25 + 1), 16 * (6 * 25 + 1), 120 * (16 * 25 + 1)]
    assert list(convs["MACs"]) == [6 * 28 * 28 * 25, 16 * 10 * 10 * 6 * 25, 120 * 16 * 25]
    linears = layers[layers["type"] == "Linear"]
    assert list(linears["MACs"]) == [84 * 120, 10 * 84]


def test_names_are_resolved_or_refused():
    assert infer.resolve_name("resnet50") == "ResNet-50"
    assert infer.resolve_name(" vgg-16 ") == "VGG-16"
    with pytest.raises(BadInput, match="Unknown architecture"):
        infer.resolve_name("ResNet-9000")
    with pytest.raises(BadInput):
        infer.resolve_name("")


def test_published_accuracies_carry_a_source():
    published = infer.published_top1()
    assert set(published) == set(ARCHITECTURES) - {"LeNet-5"}
    for top1, source in published.values():
        assert 50 < top1 < 85 and len(source) > 20


def test_latency_request_over_the_cap_is_refused_before_running(monkeypatch):
    ran = []
    monkeypatch.setattr(infer, "_time_one", lambda name: ran.append(name) or 1.0)
    monkeypatch.setattr(infer, "_latency_ms", {})
    with pytest.raises(BadInput, match="cap"):
        infer.measure_latency(list(ARCHITECTURES))
    assert ran == []


def test_latency_is_measured_once_and_cached():
    first = infer.measure_latency("LeNet-5").ms["LeNet-5"]
    assert 0 < first < 1000
    assert infer.measure_latency(["lenet5", "LeNet-5"]).ms == {"LeNet-5": first}


def test_lenet_reaches_its_card_accuracy_on_held_out_digits():
    from apps.zoo.data import mnist_split, to_lenet_input

    _, _, x_test, y_test = mnist_split()
    model, card = infer.lenet()
    with torch.no_grad():
        predictions = model(to_lenet_input(x_test)).argmax(-1).numpy()
    accuracy = float((predictions == y_test).mean())
    assert accuracy >= card["metrics"]["test_accuracy"] - 0.005
    assert read_card(spec.LENET_PATH)["metrics"]["test_accuracy"] > 0.95


def test_drawn_digit_black_on_white_is_read():
    from apps.zoo.data import mnist_split

    _, _, x_test, y_test = mnist_split()
    # an MNIST digit drawn as a user would: black ink on a big white canvas, off-centre
    canvas = np.full((280, 280, 3), 255, np.uint8)
    big = np.kron(x_test[0], np.ones((6, 6), np.uint8))
    canvas[20:188, 60:228] = 255 - big[:, :, None]
    reading = infer.classify_digit(canvas)
    assert max(reading.probabilities, key=reading.probabilities.get) == str(y_test[0])
    assert reading.digit.shape == (28, 28) and len(reading.c1_maps) == 6 and len(reading.c3_maps) == 16
    probabilities, seen, maps = views.digit_views(reading)
    assert seen.shape == (168, 168) and (seen[:6, :6] == reading.digit[0, 0]).all()  # sharp pixels
    assert len([ax for ax in maps.axes if ax.images]) == 22


def test_empty_canvas_is_bad_input():
    with pytest.raises(BadInput, match="empty"):
        infer.classify_digit(np.full((280, 280, 3), 255, np.uint8))
    with pytest.raises(BadInput):
        infer.classify_digit(None)


def test_descriptions_are_cached_once_per_architecture():
    assert infer.describe("resnet50") is infer.describe("ResNet-50") is infer.describe(" RESNET-50 ")


def test_the_catalogue_in_spec_is_the_models():
    assert list(ARCHITECTURES) == spec.ARCHITECTURE_NAMES
    assert spec.DEFAULT_ARCHITECTURE in ARCHITECTURES


def test_counts_are_shown_in_human_units():
    assert views.human_count(1849688064, "MACs") == "1.85 G MACs"
    assert views.human_count(25557032) == "25.6 M"
    assert views.human_count(4200) == "4.2 k" and views.human_count(850) == "850"
    d = infer.describe("ResNet-50")
    summary = views.summary_markdown(d)
    assert "**25.6 M** (25,557,032)" in summary and "**4.09 G MACs**" in summary
    assert str(d.macs) not in summary and f"{d.macs:,}" not in summary  # no raw multiply-add count
    layers = views.layer_table(d)
    assert list(layers.columns) == ["#", "layer", "type", "output shape", "parameters", "multiply-adds"]
    assert layers.loc[d.layers["MACs"].idxmax(), "multiply-adds"].endswith(" M")
    blocks = views.block_table(d)
    assert blocks["share of parameters"].str.endswith("%").all()
    table = views.comparison_table(infer.comparison())
    assert len(table) == 10 and not table.astype(str).apply(lambda c: c.str.fullmatch(r"\d{7,}")).any().any()


def test_block_shares_start_at_zero_and_add_up():
    d = infer.describe("VGG-16")
    fig = views.blocks_figure(d)
    for ax in fig.axes:
        assert ax.get_ylim()[0] == 0
        assert sum(p.get_height() for p in ax.patches) == pytest.approx(100, abs=0.01)
    # VGG-16's first fully connected layer holds most of its parameters: the sentence names it
    assert "of the parameters" in views.summary_markdown(d)


def test_the_comparison_plots_nine_imagenet_models_on_either_axis():
    for axis in spec.X_AXES:
        fig = views.comparison_figure(infer.comparison(), axis)
        assert len(fig.axes[0].collections[0].get_offsets()) == 9
    assert views.x_column("parameters") == "parameters" and views.x_column("anything") == "multiply-adds"


def test_on_arrival_the_default_architecture_and_the_comparison_are_shown():
    from apps.zoo import tab

    layers, summary, blocks, plot = tab.default_architecture()
    assert spec.DEFAULT_ARCHITECTURE in summary and len(layers) == len(infer.describe(spec.DEFAULT_ARCHITECTURE).layers)
    assert len(blocks) and plot.plot.startswith("data:image/")  # encoded once, as gr.Plot sends it
    table, comparison = tab.default_comparison()
    assert len(table) == 10 and comparison.plot.startswith("data:image/")


def test_a_sequential_of_plain_layers_is_split_into_its_stages():
    blocks = list(infer.describe("VGG-16").blocks["block"])
    assert blocks == ["features.0–4", "features.5–9", "features.10–16", "features.17–23", "features.24–30",
                      "avgpool", "classifier.0–6"]  # five conv stages, each ending at a max-pool
    assert list(infer.describe("LeNet-5").blocks["block"])[:2] == ["features.0–2", "features.3–5"]  # C1+S2, C3+S4
