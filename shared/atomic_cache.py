"""Gradio's output-file cache, made safe for a room of users clicking the same example.

Gradio saves each output image or sound under a name made from its content, and writes it in place
(truncate, then write). When two requests produce the same picture at the same moment, one user's
browser can be downloading that file just as the other request truncates it: the download ends
early ("received 0 bytes, expected 949") and the picture is broken. Measured here: 1 and 2 of 256
requests in two runs of 8 clients calling the same explanations.

`install()` wraps the two savers the app's outputs go through: each file is written under a private
temporary folder next to its real place, then renamed over it (`os.replace`, atomic on one file
system). A reader then gets the old complete file or the new complete one, never a half-written one.
Gradio's own `save_file_to_cache` (uploads, file outputs) already writes this way.
"""

from __future__ import annotations

import functools
import inspect
import os
import shutil
import tempfile
from pathlib import Path


def _placed_atomically(save):
    """Wrap a Gradio saver `save(..., cache_dir, ...) -> path under cache_dir` to write atomically."""
    signature = inspect.signature(save)

    @functools.wraps(save)
    def wrapper(*args, **kwargs) -> str:
        call = signature.bind(*args, **kwargs)
        cache_dir = str(call.arguments["cache_dir"])
        os.makedirs(cache_dir, exist_ok=True)
        scratch = tempfile.mkdtemp(prefix=".writing-", dir=cache_dir)
        try:
            call.arguments["cache_dir"] = scratch
            written = Path(save(*call.args, **call.kwargs))
            try:
                target = Path(cache_dir) / written.relative_to(Path(scratch).resolve())
            except ValueError:  # a Gradio version that saved elsewhere: its file stays where it is
                return str(written)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(written, target)
            return str(target.resolve())
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    wrapper.atomic = True
    return wrapper


def install() -> None:
    """Make Gradio's image and audio cache writes atomic (idempotent)."""
    from gradio import processing_utils

    for name in ("save_pil_to_cache", "save_audio_to_cache"):
        save = getattr(processing_utils, name)
        if not getattr(save, "atomic", False):
            setattr(processing_utils, name, _placed_atomically(save))
