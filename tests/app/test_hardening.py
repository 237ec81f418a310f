"""Hardening that holds for the whole gallery: upload limits, error style, a healthy server after faults."""

from __future__ import annotations

import os
import re
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from shared.checkpoints import sha256_of
from tests.concurrency import run_together


def _upload(url: str, payload: bytes, filename: str = "big.csv") -> tuple[int, str]:
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{filename}\"\r\n"
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + payload + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(f"{url}/gradio_api/upload", data=body, method="POST",
                                     headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_uploads_over_the_limit_are_refused_and_small_ones_accepted(gallery, client):
    import app

    limit_mb = app.MAX_FILE_SIZE // 2**20
    status, text = _upload(gallery, b"x" * ((limit_mb + 1) * 1024 * 1024))
    assert status == 413, (status, text[:300])
    assert "exceed" in text.lower() or "size" in text.lower()
    status, _ = _upload(gallery, b"date,value\n2020-01-01,1\n", filename="small.csv")
    assert status == 200
    assert client.predict(api_name="/ping") == "ok"


@pytest.mark.parametrize("name", ["../../etc/passwd", "a" * 300 + ".csv", "bad\x00name.csv", "<script>.csv"])
def test_hostile_file_names_do_not_escape_or_crash(gallery, client, name):
    status, text = _upload(gallery, b"date,value\n", filename=name)
    assert status in (200, 400, 422), (status, text[:300])
    if status == 200:
        assert "/etc/passwd" not in text and "etc/passwd" != text.strip('[]"')
    assert client.predict(api_name="/ping") == "ok"


def test_guard_turns_failures_into_one_clear_message():
    import gradio as gr

    from shared.errors import BadInput
    from shared.ui import guard

    @guard("Doing the thing")
    def bad_input():
        raise BadInput("Please upload a CSV file.")

    @guard("Doing the thing")
    def crash():
        raise KeyError("boom")

    @guard("Streaming")
    def stream():
        yield 1
        raise RuntimeError("mid-stream")

    with pytest.raises(gr.Error) as info:
        bad_input()
    assert info.value.message == "Please upload a CSV file."
    with pytest.raises(gr.Error) as info:
        crash()
    assert info.value.message.startswith("Doing the thing failed unexpectedly (KeyError")
    generator = stream()
    assert next(generator) == 1
    with pytest.raises(gr.Error) as info:
        next(generator)
    assert "Streaming failed unexpectedly" in info.value.message


def _comparable(result):
    """An API result with each downloaded file replaced by a hash of its bytes (paths differ per
    call) and measured times ("CNN 13 ms") masked."""
    if isinstance(result, str) and os.path.isfile(result):
        return sha256_of(Path(result))
    if isinstance(result, str):
        return re.sub(r"\d+(\.\d+)? ms\b", "… ms", result)
    if isinstance(result, (list, tuple)):
        return [_comparable(r) for r in result]
    if isinstance(result, dict):
        return {k: _comparable(v) for k, v in result.items()}
    return result


def test_a_room_of_users_gets_what_one_user_gets(gallery, client):
    """Several users at once, on the answers and the views that hook into or differentiate through
    the shared models: every request succeeds and returns exactly what it returns to a lone user."""
    from gradio_client import Client

    from tests.benchmarks.endpoints import ENDPOINTS, EXPLANATIONS, api_name

    calls = {**ENDPOINTS, **EXPLANATIONS}
    names = ["/classify_image (imagenet)", "/explain_image (imagenet)", "/classify_sentiment",
             "/explain_sentiment", "/recognize_speech", "/explain_speech", "/generate_text", "/explain_generation"]
    alone = {name: _comparable(client.predict(*calls[name](), api_name=api_name(name))) for name in names}

    def user(offset: int):
        own = Client(gallery, verbose=False, httpx_kwargs={"timeout": 120})
        order = names[offset:] + names[:offset]  # each user starts somewhere else
        return {name: _comparable(own.predict(*calls[name](), api_name=api_name(name))) for name in order}

    together = run_together({f"user {i}": lambda i=i: user(3 * i) for i in range(3)}, rounds=1)
    for results in together.values():
        assert not isinstance(results[0], Exception), results[0]
        assert results[0] == alone


@pytest.mark.parametrize("kind", ["image", "sound"])
def test_a_cached_output_being_downloaded_survives_the_same_output_again(tmp_path, kind):
    """Two requests with the same output picture at once: the second write must not truncate the
    file under the first one's download (with Gradio's in-place write, that download read 0 bytes)."""
    import numpy as np
    from gradio import processing_utils

    import app  # noqa: F401 - installs the atomic cache writes

    rng = np.random.default_rng(0)
    if kind == "image":
        pixels = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
        save = lambda: processing_utils.save_img_array_to_cache(pixels, str(tmp_path))  # noqa: E731
    else:
        samples = (rng.standard_normal(16000) * 3000).astype(np.int16)
        save = lambda: processing_utils.save_audio_to_cache(samples, 16000, "wav", str(tmp_path))  # noqa: E731
    first = save()
    size = Path(first).stat().st_size
    with open(first, "rb") as download:  # the first user's browser, not yet read
        assert save() == first  # same content, same cached name
        # The second write made a new file and renamed it into place: the open download still
        # holds the old, complete one, which was never truncated under it.
        assert os.fstat(download.fileno()).st_ino != os.stat(first).st_ino
        assert len(download.read()) == size
    assert Path(first).stat().st_size == size
    assert [p.name for p in tmp_path.iterdir()] == [Path(first).parent.name]  # no scratch folder left
