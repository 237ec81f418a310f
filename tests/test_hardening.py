"""Hardening that holds for the whole gallery: upload limits, error style, a healthy server after faults."""

from __future__ import annotations

import urllib.error
import urllib.request
import uuid

import pytest


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

    limit_mb = int(app.MAX_FILE_SIZE.rstrip("mb"))
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
