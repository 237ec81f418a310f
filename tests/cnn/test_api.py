"""CNN tab through the served app (gradio_client): the API contract, clear errors, the ViT, and
transfer learning end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from apps.cnn import spec
from tests.cnn.test_infer import _crops

EXAMPLES = spec.ASSETS


def test_api_classify_image_contract(client):
    from gradio_client import handle_file

    for file, model, expected in [("flower.jpg", "imagenet", "daisy"),
                                  ("fashion_ankle_boot.png", "fashion", "Ankle boot"),
                                  ("digit_3_on_paper.png", "digits", "3")]:
        label = client.predict(handle_file(str(EXAMPLES / file)), model, api_name="/classify_image")
        assert label["label"] == expected
        assert len(label["confidences"]) == 5
    view, cam, stages, filters, text = client.predict(handle_file(str(EXAMPLES / "digit_3_on_paper.png")), "digits",
                                                      api_name="/explain_image")
    assert Path(view).exists() and Path(cam).exists() and Path(filters).exists()
    assert len(stages) == 3 and "3" in text


def test_api_classify_image_with_the_vision_transformer(client):
    """Same contract for model "fashion-vit": the top-5 label first, its views from /explain_image."""
    from gradio_client import handle_file

    trouser = handle_file(str(EXAMPLES / "fashion_trouser.png"))
    label = client.predict(trouser, "fashion-vit", api_name="/classify_image")
    assert len(label["confidences"]) == 5
    assert {c["label"] for c in label["confidences"]} <= set(spec.FASHION_CLASSES)
    view, cam, stages, filters, text = client.predict(trouser, "fashion-vit", api_name="/explain_image")
    assert Path(view).exists() and Path(cam).exists() and Path(filters).exists()
    assert len(stages) == 1 and "attention rollout" in text and label["label"] in text
    vit_label, rollout, positions, vit_text = client.predict(trouser, api_name="/explain_vit")
    assert vit_label["label"] == label["label"]
    assert Path(rollout).exists() and Path(positions).exists() and "Learned positions" in vit_text


def test_api_bad_input_is_a_clear_error_and_app_keeps_serving(client, tmp_path):
    from gradio_client import handle_file

    text = tmp_path / "notes.txt"
    text.write_text("this is not an image")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1), "red").save(tiny)
    for path, message in [(text, "not an image"), (tiny, "1×1")]:
        with pytest.raises(Exception, match=message):
            client.predict(handle_file(str(path)), "imagenet", api_name="/classify_image")
        with pytest.raises(Exception, match=message):
            client.predict(handle_file(str(path)), api_name="/explain_vit")
    with pytest.raises(Exception, match="not in the list of choices"):  # Gradio checks the Radio's choices
        client.predict(handle_file(str(EXAMPLES / "flower.jpg")), "vgg", api_name="/classify_image")
    label = client.predict(handle_file(str(EXAMPLES / "flower.jpg")), "imagenet", api_name="/classify_image")
    assert label["label"] == "daisy"


def test_api_transfer_learning_end_to_end(client, tmp_path):
    """Two classes from augmented crops of the two sample photos; the pretrained head separates
    them on held-out images, and classifies a new crop."""
    from gradio_client import handle_file

    def gallery(name, seed):
        items = []
        for i, crop in enumerate(_crops(name, 4, seed)):
            path = tmp_path / f"{Path(name).stem}_{seed}_{i}.jpg"
            crop.save(path)
            items.append({"image": handle_file(str(path)), "caption": None})
        return items

    slots = ["temple", gallery("temple.jpg", 1), "flower", gallery("flower.jpg", 2)] + ["", []] * 3
    report, plot = client.predict(5, *slots, api_name="/teach_classes")
    assert "Held-out accuracy" in report and "pretrained EfficientNet-Lite0" in report
    assert "**100%**" in report.split("small CNN")[0]  # the pretrained row: both held-out images right
    new = tmp_path / "new_flower.jpg"
    _crops("flower.jpg", 1, 99)[0].save(new)
    pretrained, scratch = client.predict(handle_file(str(new)), api_name="/classify_taught")
    assert pretrained["label"] == "flower"
    assert {c["label"] for c in scratch["confidences"]} == {"temple", "flower"}


def test_api_teaching_time_budget_is_refused_outside_its_range(client):
    """Gradio's slider refuses first, naming its bound; the handler's own check would give the range."""
    for seconds in (1, 61):
        with pytest.raises(Exception, match="(minimum|maximum) value (5|60)|from 5 to 60"):
            client.predict(seconds, "a", [], "b", [], *["", []] * 3, api_name="/teach_classes")
