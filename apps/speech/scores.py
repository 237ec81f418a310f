"""What each speech model gets on voices it never heard, read from the model cards (no torch).

    for s in standings():          # best first, by the figure a new voice can expect
        s.title, s.accuracy, s.interval, s.basis

The headline of the GRU and the CNN is the new-voice measurement of their cards (clips from speakers
outside the shared data); their test-split figure is kept as `optimistic` (those clips informed
choices). The Whisper head's and Whisper zero-shot's is speaker-grouped cross-validation (each clip
judged by a model whose training never heard its speaker). Models without a card are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from apps.speech import spec
from shared.checkpoints import read_card
from shared.errors import CheckpointError


@dataclass(frozen=True)
class Standing:
    model: str                          # "gru", "cnn", spec.HEAD, spec.ZERO_SHOT
    title: str                          # "GRU"
    role: str                           # what it is, in a few words
    accuracy: float                     # what a new voice can expect
    interval: tuple[float, float]       # its 95 % interval
    clips: int                          # how many clips the figure rests on
    basis: str                          # how it was measured, in a learner's words
    optimistic: float | None = None     # a higher figure from clips that informed choices
    optimistic_interval: tuple[float, float] | None = None
    optimistic_clips: int | None = None
    params: int = 0
    size_bytes: int = 0
    latency_ms: float | None = None     # one clip, one CPU thread, from the card
    on_test_speakers: float | None = None  # on the GRU/CNN's 562 test clips, where all can be compared
    on_test_clips: int | None = None       # how many of those clips, when fewer than all


def wilson_interval(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval (95 % by default) of a proportion correct / total."""
    if total <= 0:
        raise ValueError("an interval needs at least one trial")
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def card_of(model: str) -> dict:
    """The card of a GRU/CNN checkpoint, or of the Whisper head (for spec.HEAD and spec.ZERO_SHOT)."""
    try:
        return read_card(spec.CHECKPOINTS.get(model, spec.HEAD_CHECKPOINT))
    except CheckpointError:
        return {}


def standing(model: str, card: dict | None = None) -> Standing | None:
    """A GRU/CNN card's figures; None when the card is missing or has no new-voice measurement."""
    card = card_of(model) if card is None else card
    metrics = card.get("metrics", {})
    if metrics.get("new_voice_acc") is None:
        return None
    test = metrics.get("test_acc_heldout_speakers")
    return Standing(
        model=model, title=spec.MODEL_TITLES[model], role=spec.MODEL_ROLES[model],
        accuracy=metrics["new_voice_acc"], interval=tuple(metrics["new_voice_ci95"]),
        clips=metrics["new_voice_clips"],
        basis=f"{metrics['new_voice_clips']:,} clips from speakers outside this project's data, measured by "
              "a tester (not shipped here)",
        optimistic=test, optimistic_interval=tuple(metrics["test_ci95"]) if test is not None else None,
        optimistic_clips=metrics.get("test_clips"),
        params=card.get("params", 0), size_bytes=card.get("size_bytes", 0),
        latency_ms=metrics.get("latency_ms_cpu_1thread"), on_test_speakers=test)


def whisper_standings(card: dict | None = None) -> list[Standing]:
    """The Whisper head and Whisper zero-shot from the head's card (cross-validated); [] without one."""
    card = card_of(spec.HEAD) if card is None else card
    metrics = card.get("metrics", {})
    if metrics.get("cv_accuracy") is None:
        return []
    clips = metrics["cv_clips"]
    zero_clips = metrics.get("zero_shot_clips", clips)
    folds = len(metrics["folds"])
    on_test = metrics.get("on_gru_cnn_test_speakers", {})
    sample = f"a random {zero_clips:,} of the same clips" if zero_clips < clips else f"the same {clips:,} clips"
    head = Standing(
        model=spec.HEAD, title=spec.MODEL_TITLES[spec.HEAD], role=spec.MODEL_ROLES[spec.HEAD],
        accuracy=metrics["cv_accuracy"], interval=tuple(metrics["cv_ci95"]), clips=clips,
        basis=f"{folds}-fold cross-validation on this project's {clips:,} clips, each judged by a head "
              "that never heard its speaker",
        params=card.get("params", 0), size_bytes=card.get("size_bytes", 0),
        on_test_speakers=on_test.get("whisper_head"))
    zero_shot = Standing(
        model=spec.ZERO_SHOT, title=spec.MODEL_TITLES[spec.ZERO_SHOT], role=spec.MODEL_ROLES[spec.ZERO_SHOT],
        accuracy=metrics["zero_shot_accuracy"], interval=tuple(metrics["zero_shot_ci95"]), clips=zero_clips,
        basis=f"{sample}; its two thresholds (for silence and unknown) chosen on the other folds",
        on_test_speakers=on_test.get("whisper_zero_shot"), on_test_clips=on_test.get("whisper_zero_shot_clips"))
    return [head, zero_shot]


def standings() -> list[Standing]:
    """Every model with a card, best first by what a new voice can expect."""
    found = [s for s in (standing(m) for m in spec.MODEL_NAMES) if s is not None] + whisper_standings()
    return sorted(found, key=lambda s: -s.accuracy)


def answer_order() -> list[str]:
    """The models /recognize_speech answers with, the most accurate on new voices first (the GRU and
    the CNN in card order when their cards are missing, so the API's outputs keep their meaning)."""
    ranked = [s.model for s in standings() if s.model in spec.RECOGNIZERS]
    return ranked + [m for m in spec.MODEL_NAMES if m not in ranked]
