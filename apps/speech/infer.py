"""Recognise a spoken command with both models and explain what they heard (no Gradio here).

    result = recognize("clip.wav")
    result.predictions["cnn"]       # {"yes": 0.93, "no": 0.01, ...} over the 12 labels
    result.attributions["gru"]      # [40, 101]: which time-frequency cells pushed towards its answer
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from apps.speech import data
from apps.speech.model import MODELS, n_params
from shared.checkpoints import WEIGHTS_DIR, load_checkpoint
from shared.errors import BadInput
from shared.lazy import load_once

MODEL_NAMES = ("cnn", "gru")
CHECKPOINTS = {name: WEIGHTS_DIR / "speech" / f"speech_{name}.safetensors" for name in MODEL_NAMES}
IG_STEPS = 24  # integrated-gradients steps: enough for a stable map, ~0.1 s per model on a CPU


@load_once
def load_model(name: str) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode, its model card); sha256-verified, loaded once."""
    state, card = load_checkpoint(CHECKPOINTS[name])
    model = MODELS[name]()
    model.load_state_dict(state)
    return model.eval(), card


def load_models() -> None:
    for name in MODEL_NAMES:
        load_model(name)


@dataclass
class Recognition:
    wave: np.ndarray            # the whole clip, mono 16 kHz
    window_start: int           # first sample of the one-second window the models heard (< 0: padded)
    window: np.ndarray          # that window, [16000]
    features: np.ndarray        # its log-mel spectrogram, [40, 101]
    predictions: dict[str, dict[str, float]]   # model -> {label: probability}
    attributions: dict[str, np.ndarray]        # model -> [40, 101] evidence for its top label
    latency_ms: dict[str, float]               # model -> forward time for this clip
    notes: list[str] = field(default_factory=list)

    def top(self, name: str) -> str:
        return max(self.predictions[name], key=self.predictions[name].get)


def recognize(path: str | Path, with_attributions: bool = True) -> Recognition:
    """Audio file -> both models' predictions on its loudest second, with attribution maps."""
    if path is None:
        raise BadInput("No audio was given: record with the microphone, upload a file or pick an example.")
    samples, rate = data.decode_audio(path)
    return recognize_samples(samples, rate, with_attributions)


def recognize_samples(samples, sample_rate: int, with_attributions: bool = True) -> Recognition:
    wave, notes = data.prepare_waveform(samples, sample_rate)
    window, start = data.loudest_window(wave)
    if wave.shape[0] > data.CLIP_SAMPLES:
        notes.append(f"The clip is {wave.shape[0] / data.SAMPLE_RATE:.1f} s long; the models heard the "
                     f"one second with the most speech energy, {start / data.SAMPLE_RATE:.2f}–"
                     f"{(start + data.CLIP_SAMPLES) / data.SAMPLE_RATE:.2f} s.")
    features = data.log_mel(window[None])  # [1, 40, 101]
    predictions, attributions, latency = {}, {}, {}
    for name in MODEL_NAMES:
        model, _ = load_model(name)
        begin = time.perf_counter()
        with torch.no_grad():
            probs = torch.softmax(model(features), dim=-1)[0]
        latency[name] = (time.perf_counter() - begin) * 1000
        predictions[name] = {label: float(p) for label, p in zip(data.LABELS, probs)}
        if with_attributions:
            attributions[name] = attribution_map(model, features, int(probs.argmax()))
    return Recognition(wave.numpy(), start, window.numpy(), features[0].numpy(), predictions,
                       attributions, latency, notes)


def attribution_map(model: torch.nn.Module, features: torch.Tensor, target: int) -> np.ndarray:
    """Integrated gradients from a flat spectrogram (all zeros = the clip's mean level) to this one.

    Each cell's value is how much it moved the target label's logit; only positive evidence
    is kept, since "what made it say yes" is the question a learner asks.
    """
    from captum.attr import IntegratedGradients

    with torch.enable_grad():
        ig = IntegratedGradients(lambda x: model(x))
        attribution = ig.attribute(features.clone().requires_grad_(True), baselines=torch.zeros_like(features),
                                   target=target, n_steps=IG_STEPS, internal_batch_size=IG_STEPS)
    return attribution[0].detach().clamp(min=0).numpy()


def model_summary() -> list[dict]:
    """Per-model facts from the cards, for the comparison table."""
    rows = []
    for name in MODEL_NAMES:
        model, card = load_model(name)
        metrics = card.get("metrics", {})
        rows.append({
            "model": name.upper(),
            "params": n_params(model),
            "size_kb": round(card.get("size_bytes", 0) / 1024),
            "test_acc": metrics.get("test_acc_heldout_speakers"),
            "val_acc": metrics.get("val_acc_heldout_speakers"),
            "latency_ms": metrics.get("latency_ms_cpu_1thread"),
        })
    return rows
