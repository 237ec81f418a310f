"""Architecture zoo: layer-table arithmetic against known figures, the latency cap and cache,
LeNet-5's accuracy against its card, and one call of each endpoint through the served app."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from apps.zoo import infer
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
    first = infer.measure_latency("LeNet-5")["LeNet-5"]
    assert 0 < first < 1000
    assert infer.measure_latency(["lenet5", "LeNet-5"]) == {"LeNet-5": first}


def test_lenet_reaches_its_card_accuracy_on_held_out_digits():
    from apps.zoo.data import mnist_split, to_lenet_input

    _, _, x_test, y_test = mnist_split()
    model, card = infer.lenet()
    with torch.no_grad():
        predictions = model(to_lenet_input(x_test)).argmax(-1).numpy()
    accuracy = float((predictions == y_test).mean())
    assert accuracy >= card["metrics"]["test_accuracy"] - 0.005
    assert read_card(infer.LENET_PATH)["metrics"]["test_accuracy"] > 0.95


def test_drawn_digit_black_on_white_is_read():
    from apps.zoo.data import mnist_split

    _, _, x_test, y_test = mnist_split()
    # an MNIST digit drawn as a user would: black ink on a big white canvas, off-centre
    canvas = np.full((280, 280, 3), 255, np.uint8)
    big = np.kron(x_test[0], np.ones((6, 6), np.uint8))
    canvas[20:188, 60:228] = 255 - big[:, :, None]
    probs, digit, maps = infer.classify_digit(canvas)
    assert max(probs, key=probs.get) == str(y_test[0])
    assert digit.shape == (28, 28) and len(maps) == 22


def test_empty_canvas_is_bad_input():
    with pytest.raises(BadInput, match="empty"):
        infer.classify_digit(np.full((280, 280, 3), 255, np.uint8))
    with pytest.raises(BadInput):
        infer.classify_digit(None)


# ----- through the served app --------------------------------------------------------------

def test_describe_architecture_endpoint(client):
    layers, summary, blocks = client.predict("ResNet-50", api_name="/describe_architecture")
    assert layers["headers"][:4] == ["#", "layer", "type", "output shape"]
    assert len(layers["data"]) == len(infer.describe("ResNet-50").layers)
    assert "25,557,032" in summary and "Residual" in summary
    assert len(blocks["data"]) == len(infer.describe("ResNet-50").blocks)


def test_explain_architecture_endpoint_draws_the_block_summary(client):
    plot = client.predict("resnet50", api_name="/explain_architecture")
    assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/")
    assert client.predict("ResNet-50", api_name="/explain_architecture") == plot  # drawn once, kept


def test_descriptions_are_cached_once_per_architecture():
    assert infer.describe("resnet50") is infer.describe("ResNet-50") is infer.describe(" RESNET-50 ")


def test_describe_unknown_architecture_is_a_clear_error(client):
    with pytest.raises(Exception, match="Unknown architecture"):
        client.predict("SuperNet", api_name="/describe_architecture")
    layers, *_ = client.predict("alexnet", api_name="/describe_architecture")  # still serving
    assert len(layers["data"]) > 10


def test_measure_latency_endpoint(client):
    text = client.predict(["LeNet-5"], api_name="/measure_latency")
    assert "LeNet-5" in text and "ms" in text
    with pytest.raises(Exception, match="cap"):
        client.predict(list(KNOWN_PARAMS), api_name="/measure_latency")


def test_compare_architectures_endpoint(client):
    table, plot = client.predict("multiply-adds", api_name="/compare_architectures")
    assert len(table["data"]) == 10
    assert plot is not None


def test_classify_digit_endpoint(client, artifacts):
    from gradio_client import handle_file
    from PIL import Image

    from apps.zoo.data import mnist_split

    _, _, x_test, y_test = mnist_split()
    path = artifacts / "zoo_digit.png"
    Image.fromarray(255 - np.kron(x_test[1], np.ones((8, 8), np.uint8))).convert("RGB").save(path)
    editor_value = {"background": handle_file(str(path)), "layers": [], "composite": handle_file(str(path))}
    label, seen, plot = client.predict(editor_value, api_name="/classify_digit")
    assert label["label"] == str(y_test[1])


def test_counts_are_shown_in_human_units():
    assert infer.human_count(1849688064, "MACs") == "1.85 G MACs"
    assert infer.human_count(25557032) == "25.6 M"
    assert infer.human_count(4200) == "4.2 k" and infer.human_count(850) == "850"
    d = infer.describe("ResNet-50")
    summary = infer.summary_markdown(d)
    assert "**25.6 M** (25,557,032)" in summary and "**4.09 G MACs**" in summary
    table = infer.readable_table(d.layers)
    assert table["MACs"].dtype.kind == "i"  # the numeric column stays, so it sorts as numbers
    assert list(table.columns[4:8]) == ["params", "params (readable)", "MACs", "MACs (readable)"]
    assert table.loc[table["MACs"].idxmax(), "MACs (readable)"].endswith(" M")
    assert "params (readable)" in infer.readable_table(d.blocks)
