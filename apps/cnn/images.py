"""Reading user images safely, and bringing them to the look of each model's training data.

Everything here works on PIL images / numpy arrays and raises BadInput with a message the user
can act on. No Gradio, no torch: tests and notebooks can use it directly.

    read_image(value)      upload path, PIL image, numpy array or sketchpad dict -> RGB PIL image
    to_fashion(img)        -> 28x28 float [0,1]: grayscale, object centred on a dark background
    to_mnist_digit(img)    -> 28x28 float [0,1]: MNIST recipe (bbox, 20x20, centre of mass)
    to_imagenet(img)       -> 224x224x3 uint8: centre crop 224/256 of the short side, bicubic
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter, ImageOps, UnidentifiedImageError

from shared.errors import BadInput
from shared.images import DECODE_SIDE, MAX_PIXELS, check_pixels

MIN_SIDE = 8                     # smaller images carry no usable detail
WORK_SIDE = 512                  # big photos are shrunk to this before preprocessing (speed)


def read_image(value) -> Image.Image:
    """Any image input the tab accepts -> an RGB PIL image (first frame, EXIF-rotated), at most
    DECODE_SIDE pixels on its longer side.

    The size is checked from the header before decoding; a JPEG is decoded at a reduced scale and
    anything larger is reduced right after decoding, so one full-size copy exists at most, briefly.
    Transparent pixels are laid on white (a transparent PNG of a black drawing reads as ink on
    paper); CMYK, palette, 16-bit and 1-bit images are converted. Raises BadInput otherwise.
    """
    if value is None:
        raise BadInput("No image given: upload a picture, take a photo, or draw on the sketchpad.")
    if isinstance(value, dict):  # gr.Sketchpad / ImageEditor: {"background", "layers", "composite"}
        value = value.get("composite")
        if value is None:
            raise BadInput("The sketch is empty: draw a digit first.")
    if isinstance(value, (str, Path)):
        check_pixels(value)
        img = _open_file(Path(value))
    elif isinstance(value, Image.Image):
        img = value
    elif isinstance(value, np.ndarray):
        img = _from_array(value)
    else:
        raise BadInput(f"Expected an image, got {type(value).__name__}.")

    w, h = img.size
    if w * h > MAX_PIXELS:
        raise BadInput(f"The image is {w}×{h} pixels ({w * h / 1e6:.0f} megapixels); "
                       f"the limit is {MAX_PIXELS / 1e6:.0f} megapixels. Please resize it.")
    if min(w, h) < MIN_SIDE:
        raise BadInput(f"The image is only {w}×{h} pixels; it needs at least {MIN_SIDE}×{MIN_SIDE}.")
    try:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)  # animated GIF/WebP: classify the first frame
        if max(w, h) > DECODE_SIDE:
            img.draft("RGB", (DECODE_SIDE, DECODE_SIDE))  # JPEG: decode at 1/2, 1/4 or 1/8 scale
        img.load()
        if max(img.size) > DECODE_SIDE:
            if img.mode in ("P", "1"):  # resized by nearest neighbour otherwise: convert first (≤ 4 B/pixel)
                img = img.convert("RGBA" if "transparency" in img.info else "RGB")
            img = img.copy() if img is value else img  # never resize the caller's image in place
            img.thumbnail((DECODE_SIDE, DECODE_SIDE), Image.Resampling.LANCZOS)
        img = ImageOps.exif_transpose(img)
        return _to_rgb(img)
    except BadInput:
        raise
    except (OSError, SyntaxError, ValueError) as e:  # truncated/corrupt data surfaces only on decode
        raise BadInput(f"The image file is damaged or truncated and could not be decoded ({e}).") from e


def _open_file(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # PIL warns (and above 2x its limit refuses) on decompression bombs; check_pixels refused ours.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except UnidentifiedImageError as e:
        raise BadInput(f"'{path.name}' is not an image that can be read (use PNG, JPEG, WebP, GIF or BMP).") from e
    except OSError as e:
        raise BadInput(f"The file could not be read as an image ({e}).") from e


def _from_array(array: np.ndarray) -> Image.Image:
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise BadInput(f"Expected an image array of shape (H, W), (H, W, 3) or (H, W, 4); got {array.shape}.")
    if array.size == 0:
        raise BadInput("The image is empty (0 pixels).")
    if array.dtype != np.uint8:
        array = np.asarray(array, dtype=np.float64)
        if not np.isfinite(array).all():
            raise BadInput("The image array contains NaN or infinite values.")
        scale = 255.0 if array.max() <= 1.0 else 1.0  # float images in [0, 1]
        array = np.clip(array * scale, 0, 255).astype(np.uint8)
    return Image.fromarray(array)


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):  # 16/32-bit grayscale: rescale, don't clip
        array = np.asarray(img, dtype=np.float64)
        span = array.max() - array.min()
        array = (array - array.min()) / span * 255 if span > 0 else np.zeros_like(array)
        img = Image.fromarray(array.astype(np.uint8))
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img.convert("RGB")


def shrink(img: Image.Image, side: int = WORK_SIDE) -> Image.Image:
    """Downscale so the longer side is at most `side` (keeps aspect; never upscales)."""
    if max(img.size) <= side:
        return img
    img = img.copy()
    img.thumbnail((side, side), Image.Resampling.LANCZOS)
    return img


# ---------------------------------------------------------------------------------------------
# Bringing images to the training data's look

def _gray_on_dark(img: Image.Image) -> tuple[np.ndarray, bool]:
    """Grayscale in [0, 1] with the background pulled to 0 and the object bright.

    The background is the median of the outer frame; a light background (paper, studio shot)
    is inverted, because both Fashion-MNIST and MNIST show light objects on black.
    """
    gray = np.asarray(img.convert("L"), dtype=np.float64) / 255.0
    h, w = gray.shape
    m = max(1, min(h, w) // 20)
    border = np.concatenate([gray[:m].ravel(), gray[-m:].ravel(), gray[:, :m].ravel(), gray[:, -m:].ravel()])
    background = float(np.median(border))
    inverted = background > 0.5
    if inverted:
        gray, background = 1.0 - gray, 1.0 - background
    gray = np.clip((gray - background) / max(1.0 - background, 1e-6), 0.0, 1.0)
    return gray, inverted


def _bounding_box(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    rows, cols = np.any(mask, axis=1), np.any(mask, axis=0)
    if not rows.any():
        return None
    top, bottom = np.where(rows)[0][[0, -1]]
    left, right = np.where(cols)[0][[0, -1]]
    return int(top), int(bottom) + 1, int(left), int(right) + 1


def _fit_into(patch: np.ndarray, longest: int) -> np.ndarray:
    """Resize a float patch so its longer side is `longest` pixels, keeping the aspect ratio."""
    h, w = patch.shape
    scale = longest / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    resized = Image.fromarray((patch * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    return np.asarray(resized, dtype=np.float64) / 255.0


def to_fashion(img: Image.Image) -> np.ndarray:
    """A product photo -> Fashion-MNIST look: 28x28 gray, object light on black, filling the frame.

    Fashion-MNIST was made by trimming the product, scaling its longer side to 28 px, centring,
    and negating (so a white studio background becomes black). We do the same.
    """
    gray, _ = _gray_on_dark(shrink(img))
    box = _bounding_box(gray > 0.12)
    if box is not None:
        top, bottom, left, right = box
        gray = gray[top:bottom, left:right]
    patch = _fit_into(gray, 28)
    out = np.zeros((28, 28))
    h, w = patch.shape
    y0, x0 = (28 - h) // 2, (28 - w) // 2
    out[y0:y0 + h, x0:x0 + w] = patch
    return out


def to_mnist_digit(img: Image.Image) -> np.ndarray:
    """A drawn or photographed digit -> MNIST look (the recipe used to build MNIST).

    Ink made white on black (inverted if drawn dark on light), cropped to the ink's bounding box,
    thin mouse strokes thickened to MNIST's pen width, scaled so the longer side is 20 px keeping
    the aspect ratio, then placed in 28x28 with its centre of mass at the centre.
    """
    gray, _ = _gray_on_dark(shrink(img, 280))
    if gray.max() < 0.2:
        raise BadInput("No digit found: the image is blank. Draw or upload a single digit.")
    gray = gray / gray.max()
    box = _bounding_box(gray > 0.3)
    top, bottom, left, right = box
    ink = gray[top:bottom, left:right]
    ink = _thicken(ink, target_width=0.11 * max(ink.shape))
    ink = np.pad(ink, 2)
    ink_box = _bounding_box(ink > 0.3)
    ink = ink[ink_box[0]:ink_box[1], ink_box[2]:ink_box[3]]
    patch = _fit_into(ink, 20)
    # Centre of mass of the 20x20 patch goes to pixel (14, 14), as in MNIST.
    total = patch.sum()
    ys, xs = np.indices(patch.shape)
    cy, cx = (ys * patch).sum() / total, (xs * patch).sum() / total
    y0 = int(np.clip(round(14 - cy), 0, 28 - patch.shape[0]))
    x0 = int(np.clip(round(14 - cx), 0, 28 - patch.shape[1]))
    out = np.zeros((28, 28))
    out[y0:y0 + patch.shape[0], x0:x0 + patch.shape[1]] = patch
    return out


def _thicken(ink: np.ndarray, target_width: float) -> np.ndarray:
    """Dilate thin strokes up to `target_width` pixels (a 3 px mouse line on a big canvas would
    shrink to a faint hairline at 20x20, unlike any MNIST pen stroke)."""
    mask = ink > 0.3
    area = mask.sum()
    interior = mask[1:-1, 1:-1] & mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    perimeter = max(area - interior.sum(), 1)
    width = 2.0 * area / perimeter  # a stroke of width w and length L: area wL, perimeter ~2L
    grow = int(round(target_width - width))
    if grow < 2:
        return ink
    size = min(grow | 1, 15)  # odd filter size; bounded for speed
    image = Image.fromarray((ink * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(size))
    return np.asarray(image.filter(ImageFilter.GaussianBlur(1)), dtype=np.float64) / 255.0


IMAGENET_SIZE = 224
IMAGENET_CROP = 224 / 256   # EfficientNet's eval crop: centre crop of 224/(224+32) of the short side


def to_imagenet(img: Image.Image) -> np.ndarray:
    """Centre crop (224/256 of the short side), bicubic resize to 224x224: uint8 (224, 224, 3)."""
    img = shrink(img, 1024)
    w, h = img.size
    side = min(w, h) * IMAGENET_CROP
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)
    img = img.resize((IMAGENET_SIZE, IMAGENET_SIZE), Image.Resampling.BICUBIC, box=box)
    return np.array(img, dtype=np.uint8)  # a writable copy (torch.from_numpy warns on read-only)
