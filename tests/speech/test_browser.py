"""Speech tab in Chromium: what a learner sees on arrival, an example click, the microphone, a phone.

Chromium's fake capture device plays a WAV file as if it were the microphone, so the microphone test
exercises what a learner does: Record -> speak -> Stop; the browser encodes (webm/opus), Gradio
uploads, the server decodes with ffmpeg, and both models answer.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch
import torchaudio

from apps.speech import spec
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, open_tab

CLIP = spec.DEFAULT_CLIP  # a test-split speaker: never heard in training


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
        page.wait_for_selector("button[role='tab']", timeout=120_000)
        open_tab(page, "Speech commands")
        # The tab opens with the example's answer and pictures; record once they have landed, so
        # the example does not replace the recording.
        page.locator("#speech-time-frequency img").first.wait_for(state="visible", timeout=240_000)
        page.wait_for_function("() => (document.querySelector('#speech-notes') || {}).innerText?.trim()",
                               timeout=60_000)
        mic = page.locator("#speech-input")
        mic.locator("button[aria-label='Clear']").first.click()  # put the example away, as a learner would
        mic.locator("button.record-button").click()
        page.wait_for_timeout(2_500)  # the fake device loops the 1.8 s file: at least one full "yes"
        mic.locator("button.stop-button").click()
        # Stopping the recording runs both models; the notes say how long the recording was
        # (the arrival example's notes say nothing about length).
        page.wait_for_function("() => (document.querySelector('#speech-notes') || {}).innerText"
                               "?.includes('s long')", timeout=120_000)
        label = page.locator("#speech-cnn-label .output-class")
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
    """Another word than the arrival's "yes": both models answer it (every shipped clip is one they get right)."""
    open_tab(page, "Speech commands")
    page.get_by_text("“stop”").first.click()
    page.wait_for_function(
        "() => { const e = document.querySelector('#speech-cnn-label .output-class');"
        " return e && e.textContent.trim() === 'stop'; }", timeout=120_000)
    assert page.locator("#speech-gru-label .output-class").inner_text().strip() == "stop"
    # The pictures come from the chained explanation, right after the answer.
    for view in ("#speech-waveform img", "#speech-time-frequency img"):
        _wait_visible(page, view)
    assert page.locator("#speech-heard audio, #speech-heard .waveform-container").count() > 0
    assert page.console_errors == []


def _wait_visible(page, selector: str) -> None:
    """Gradio's images load lazily: scroll each into view, then wait for it."""
    page.locator(selector).first.scroll_into_view_if_needed(timeout=120_000)
    page.locator(selector).first.wait_for(state="visible", timeout=120_000)


def _wait_for_label(page, elem_id: str) -> str:
    page.wait_for_function(
        f"() => {{ const e = document.querySelector('#{elem_id} .output-class');"
        " return e && e.textContent.trim().length > 0; }", timeout=120_000)
    return page.locator(f"#{elem_id} .output-class").inner_text().strip()


def test_arrival_shows_the_example_answer_and_pictures_before_any_click(page):
    """Opening the tab fills the default clip's answers and pictures; the Whisper view has its
    transcription and cross-attention too, before anyone clicks."""
    open_tab(page, "Speech commands")
    assert _wait_for_label(page, "speech-gru-label") == "yes"
    assert _wait_for_label(page, "speech-cnn-label") == "yes"
    for view in ("#speech-waveform img", "#speech-time-frequency img"):
        _wait_visible(page, view)
    assert "models hear" in page.locator("#speech-notes").inner_text()
    assert "on new voices" in page.locator("#speech-comparison").inner_text()
    page.get_by_role("tab", name="Transcribe anything · Whisper").click()
    page.wait_for_function("() => (document.querySelector('#whisper-text textarea') || {}).value",
                           timeout=120_000)
    assert "yes" in page.locator("#whisper-text textarea").input_value().lower()
    _wait_visible(page, "#whisper-attention img")
    assert page.console_errors == []


def test_deep_link_opens_the_whisper_view(browser, gallery):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(gallery + "/?tab=speech&view=whisper")
        page.locator("#whisper-input").wait_for(state="visible", timeout=60_000)
        assert not page.locator("#speech-input").is_visible()
    finally:
        context.close()


def test_phone_width_has_no_sideways_scroll(browser, gallery):
    """At 390 px the inputs, labels, table and pictures fit the screen (pictures scale down)."""
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        page = context.new_page()
        page.goto(gallery + "/?tab=speech")
        _wait_for_label(page, "speech-cnn-label")  # the arrival's answer, then its pictures
        for view in ("#speech-waveform img", "#speech-time-frequency img"):
            _wait_visible(page, view)
        widths = page.evaluate("""() => ['#speech-input', '#speech-gru-label', '#speech-comparison',
            '#speech-time-frequency img', '#speech-waveform img'].map(s => {
                const r = document.querySelector(s).getBoundingClientRect(); return [s, r.left, r.right]; })""")
        for selector, left, right in widths:
            assert left >= -1 and right <= 391, (selector, left, right)
    finally:
        context.close()
