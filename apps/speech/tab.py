"""🎙️ Speech commands: say one of ten words; a CNN and a GRU each say what they heard, and why."""

from __future__ import annotations

import json
from pathlib import Path

import gradio as gr

from apps import Tab
from shared.checkpoints import WEIGHTS_DIR, CheckpointError, read_card
from shared.ui import explainer, guard, model_card_accordion

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
(integrated gradients) light up the time-frequency cells that pushed each model towards its answer:
when a model is right they usually sit on the word's vowel and its formant sweeps rather than on
the silence around it; when it is wrong, they show what misled it."""


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
    rows = ["| model | params | size | accuracy on held-out speakers (test) | (val) | CPU latency, 1 thread |",
            "|---|---|---|---|---|---|"]
    for name, card in cards.items():
        m = card.get("metrics", {})
        acc = m.get("test_acc_heldout_speakers")
        val = m.get("val_acc_heldout_speakers")
        rows.append(f"| {name} | {card.get('params', 0):,} | {card.get('size_bytes', 0) / 1024:.0f} KB | "
                    f"{acc:.1%} | {val:.1%} | {m.get('latency_ms_cpu_1thread', float('nan')):.0f} ms |"
                    if acc is not None and val is not None else f"| {name} | (no model card) | | | | |")
    targets = [f"{name}: {card['target']}" for name, card in cards.items() if card.get("target")]
    if targets:  # say plainly where a model falls short of what was asked
        rows.append("\n" + " · ".join(targets))
    return "\n".join(rows)


# ---------------------------------------------------------------- figures

def _waveform_figure(result):
    import numpy as np

    from shared.plots import line_plot

    wave = result.wave
    step = max(1, len(wave) // 4000)  # at most ~4000 points: a 30 s clip still draws fast
    times = np.arange(0, len(wave), step) / SAMPLE_RATE
    fig = line_plot({"waveform": wave[::step]}, x=times, title="Waveform (16 kHz mono)",
                    x_title="time (s)", y_title="amplitude", width=7, height=2.4)
    ax = fig.axes[0]
    start = result.window_start / SAMPLE_RATE
    ax.axvspan(max(start, 0), min(start + 1.0, len(wave) / SAMPLE_RATE), color="tab:orange", alpha=0.25,
               label="the second the models heard")
    ax.legend(fontsize=8, loc="upper right")
    return fig


def _spectrogram_figure(features, attribution=None, title: str = ""):
    """Log-mel spectrogram (low frequencies at the bottom); attribution drawn over it in colour."""
    import numpy as np

    from apps.speech.data import HOP_LENGTH, mel_band_edges_hz
    from shared.plots import heatmap

    flipped = features[::-1]
    fig = heatmap(flipped, title=title, x_title="time in the window (s)", y_title="frequency (Hz)",
                  cmap="gray" if attribution is not None else "magma", colorbar=attribution is None,
                  width=7, height=2.8)
    ax = fig.axes[0]
    if attribution is not None:
        attr = attribution[::-1] / (attribution.max() + 1e-12)
        overlay = ax.imshow(attr, aspect="auto", cmap="inferno", alpha=np.clip(attr * 1.5, 0, 0.9),
                            interpolation="bilinear", vmin=0, vmax=1)
        fig.colorbar(overlay, ax=ax, shrink=0.85, label="evidence")
    n_frames = features.shape[1]
    ticks = np.arange(0, n_frames, 20)
    ax.set_xticks(ticks, [f"{t * HOP_LENGTH / SAMPLE_RATE:.1f}" for t in ticks])
    centres = mel_band_edges_hz()[::-1]
    rows = np.arange(0, len(centres), 8)
    ax.set_yticks(rows, [f"{centres[r]:.0f}" for r in rows])
    return fig


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
    from apps.speech import infer

    result = infer.recognize(audio_path)
    cnn, gru = result.predictions["cnn"], result.predictions["gru"]
    return (
        cnn, gru,
        _waveform_figure(result),
        _spectrogram_figure(result.features, title="Log-mel spectrogram of the second the models heard"),
        _spectrogram_figure(result.features, result.attributions["cnn"],
                            title=f"CNN: evidence for '{result.top('cnn')}'"),
        _spectrogram_figure(result.features, result.attributions["gru"],
                            title=f"GRU: evidence for '{result.top('gru')}'"),
        (SAMPLE_RATE, (result.window * 32767).astype("int16")),
        _notes_markdown(result),
    )


def warmup():
    from apps.speech import infer

    infer.load_models()


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
                cnn_label = gr.Label(num_top_classes=5, label=MODEL_ROLES["CNN"],
                                     elem_id="speech-cnn-label")
                gru_label = gr.Label(num_top_classes=5, label=MODEL_ROLES["GRU"],
                                     elem_id="speech-gru-label")
            notes = gr.Markdown(elem_id="speech-notes")
            gr.Markdown(_comparison_markdown(cards))
    examples = _example_files()
    explainer(WHAT_YOU_SEE)
    waveform = gr.Plot(label="Waveform", show_label=False)
    heard = gr.Audio(label="The second the models heard", interactive=False)
    spectrogram = gr.Plot(label="Log-mel spectrogram", show_label=False)
    with gr.Row():
        cnn_map = gr.Plot(label="CNN attribution", show_label=False)
        gru_map = gr.Plot(label="GRU attribution", show_label=False)
    outputs = [cnn_label, gru_label, waveform, spectrogram, cnn_map, gru_map, heard, notes]
    gr.on([button.click, audio.stop_recording, audio.upload], recognize_speech, inputs=audio, outputs=outputs,
          api_name="recognize_speech",
          api_description="Recognise a spoken command in an audio file (any format/rate/channels, ≤ 30 s). "
                          "Returns the CNN's label over yes, no, up, down, left, right, on, off, stop, go, "
                          "unknown, silence; then the GRU's; then waveform, spectrogram and attribution plots, "
                          "the one-second window heard, and notes.")
    if examples:
        # A list of labels that loads its clip when picked. gr.Examples would run ffprobe on every
        # clip while the app starts (1.4 s for 12 clips); not cached, so no stale outputs either.
        clips = list(examples)
        picker = gr.Dataset(components=["textbox"], samples=[[f"“{label}”"] for label in examples.values()],
                            type="index", samples_per_page=12,
                            label="Held-out real voices (Speech Commands, CC BY 4.0): click one")
        picker.click(lambda index: clips[index], picker, audio, api_name="speech_example",
                     api_visibility="private", queue=False).then(
            recognize_speech, audio, outputs, api_name="speech_example_run", api_visibility="private")
    model_card_accordion(CHECKPOINTS)
    gr.Markdown("Data: Speech Commands v0.02 (Warden 2018), CC BY 4.0. The examples are clips of speakers "
                "held out from training. The GRU also trained on 1,320 synthetic clips (espeak-ng and flite voices); "
                "both models are validated and tested on real, held-out speakers only.", elem_classes=["explainer"])


TAB = Tab(name="speech", title="🎙️ Speech commands", order=40, build=build,
          summary="Keyword spotting on real voices: a CNN and a GRU on log-mel spectrograms, with attribution maps.",
          checkpoints=CHECKPOINTS, warmup=warmup)
