"""How many pixels an uploaded image may decode to, checked from its header before decoding.

A 48 KB PNG can claim 7000×7000 pixels: decoding it costs 150-200 MB, and every full-size copy
(mode conversion, compositing on white) as much again. So sizes are read from the header first
(PIL opens lazily), and what is decoded is reduced at once to the most any model here reads.
No Gradio: infer.py, tab.py components and tests all use it.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from shared.errors import BadInput

MAX_PIXELS = 50_000_000          # one upload: a 50-megapixel phone photo; larger is refused undecoded
MAX_REQUEST_PIXELS = 400_000_000  # all the images of one request together (teaching takes up to 100)
DECODE_SIDE = 1024               # decoded images are reduced to this longer side: the most any model reads
MAX_SKETCH_PIXELS = 4_000_000    # one sketch layer: the canvas is 280×280 (any screen's pixel ratio fits)
MAX_SKETCH_LAYERS = 8            # a sketch from the browser has one drawing layer


def header_size(source: str | Path | bytes, what: str = "The image") -> tuple[int, int]:
    """(width, height) from the file's header, without decoding; BadInput when it is no image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # we apply our own limit
            with Image.open(io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else source) as img:
                return img.size
    except Image.DecompressionBombError:
        raise BadInput(f"{what} claims more than {MAX_PIXELS / 1e6:.0f} megapixels; that is the limit.") from None
    except FileNotFoundError:
        raise BadInput("The uploaded file could not be found on the server; please upload it again.") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        name = f"'{Path(source).name}'" if isinstance(source, (str, Path)) else "The upload"
        raise BadInput(f"{name} is not an image that can be read (use PNG, JPEG, WebP, GIF or BMP).") from None


def check_pixels(source: str | Path | bytes, limit: int = MAX_PIXELS, what: str = "The image") -> int:
    """The pixel count its header claims, or BadInput when that is over `limit`."""
    w, h = header_size(source, what)
    if w * h > limit:
        raise BadInput(f"{what} is {w}×{h} pixels ({w * h / 1e6:.1f} megapixels); "
                       f"the limit is {limit / 1e6:g} megapixels. Please resize it.")
    return w * h


def check_total_pixels(sources, limit: int = MAX_REQUEST_PIXELS, each: int = MAX_PIXELS) -> int:
    """Every image checked on its own, then all together, before any of them is decoded."""
    total = sum(check_pixels(s, each) for s in sources)
    if total > limit:
        raise BadInput(f"These images add up to {total / 1e6:.0f} megapixels; the limit for one request is "
                       f"{limit / 1e6:.0f}. Use fewer or smaller images.")
    return total
