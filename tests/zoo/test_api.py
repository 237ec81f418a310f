"""Architecture zoo through the served app: one call of each endpoint, bad input refused clearly."""

from __future__ import annotations

import numpy as np
import pytest

from apps.zoo import infer
from tests.zoo.test_infer import KNOWN_PARAMS


def test_describe_architecture_endpoint(client):
    layers, summary, blocks = client.predict("ResNet-50", api_name="/describe_architecture")
    assert layers["headers"] == ["#", "layer", "type", "output shape", "parameters", "multiply-adds"]
    assert len(layers["data"]) == len(infer.describe("ResNet-50").layers)
    assert "25,557,032" in summary and "Residual" in summary
    assert len(blocks["data"]) == len(infer.describe("ResNet-50").blocks)


def test_explain_architecture_endpoint_draws_the_block_summary(client):
    plot = client.predict("resnet50", api_name="/explain_architecture")
    assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/")
    assert client.predict("ResNet-50", api_name="/explain_architecture") == plot  # drawn once, kept


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
    assert len(table["data"]) == 10 and table["headers"][3:5] == ["parameters", "multiply-adds"]
    assert plot["type"] == "matplotlib"


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


