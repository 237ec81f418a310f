"""Speech tab in Chromium: a held-out recording goes in through the *microphone* path.

Chromium's fake capture device plays a WAV file as if it were the microphone, so this exercises
what a learner does: Record -> speak -> Stop; the browser encodes (webm/opus), Gradio uploads,
the server decodes with ffmpeg, and both models answer.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, open_tab
from tests.test_speech import DATA

CLIP = DATA / "yes_b49caed3_nohash_2.flac"  # a test-split speaker: never heard in training


@pytest.fixture
def fake_microphone_wav(tmp_path):
    """The clip at 48 kHz (what a browser microphone records), with a little silence around it."""
    word, rate = sf.read(CLIP, dtype="float32")
    word = torchaudio.functional.resample(torch.from_numpy(word), rate, 48_000).numpy()
    gap = np.zeros(int(0.4 * 48_000), dtype=np.float32)
    path = tmp_path / "fake_mic.wav"
    sf.write(path, np.concatenate([gap, word, gap]), 48_000, subtype="PCM_16")
    return path


def test_microphone_recording_is_recognised(gallery, playwright, fake_microphone_wav, artifacts):
    args = CHROMIUM_ARGS + ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                            f"--use-file-for-fake-audio-capture={fake_microphone_wav}"]
    # A browser of its own: the fake-microphone flags apply per browser process.
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, permissions=["microphone"])
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(gallery)
        page.wait_for_selector("button[role='tab']", timeout=30_000)
        open_tab(page, "Speech commands")
        mic = page.locator("#speech-input")
        mic.locator("button.record-button").click()
        page.wait_for_timeout(2_500)  # the fake device loops the 1.8 s file: at least one full "yes"
        mic.locator("button.stop-button").click()
        # Stopping the recording runs both models; the CNN's label heading shows its answer.
        label = page.locator("#speech-cnn-label .output-class")
        label.wait_for(timeout=120_000)
        page.wait_for_function(
            "() => { const e = document.querySelector('#speech-cnn-label .output-class');"
            " return e && e.textContent.trim().length > 0; }", timeout=120_000)
        # The chained explanation decodes the same recording again and draws what the models heard.
        page.locator("#speech-time-frequency img").first.wait_for(state="visible", timeout=120_000)
        page.screenshot(path=str(artifacts / "speech_microphone.png"), full_page=True)
        assert label.inner_text().strip() == "yes"
        gru = page.locator("#speech-gru-label .output-class").inner_text().strip()
        assert gru in {"yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go", "unknown", "silence"}
        assert not errors, errors
    finally:
        browser.close()


def test_clicking_an_example_loads_and_recognises_it(page):
    open_tab(page, "Speech commands")
    page.get_by_text("“yes”").first.click()
    page.wait_for_function(
        "() => { const e = document.querySelector('#speech-cnn-label .output-class');"
        " return e && e.textContent.trim().length > 0; }", timeout=120_000)
    assert page.locator("#speech-cnn-label .output-class").inner_text().strip() == "yes"
    # The pictures come from the chained explanation, right after the answer.
    for view in ("#speech-waveform img", "#speech-time-frequency img"):
        page.locator(view).first.wait_for(state="visible", timeout=120_000)
    assert page.locator("#speech-heard audio, #speech-heard .waveform-container").count() > 0
    assert page.console_errors == []
