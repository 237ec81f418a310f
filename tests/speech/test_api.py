"""Speech commands through the served API (gradio_client): answer first, the views after, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from apps.speech import infer, scores, spec
from tests.speech.test_infer import YES_CLIP, _write_bad


def test_api_recognize_speech(client):
    from gradio_client import handle_file

    outputs = client.predict(handle_file(str(YES_CLIP)), api_name="/recognize_speech")
    order = scores.answer_order()
    assert len(outputs) == len(order) + 1  # one label per model, then notes: the pictures come from /explain_speech
    assert outputs[0]["label"] == "yes"
    expected = infer.recognize(YES_CLIP, with_attributions=False, models=order)
    for name, label in zip(order, outputs):  # the most accurate model on new voices first
        assert {c["label"] for c in label["confidences"]} <= set(spec.LABELS)
        assert label["label"] == expected.top(name)
    assert "models hear" in outputs[-1] or "disagree" in outputs[-1]


def test_api_explain_speech(client):
    from gradio_client import handle_file
    from PIL import Image

    waveform, time_frequency, heard = client.predict(handle_file(str(YES_CLIP)), api_name="/explain_speech")
    assert Image.open(waveform).size[0] == Image.open(time_frequency).size[0] > 500
    assert Image.open(time_frequency).size[1] > 300
    window, rate = sf.read(heard)
    assert rate == spec.SAMPLE_RATE and window.shape[0] == spec.CLIP_SAMPLES
    expected = infer.recognize(YES_CLIP, with_attributions=False).window
    np.testing.assert_allclose(window, expected, atol=2e-4)


def test_api_bad_input_then_keeps_serving(client, tmp_path):
    from gradio_client import handle_file

    bad = _write_bad(tmp_path, "all_zeros")
    for endpoint in ("/recognize_speech", "/explain_speech"):
        with pytest.raises(Exception, match="silent"):
            client.predict(handle_file(str(bad)), api_name=endpoint)
    outputs = client.predict(handle_file(str(spec.ASSETS_DIR / "stop_9b3ea809_nohash_0.flac")), api_name="/recognize_speech")
    assert outputs[0]["label"] in spec.LABELS
