"""What the speech tab shows, drawn from infer's and scores' dataclasses (no torch, no Gradio).

    waveform_image(wave, start)              # [H, W, 3] uint8: the whole clip, the second the models heard shaded
    time_frequency_image(features, ...)      # [H, W, 3] uint8: log-mel spectrogram, then each model's evidence,
                                             # stacked on one time axis (s) with frequency ticks (Hz)
    notes_markdown(result, order)            # the answer's sentence: agreement, time, notes
    comparison_markdown(standings())         # the models side by side, figures a new voice can expect

The pictures are plain RGB arrays (numpy + PIL): a matplotlib figure costs 100-300 ms to render to
PNG, these a few ms, with labelled axes, and the time-frequency views line up column by column.
"""

from __future__ import annotations

import functools

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from apps.speech import spec

BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)
FAINT = (150, 150, 150)
WAVE_COLOUR = (31, 119, 180)      # matplotlib's tab:blue
WINDOW_COLOUR = (255, 127, 14)    # tab:orange

FRAME_PX, BAND_PX = 6, 3          # one 10 ms frame -> 6 px wide, one mel band -> 3 px tall
# Text of 12-15 px: the image is shown at up to its own width, and stays legible on a projector.
TICK, LABEL, TITLE = 12, 13, 15
LEFT, RIGHT, TITLE_H, BOTTOM = 66, 84, 26, 46
WAVE_TOP = 26                     # the waveform's title strip
PANEL_W, PANEL_H = spec.N_FRAMES * FRAME_PX, spec.N_MELS * BAND_PX
WIDTH = LEFT + PANEL_W + RIGHT


@functools.lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


@functools.lru_cache(maxsize=4)
def _lut(name: str) -> np.ndarray:
    """A matplotlib colour map as a [256, 3] float table (no figure is made)."""
    from matplotlib import colormaps

    return colormaps[name](np.linspace(0.0, 1.0, 256))[:, :3]


def _colour(values: np.ndarray, name: str) -> np.ndarray:
    """Values in [0, 1] -> RGB floats in [0, 1] through the named colour map."""
    return _lut(name)[np.clip((values * 255).round(), 0, 255).astype(int)]


def _cells(rgb: np.ndarray) -> np.ndarray:
    """[40 bands, 101 frames, 3] floats, band 0 = lowest -> a [PANEL_H, PANEL_W, 3] uint8 panel, low at the bottom."""
    rgb = np.repeat(np.repeat(rgb[::-1], BAND_PX, axis=0), FRAME_PX, axis=1)
    return (rgb * 255).round().astype(np.uint8)


def _colour_bar(draw: ImageDraw.ImageDraw, image: Image.Image, x: int, y: int, lut: str,
                top: str, bottom: str) -> None:
    ramp = _colour(np.linspace(1.0, 0.0, PANEL_H), lut)[:, None, :].repeat(10, axis=1)
    image.paste(Image.fromarray((ramp * 255).round().astype(np.uint8)), (x, y))
    draw.rectangle([x, y, x + 9, y + PANEL_H - 1], outline=FAINT)
    draw.text((x + 14, y), top, fill=INK, font=_font(LABEL))
    draw.text((x + 14, y + PANEL_H - LABEL - 2), bottom, fill=INK, font=_font(LABEL))


def _minmax(x: np.ndarray) -> np.ndarray:
    return (x - x.min()) / (x.max() - x.min() + 1e-12)


def time_frequency_image(features: np.ndarray, attributions: dict[str, np.ndarray],
                         tops: dict[str, str]) -> np.ndarray:
    """Spectrogram, then one evidence map per model over a grey copy of it; one shared time axis.

    features: [40, 101] log-mel (band 0 = lowest); attributions: model -> [40, 101] (>= 0);
    tops: model -> the label its evidence is for.
    """
    spectrogram = _minmax(np.asarray(features, dtype=np.float32))
    panels = [("Log-mel spectrogram of the second the models heard", _colour(spectrogram, "magma"),
               "magma", "loud", "quiet")]
    grey = np.repeat(spectrogram[..., None], 3, axis=-1)
    for name, attribution in attributions.items():
        evidence = np.asarray(attribution, dtype=np.float32) / (float(np.max(attribution)) + 1e-12)
        alpha = np.clip(evidence * 1.5, 0.0, 0.9)[..., None]
        panels.append((f"{name.upper()}: evidence for '{tops[name]}'",
                       grey * (1 - alpha) + _colour(evidence, "inferno") * alpha, "inferno", "most", "none"))

    height = len(panels) * (TITLE_H + PANEL_H) + BOTTOM
    image = Image.new("RGB", (WIDTH, height), BACKGROUND)
    draw = ImageDraw.Draw(image)
    centres = spec.mel_band_centres_hz()
    for i, (title, rgb, lut, top, bottom) in enumerate(panels):
        y = i * (TITLE_H + PANEL_H) + TITLE_H
        draw.text((LEFT, y - TITLE_H + 4), title, fill=INK, font=_font(TITLE))
        draw.text((4, y - TITLE_H + 8), "Hz", fill=FAINT, font=_font(TICK))
        image.paste(Image.fromarray(_cells(rgb)), (LEFT, y))
        for band in range(0, spec.N_MELS, 8):  # frequency ticks: mel bands are closer together at the bottom
            row = y + PANEL_H - (band + 0.5) * BAND_PX
            draw.line([LEFT - 4, row, LEFT - 1, row], fill=INK)
            draw.text((LEFT - 6, row), f"{centres[band]:.0f}", fill=INK, font=_font(TICK), anchor="rm")
        _colour_bar(draw, image, LEFT + PANEL_W + 10, y, lut, top, bottom)
    axis_y = height - BOTTOM
    for frame in range(0, spec.N_FRAMES, 10):
        x = LEFT + (frame + 0.5) * FRAME_PX
        draw.line([x, axis_y, x, axis_y + (5 if frame % 20 == 0 else 3)], fill=INK)
        if frame % 20 == 0:
            draw.text((x, axis_y + 7), f"{frame * spec.HOP_LENGTH / spec.SAMPLE_RATE:.1f}", fill=INK,
                      font=_font(TICK), anchor="mt")
    draw.text((LEFT + PANEL_W // 2, axis_y + 26), "time in the window (s), one column = 10 ms",
              fill=INK, font=_font(LABEL), anchor="mt")
    return np.asarray(image)


def _tick_step(seconds: float) -> float:
    for step in (0.1, 0.2, 0.5, 1.0, 2.0, 5.0):
        if seconds / step <= 10:
            return step
    return 10.0


def waveform_image(wave: np.ndarray, window_start: int, sample_rate: int = spec.SAMPLE_RATE,
                   plot_h: int = 110) -> np.ndarray:
    """The whole clip as a min/max envelope, the one-second window the models heard shaded orange."""
    wave = np.asarray(wave, dtype=np.float32)
    n = len(wave)
    seconds = n / sample_rate
    top_h, bottom_h = WAVE_TOP, 40
    image = Image.new("RGB", (WIDTH, top_h + plot_h + bottom_h), BACKGROUND)
    draw = ImageDraw.Draw(image, "RGBA")
    x0, y0 = LEFT, top_h
    draw.text((x0, 4), "Waveform (16 kHz mono); shaded: the second the models heard", fill=INK, font=_font(TITLE))

    def x_of(sample: float) -> float:
        return x0 + sample / max(n, 1) * PANEL_W

    start, end = max(window_start, 0), min(window_start + spec.CLIP_SAMPLES, n)
    draw.rectangle([x_of(start), y0, x_of(end), y0 + plot_h], fill=WINDOW_COLOUR + (64,))
    peak = float(np.abs(wave).max()) or 1.0
    mid = y0 + plot_h / 2
    scale = (plot_h / 2 - 4) / peak
    starts = np.unique(np.linspace(0, n, PANEL_W, endpoint=False).astype(int))  # one pixel column each
    highs, lows = np.maximum.reduceat(wave, starts), np.minimum.reduceat(wave, starts)
    for column, high, low in zip(x0 + starts / max(n, 1) * PANEL_W, highs.tolist(), lows.tolist()):
        draw.line([column, mid - high * scale, column, mid - low * scale], fill=WAVE_COLOUR)
    draw.rectangle([x0, y0, x0 + PANEL_W, y0 + plot_h], outline=FAINT)
    for value, y in ((peak, y0 + 4), (0.0, mid), (-peak, y0 + plot_h - 4)):
        draw.line([x0 - 4, y, x0 - 1, y], fill=INK)
        draw.text((x0 - 6, y), f"{value:+.2f}" if value else "0", fill=INK, font=_font(TICK), anchor="rm")
    step = _tick_step(seconds)
    for k in range(int(seconds / step + 1e-9) + 1):
        x = x_of(k * step * sample_rate)
        draw.line([x, y0 + plot_h, x, y0 + plot_h + 4], fill=INK)
        draw.text((x, y0 + plot_h + 6), f"{k * step:g}", fill=INK, font=_font(TICK), anchor="mt")
    draw.text((x0 + PANEL_W // 2, y0 + plot_h + 22), "time in your clip (s)", fill=INK, font=_font(LABEL), anchor="mt")
    return np.asarray(image)


def warm() -> None:
    """Load the colour maps and fonts (matplotlib's import is the slow part) before the first request."""
    for name in ("magma", "inferno"):
        _lut(name)
    for size in (TICK, LABEL, TITLE):
        _font(size)


# ---------------------------------------------------------------- sentences and tables

def _percent(x: float) -> str:
    return f"{x * 100:.1f} %"


def _title(name: str) -> str:
    return spec.MODEL_TITLES.get(name, name)


def notes_markdown(result, order: list[str], at_start_up: bool = False) -> str:
    """The answer in a sentence (do the models agree?), this run's times, and the input's notes.
    at_start_up: the run was the page's example, computed once when the server started."""
    tops = {name: result.top(name) for name in order}
    if len(set(tops.values())) == 1:
        who = "Both models" if len(order) == 2 else f"All {len(order)} models"
        head = f"{who} hear **{tops[order[0]]}**."
    else:
        head = "The models disagree: " + ", ".join(
            f"{_title(name)} hears **{top}** ({result.predictions[name][top]:.0%})" for name, top in tops.items()) + "."
    timing = ("When the server started: " if at_start_up else "This run: ") \
        + ", ".join(f"{_title(name)} {result.latency_ms[name]:.0f} ms" for name in order) \
        + " (the models alone, after the audio is read)."
    notes = "\n".join(f"- {note}" for note in result.notes)
    return "\n\n".join(part for part in (head, timing, notes) if part)


def goal_sentence(standing) -> str:
    """"goal ≥ 90 % on new voices: 88.2 % — not yet" for one model."""
    verdict = "reached" if standing.accuracy >= spec.GOAL else "not yet"
    return f"goal ≥ {spec.GOAL * 100:.0f} % on new voices: {_percent(standing.accuracy)} — {verdict}"


def _size(s) -> str:
    if s.model == spec.ZERO_SHOT:
        return "Whisper tiny.en, 38 M parameters"
    extra = " on Whisper's encoder" if s.model == spec.HEAD else ""
    latency = f" · {s.latency_ms:.0f} ms per clip" if s.latency_ms is not None else ""
    return f"{s.params / 1000:.0f} k parameters{extra}, {s.size_bytes / 1024:.0f} KB{latency}"


def comparison_markdown(standings) -> str:
    """The models side by side: how often each is right on voices it never heard (95 % interval), what it
    learned from, its size; then, in words, how each figure was measured, the goal, and the figures on
    the one set of clips every model can be compared on."""
    if not standings:
        return "The model cards are missing, so there are no figures to compare."
    rows = ["| model | right on new voices (95 % interval) | learned from | size |", "|---|---|---|---|"]
    for s in standings:
        rows.append(f"| **{s.title}** | **{_percent(s.accuracy)}** ({_percent(s.interval[0])}–{_percent(s.interval[1])}) "
                    f"| {spec.LEARNED_FROM[s.model]} | {_size(s)} |")
    answering = [s for s in standings if s.model in spec.RECOGNIZERS]
    lines = ["\n".join(rows)]
    if answering:
        lines.append(f"**{answering[0].title}** answers first: it is right most often on voices it never heard.")
    if any(s.model == spec.ZERO_SHOT for s in standings):
        lines.append("Whisper zero-shot is compared here but does not answer above: for every clip it runs Whisper's "
                     "decoder (a free transcription and twenty scored spellings of the ten words), where the head "
                     "needs one second of Whisper's encoder.")
    by_basis: dict[str, list[str]] = {}
    for s in standings:
        by_basis.setdefault(s.basis, []).append(s.title)
    lines.append("How each figure was measured: " + "; ".join(
        f"{' and '.join(titles)}: {basis}" for basis, titles in by_basis.items()) + ".")
    lines.append("; ".join(f"{s.title}: {goal_sentence(s)}" for s in answering) + ".")
    optimistic = [s for s in standings if s.optimistic is not None]
    compared = [s for s in standings if s.on_test_speakers is not None]
    if optimistic:
        clips = optimistic[0].optimistic_clips
        figures = ", ".join(f"{s.title} {_percent(s.on_test_speakers)}"
                            + (f" (on {s.on_test_clips} of them)" if s.on_test_clips and s.on_test_clips < clips else "")
                            for s in compared)
        lines.append(f"On the {clips} clips of this project's test speakers, the one set every model can be "
                     f"compared on: {figures}. The GRU and the CNN never trained on those speakers, but the "
                     "clips helped choose their recipe, so their figures there are optimistic for a new voice.")
    return "\n\n".join(lines)


def whisper_words_markdown(standings) -> str:
    """For the Whisper view: how Whisper does on the twelve command words, as it comes and with a head
    trained here, beside the small networks ('' without the head's card)."""
    by_model = {s.model: s for s in standings}
    if spec.HEAD not in by_model:
        return ""
    head, zero = by_model[spec.HEAD], by_model[spec.ZERO_SHOT]
    small = [s for s in standings if s.model in spec.MODEL_NAMES]
    others = ", ".join(f"the {s.title} trained from scratch {_percent(s.accuracy)}" for s in small)
    return (f"**The same Whisper on the twelve command words** (each clip's speaker unheard): as it comes "
            f"(zero-shot), **{_percent(zero.accuracy)}** ({_percent(zero.interval[0])}–{_percent(zero.interval[1])}); "
            f"with a small head trained here on its encoder, **{_percent(head.accuracy)}** "
            f"({_percent(head.interval[0])}–{_percent(head.interval[1])})"
            + (f"; {others}" if others else "") + ". The table in *Twelve words* says how each was measured.")


def whisper_time_markdown(result, at_start_up: bool = False) -> str:
    """How long the transcription took (and its notes); at_start_up: the page's example, computed once
    when the server started, so its time says so."""
    when = ", when the server started" if at_start_up else ""
    if result.no_speech:
        head = f"**No speech heard** in {result.audio_seconds:.1f} s of audio ({result.seconds:.2f} s{when})."
    else:
        head = (f"Transcribed {result.audio_seconds:.1f} s of audio in **{result.seconds:.2f} s** "
                f"({len(result.tokens)} tokens) on this machine's CPU{when}.")
    notes = "\n".join(f"- {note}" for note in result.notes)
    return f"{head}\n\n{notes}" if notes else head
