"""What each speech model gets on voices it never heard, read from its model card (no torch).

    for s in standings():          # best first, by the figure a new voice can expect
        s.title, s.accuracy, s.interval, s.basis

The headline of the GRU and the CNN is the new-voice measurement of their cards (clips from speakers
outside the shared data); their test-split figure is kept as `optimistic` (those clips informed
choices). Models without a card are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from apps.speech import spec
from shared.checkpoints import read_card
from shared.errors import CheckpointError


@dataclass(frozen=True)
class Standing:
    model: str                          # "gru", "cnn"
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


def wilson_interval(correct: int, total: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval (95 % by default) of a proportion correct / total."""
    if total <= 0:
        raise ValueError("an interval needs at least one trial")
    p = correct / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return centre - half, centre + half


def card_of(model: str) -> dict:
    try:
        return read_card(spec.CHECKPOINTS[model])
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
        model=model, title=model.upper(), role=spec.MODEL_ROLES[model],
        accuracy=metrics["new_voice_acc"], interval=tuple(metrics["new_voice_ci95"]),
        clips=metrics["new_voice_clips"],
        basis=f"{metrics['new_voice_clips']:,} clips from speakers outside this project's data",
        optimistic=test, optimistic_interval=tuple(metrics["test_ci95"]) if test is not None else None,
        optimistic_clips=metrics.get("test_clips"),
        params=card.get("params", 0), size_bytes=card.get("size_bytes", 0),
        latency_ms=metrics.get("latency_ms_cpu_1thread"))


def standings() -> list[Standing]:
    """Every model with a card, best first by what a new voice can expect."""
    found = [s for s in (standing(m) for m in spec.MODEL_NAMES) if s is not None]
    return sorted(found, key=lambda s: -s.accuracy)


def answer_order() -> list[str]:
    """The models in the order /recognize_speech answers: the most accurate on new voices first
    (card order when a card is missing, so the API's outputs keep their meaning)."""
    ranked = [s.model for s in standings()]
    return ranked + [m for m in spec.MODEL_NAMES if m not in ranked]
