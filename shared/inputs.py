"""Gradio input components that check an upload's size before Gradio decodes it.

Gradio preprocesses inputs before any handler (and its `guard`) runs: gr.Image converts a
non-RGB upload to RGB at full size, and gr.Sketchpad decodes, flattens and converts every layer.
A 48 KB PNG claiming 7000×7000 pixels cost 1.7 GB that way. These subclasses read the headers
first (shared.images) and refuse in one clear sentence; the browser front end is Gradio's own.
Only tab.py files import this module.
"""

from __future__ import annotations

import collections

import gradio as gr
from gradio.components.base import server

from shared.errors import BadInput
from shared.images import MAX_PIXELS, MAX_SKETCH_LAYERS, MAX_SKETCH_PIXELS, check_pixels
from shared.ui import user_error


def _clear_error(exc: BaseException, what: str) -> gr.Error:
    if isinstance(exc, BadInput):
        return user_error(str(exc))
    return user_error(f"{what} could not be read as an image ({type(exc).__name__}).")


class ImageInput(gr.Image):
    """gr.Image that checks the upload's header before Gradio opens it, and passes the file on
    undecoded (image_mode=None: the handler's reader converts it, once and reduced)."""

    is_template = True  # tells Gradio to use gr.Image's front end

    def __init__(self, *args, image_mode=None, **kwargs):
        super().__init__(*args, image_mode=image_mode, **kwargs)

    def get_config(self, cls=None):  # the front end's props are gr.Image's __init__ parameters
        return super().get_config(cls or gr.Image)

    def preprocess(self, payload):
        try:
            if payload is not None and getattr(payload, "path", None):
                check_pixels(payload.path, MAX_PIXELS)
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001 - one clear sentence instead of PIL's wording
            raise _clear_error(e, "The upload") from None


class SketchInput(gr.Sketchpad):
    """gr.Sketchpad whose layers are bounded in number and size before Gradio decodes them, and
    whose blob store (layers the browser sends ahead of the event) cannot grow without end."""

    is_template = True  # tells Gradio to use gr.Sketchpad's front end
    MAX_BLOB_BYTES = 2 * 2**20     # one layer as the browser sends it (a 280×280 PNG is ~10 KB)
    MAX_PENDING_BYTES = 64 * 2**20  # sketches sent but not (yet) submitted: oldest dropped first

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.blob_storage = collections.OrderedDict()

    def get_block_name(self) -> str:  # gr.Sketchpad is itself a template of ImageEditor's front end
        return "imageeditor"

    get_block_class = get_block_name

    def get_config(self, cls=None):  # the front end's props are gr.Sketchpad's __init__ parameters
        return super().get_config(cls or gr.Sketchpad)

    def preprocess(self, payload):
        try:
            if payload is not None:
                if payload.id is not None:
                    cached = self.blob_storage.get(payload.id)
                    images = [cached.background, cached.composite, *cached.layers] if cached else []
                else:
                    images = [payload.background, payload.composite, *payload.layers]
                if len(images) > MAX_SKETCH_LAYERS + 2:
                    raise BadInput(f"The sketch has {len(images) - 2} layers; the limit is {MAX_SKETCH_LAYERS}.")
                for image in images:
                    source = getattr(image, "path", image)
                    if source:
                        check_pixels(source, MAX_SKETCH_PIXELS, what="The sketch")
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception as e:  # noqa: BLE001
            raise _clear_error(e, "The sketch") from None

    @server
    def accept_blobs(self, data):
        # Upstream (gradio/components/image_editor.py ImageEditor.accept_blobs) extends the layer
        # list to any index it is sent ([None] * 10**9) and keeps every sketch id forever.
        index = data.data.get("index")
        if index not in (None, "", "null") and not (str(index).isdigit() and int(index) < MAX_SKETCH_LAYERS):
            raise user_error(f"A sketch has at most {MAX_SKETCH_LAYERS} layers.")
        if not data.files or len(data.files[0][1]) > self.MAX_BLOB_BYTES:
            raise user_error(f"A sketch layer must be an image of at most {self.MAX_BLOB_BYTES // 2**20} MB.")
        super().accept_blobs(data)
        self.blob_storage.move_to_end(data.data["id"])
        while len(self.blob_storage) > 1 and _pending_bytes(self.blob_storage) > self.MAX_PENDING_BYTES:
            self.blob_storage.popitem(last=False)


def _pending_bytes(storage) -> int:
    return sum(len(b) for blobs in storage.values()
               for b in (blobs.background, blobs.composite, *blobs.layers) if b)
