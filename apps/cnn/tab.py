"""🖼️ CNN · images: classify with three real CNNs and a vision transformer, see inside them, and
teach one new classes.

Layout, then events; pictures and text come from views.py, answers from infer.py (imported inside
the handlers, so start-up never waits for torch).

API
  /classify_image   (image, model) -> top-5 label
                    model: "fashion" | "digits" | "imagenet" | "fashion-vit"
  /explain_image    (image, model) -> the image as the model sees it, evidence map (Grad-CAM; for the
                    ViT its attention rollout), feature maps per stage, first-layer filters, text
  /classify_sketch  (sketch) -> top-5 digit label, the 28x28 digit the model sees
  /classify_example (image, model) -> the label and every view (an example click)
  /teach_classes    (seconds, name1, images1, ..., name5, images5) -> report, comparison plot
  /classify_taught  (image) -> pretrained + linear head label, small-CNN-from-scratch label
  /explain_vit      (image) -> the ViT's top-5 label, attention rollout, position similarity, text
"""

from __future__ import annotations

import gradio as gr

from apps import Tab
from apps.cnn import spec
from shared import arrival
from shared.inputs import ImageInput, SketchInput
from shared.ui import explainer, guard, model_card_accordion

MODEL_CHOICES = [(spec.MODEL_NAMES[m], m) for m in spec.MODELS]
DIGITS_TITLE = f"Top-5 digits · {spec.MODEL_NAMES['digits']}"

INTRO = """## Convolutional networks: the standard model for images
A CNN slides small learned filters over the image. Early layers respond to edges and blobs, later
layers (after pooling has shrunk the map) to larger parts; the last layer turns those into class
scores. Pick a model, give it an image, then look inside. A vision transformer, which has no
filters at all, is here to compare."""

TEACH_TEXT = f"""### Teach it new classes: what does pretraining buy?
Name {spec.MIN_CLASSES} to {spec.MAX_CLASSES} classes and give each at least {spec.MIN_IMAGES_PER_CLASS}
images (upload several at once, or snap them with the webcam). The app then trains two classifiers
on the same images, for at most the same time:
1. **Transfer learning**: EfficientNet-Lite0, pretrained on 1.28 million ImageNet photos, is frozen and
   turns each image into 1,280 numbers; only a linear layer on top is trained.
2. **From scratch**: a small CNN with random initial weights learns from your images alone.

A quarter of each class's images (at least one) is held out and used only to score both."""

TEACH_ARRIVAL = ("The example is loaded above: 16 photos each of trousers, dresses and bags from the "
                 "Fashion-MNIST test set. Press **Train both** (each model gets the time budget set above) "
                 "to see whether 12 images per class are enough for each approach, or replace them with "
                 "your own classes.")

VIT_TEXT = """### The vision transformer: no filters, only attention
The ViT cuts the 28×28 image into a 7×7 grid of 4×4-pixel patches, turns each into a vector, adds a
learned *position embedding* (it is not told which patch is where) and lets every patch attend to
every other, six layers deep. A class token collects the answer."""

# Gradio's editor starts with its image tool and falls back to it after Clear (its canvas is also
# set up late, on first showing): pick the brush until it has stayed picked for a second.
SELECT_BRUSH = """() => {
  let tries = 0, held = 0;
  const timer = setInterval(() => {
    const brush = document.querySelector("#cnn-sketch button[aria-label='Brush']");
    if (brush && brush.classList.contains("highlight")) held += 1;
    else { held = 0; if (brush) brush.click(); }
    if (held >= 5 || ++tries > 40) clearInterval(timer);
  }, 200);
}"""


# ---------------------------------------------------------------------------------------------
# Layout

def build() -> None:
    gr.Markdown(INTRO)
    explainer(_accuracy_note())
    with gr.Tabs():
        with gr.Tab("Classify & look inside", id="cnn-classify"):
            _build_classify()
        with gr.Tab("Teach it new classes", id="cnn-teach"):
            _build_teach()
        with gr.Tab("Vision transformer", id="cnn-vit"):
            _build_vit()
    model_card_accordion(spec.CARDS)


def _build_classify() -> None:
    with gr.Row():
        with gr.Column(scale=3):
            with gr.Tabs():
                with gr.Tab("Photo / upload", id="cnn-photo"):
                    model = gr.Radio(MODEL_CHOICES, value=spec.DEFAULT_MODEL, label="Model")
                    image = ImageInput(type="filepath", sources=["upload", "webcam", "clipboard"],
                                       label="Image", height=300, elem_id="cnn-image")
                    classify_btn = gr.Button("Classify", variant="primary", elem_id="cnn-classify-btn")
                with gr.Tab("Draw a digit", id="cnn-draw") as draw_tab:
                    gr.Markdown(f"The **{spec.MODEL_NAMES['digits']}** reads your drawing.")
                    sketch = SketchInput(type="numpy", image_mode="RGB", canvas_size=(280, 280),
                                         fixed_canvas=True, label="Draw one digit (0-9) with the mouse or a finger",
                                         brush=gr.Brush(default_size=14, colors=["#000000"], color_mode="fixed"),
                                         layers=False, transforms=(), elem_id="cnn-sketch")
                    sketch_btn = gr.Button("Recognise the digit", variant="primary", elem_id="cnn-sketch-btn")
        with gr.Column(scale=2):
            label = gr.Label(num_top_classes=spec.TOP_K, label=_title(spec.DEFAULT_MODEL), elem_id="cnn-label")
            view = gr.Image(label="What the model sees", height=200, interactive=False, format="png",
                            elem_id="cnn-view")
    with gr.Accordion("Inside the model", open=True):
        inside_text = explainer("Classify an image to see Grad-CAM, feature maps and filters here.")
        with gr.Row():
            cam = gr.Image(label="Grad-CAM: where the evidence is", height=260, interactive=False, elem_id="cnn-cam")
            filters = gr.Image(label="First-layer filters", height=260, interactive=False)
        # height="auto" would be a 55 %-of-the-screen scroll box; fit-content shows every grid at once.
        stages = gr.Gallery(label="Feature maps, stage by stage (the most active channels)", columns=3,
                            height="fit-content", object_fit="contain", allow_preview=True, elem_id="cnn-stages")
    inside = [cam, stages, filters, inside_text]

    arrival.show(_classify_arrival, [image, model, label, view, *inside])
    gr.on([classify_btn.click, image.upload], classify_image, [image, model], label,
          api_name="classify_image").success(
        explain_image, [image, model], [view, *inside], api_name="explain_image").success(
        answered_by, model, label, api_name="answered_by", api_visibility="private", show_progress="hidden")
    sketch_btn.click(classify_sketch, sketch, [label, view], api_name="classify_sketch").success(
        explain_sketch, sketch, [label, *inside], api_name="explain_sketch", api_visibility="private")
    draw_tab.select(None, js=SELECT_BRUSH, api_name="pick_brush_on_open", api_visibility="private")
    sketch.clear(None, js=SELECT_BRUSH, api_name="pick_brush_after_clear", api_visibility="private")

    gr.Examples(
        examples=[[str(spec.ASSETS / f), m] for f, m in spec.EXAMPLES],
        inputs=[image, model], outputs=[label, view, *inside], fn=classify_example,
        # Not cached: Gradio keys its example cache by event index, which changes with --tabs,
        # so a cache could serve another build's outputs. Classifying an example takes milliseconds.
        cache_examples=False, run_on_click=True, label="Examples for each model (click one)",
        api_name="classify_example",
    )


def _build_teach() -> None:
    gr.Markdown(TEACH_TEXT)
    names, galleries = [], []
    for i in range(spec.N_CLASS_SLOTS):
        with gr.Row(equal_height=True):
            names.append(gr.Textbox(label=f"Class {i + 1} name", scale=1, max_lines=1, min_width=120,
                                    placeholder="e.g. mug" if i < spec.MIN_CLASSES else "(optional)",
                                    elem_id=f"cnn-class-name-{i + 1}"))
            galleries.append(gr.Gallery(label=f"Class {i + 1} images (drop several)", type="filepath",
                                        interactive=True, columns=8, height=150, scale=4, min_width=200,
                                        file_types=["image"], elem_id=f"cnn-class-images-{i + 1}"))
    with gr.Row():
        with gr.Column():
            snapshot = ImageInput(sources=["webcam", "upload"], type="filepath", label="Snapshot", height=200)
            with gr.Row():
                slot = gr.Dropdown([str(i + 1) for i in range(spec.N_CLASS_SLOTS)], value="1", label="Add to class")
                add_btn = gr.Button("Add snapshot to class")
        with gr.Column():
            seconds = spec.TEACH_SECONDS.slider(label="Time budget per model (seconds)")
            example_btn = gr.Button("Load the example: trousers, dresses and bags (16 photos each)")
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
    arrival.show(_teach_arrival, [*slots, report])
    add_btn.click(add_snapshot, [snapshot, slot, *galleries], galleries,
                  api_name="add_snapshot", api_visibility="private")
    example_btn.click(example_classes, None, slots, api_name="example_classes", api_visibility="private")
    train_btn.click(teach_classes, [seconds, *slots], [report, plot, taught],
                    api_name="teach_classes", concurrency_limit=1)
    try_btn.click(classify_taught, [new_image, taught], [pretrained_label, scratch_label],
                  api_name="classify_taught").success(
        scratch_title, taught, scratch_label, api_name="scratch_title", api_visibility="private",
        show_progress="hidden")


def _build_vit() -> None:
    from apps.cnn import views

    gr.Markdown(VIT_TEXT)
    explainer(views.vit_card_note(_card(spec.VIT_CKPT)))
    with gr.Row():
        with gr.Column(scale=2):
            vit_image = ImageInput(type="filepath", sources=["upload", "webcam", "clipboard"],
                                   label="A piece of clothing", height=260, elem_id="cnn-vit-image")
            vit_btn = gr.Button("Classify with the ViT", variant="primary", elem_id="cnn-vit-btn")
            vit_examples_column = gr.Column()
            vit_examples = [[str(spec.ASSETS / f)] for f, m in spec.EXAMPLES if m == "fashion"]
        with gr.Column(scale=3):
            vit_label = gr.Label(num_top_classes=spec.TOP_K, label=_title(spec.VIT), elem_id="cnn-vit-label")
            vit_text = explainer("")
    with gr.Row():
        rollout = gr.Image(label="Where the class token looked (attention rollout over all layers)",
                           height=280, interactive=False, elem_id="cnn-vit-rollout")
        positions = gr.Image(label="Learned positions: similarity of a few patches to every other",
                             height=280, interactive=False, elem_id="cnn-vit-positions")
    vit_outputs = [vit_label, rollout, positions, vit_text]
    # Wired before the examples: their run event would otherwise take the name "explain_vit".
    gr.on([vit_btn.click, vit_image.upload], explain_vit, vit_image, vit_outputs, api_name="explain_vit")
    with vit_examples_column:
        gr.Examples(vit_examples, inputs=vit_image, outputs=vit_outputs, fn=explain_vit, run_on_click=True,
                    cache_examples=False, label="Examples (click one)", api_name="vit_example",
                    api_visibility="private")
    arrival.show(_vit_arrival, [vit_image, *vit_outputs])
    if spec.DATA_EFFICIENCY.exists():  # written by `python -m apps.cnn.train_vit --data-efficiency`
        efficiency_text = explainer("")
        efficiency = gr.Plot(label="CNN vs ViT by number of training images", elem_id="cnn-vit-efficiency")
        arrival.show(_efficiency_arrival, [efficiency_text, efficiency])


def _title(model: str) -> str:
    return f"Top-5 classes · {spec.MODEL_NAMES[model]}"


def _card(path) -> dict | None:
    from shared.checkpoints import read_card
    from shared.errors import CheckpointError

    try:
        return read_card(path)
    except CheckpointError:
        return None


def _accuracy_note() -> str:
    """Held-out accuracy of the two trained CNNs, read from their cards (never typed by hand)."""
    from apps.cnn import views

    return views.accuracy_note(_card(spec.FASHION_CKPT), _card(spec.DIGITS_CKPT))


# ---------------------------------------------------------------------------------------------
# Handlers (each wrapped by guard: any failure becomes a clear gr.Error)

@guard("Classifying the image")
def classify_image(image, model):
    """The answer only (top-5): the image the model saw comes with the other views (explain_image),
    so this endpoint sends back no file."""
    from apps.cnn import infer

    return infer.classify(image, model).top


@guard("Looking inside the model")
def explain_image(image, model):
    from apps.cnn import infer, views

    return views.explain_outputs(infer.explain(image, model))


@guard("Naming the model")
def answered_by(model):
    return gr.Label(label=_title(model) if model in spec.MODEL_NAMES else "Top-5 classes")


@guard("Classifying the example")
def classify_example(image, model):
    """An example click: the answer (titled with the model that gave it) and every view in one event."""
    return gr.Label(value=classify_image(image, model), label=_title(model)), *explain_image(image, model)


def _classify_arrival():
    image, model = str(spec.DEFAULT_EXAMPLE), spec.DEFAULT_MODEL
    return image, model, *classify_example(image, model)


@guard("Classifying the sketch")
def classify_sketch(sketch):
    from apps.cnn import infer, views

    answer = infer.classify(sketch, "digits")
    return answer.top, views.model_view(answer.view)


@guard("Looking inside the model")
def explain_sketch(sketch):
    from apps.cnn import infer, views

    _, *inside = views.explain_outputs(infer.explain(sketch, "digits"))  # classify_sketch showed the view
    return gr.Label(label=DIGITS_TITLE), *inside


@guard("Training on your classes")
def teach_classes(seconds, *names_and_images, progress=gr.Progress()):
    """A generator, so that Gradio closes it when the user leaves and the training stops (Watched)."""
    from apps.cnn import infer, views
    from shared.watched import Watched

    classes = [(names_and_images[2 * i], [item[0] for item in (names_and_images[2 * i + 1] or [])])
               for i in range(spec.N_CLASS_SLOTS)]
    job = Watched(lambda should_stop, report: infer.teach(classes, seconds, on_progress=report,
                                                          should_stop=should_stop))
    for fraction, text in job.updates():
        progress(fraction, desc=text)
        yield gr.skip(), gr.skip(), gr.skip()
    taught = job.result
    yield views.teach_summary(taught.report), views.comparison_figure(taught.report), taught


@guard("Classifying with your classes")
def classify_taught(image, taught):
    from shared.errors import BadInput

    if taught is None:
        raise BadInput("Nothing taught yet: add your classes above and press 'Train both' first.")
    answer = taught.predict(image)
    return answer.pretrained, answer.scratch


@guard("Naming the answers")
def scratch_title(taught):
    """The from-scratch answer's title says so when that model is no better than guessing."""
    from apps.cnn import views

    near_chance = taught is not None and taught.report.near_chance(taught.report.scratch_accuracy)
    return gr.Label(label=views.scratch_label_title(near_chance))


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
    """The built-in example: a name and 16 Fashion-MNIST test images per class, empty slots after."""
    values = []
    for stem, name in spec.TEACH_EXAMPLE.items():
        values += [name, [(str(p), None) for p in sorted(spec.TEACH_EXAMPLE_DIR.glob(f"{stem}_*.png"))]]
    return values + ["", None] * (spec.N_CLASS_SLOTS - len(spec.TEACH_EXAMPLE))


def _teach_arrival():
    return *example_classes(), TEACH_ARRIVAL


@guard("Looking inside the vision transformer")
def explain_vit(image):
    from apps.cnn import infer, views

    return views.vit_outputs(infer.vit_insight(image))


def _vit_arrival():
    image = str(spec.VIT_DEFAULT_EXAMPLE)
    return image, *explain_vit(image)


def _efficiency_arrival():
    from apps.cnn import infer, views

    measured = infer.data_efficiency()
    return views.data_efficiency_text(measured), views.data_efficiency_figure(measured)


def _warmup():
    from apps.cnn import infer

    infer.load_models()


TAB = Tab(
    name="cnn",
    title="🖼️ CNN · images",
    order=10,
    build=build,
    summary="Three real CNNs (clothes, digits, 1,000 ImageNet classes) and a vision transformer, "
            "Grad-CAM, feature maps, attention, and transfer learning live.",
    checkpoints=spec.CHECKPOINTS,
    warmup=_warmup,
)
