"""Recognise a spoken command, and find what the models heard (no Gradio here).

    result = recognize("clip.wav")  # the GRU and the CNN; models=(..., spec.HEAD) adds the Whisper head
    result.predictions["cnn"]       # {"yes": 0.93, "no": 0.01, ...} over the 12 labels
    result.top("gru")               # "yes"
    result.attributions["gru"]      # [40, 101]: which time-frequency cells pushed towards its answer

The Whisper head (apps.speech.transfer, a small head on Whisper's frozen encoder) hears the same
one-second window; it has no attribution map (gradients through Whisper's encoder cost seconds).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from apps.speech import data, spec
from apps.speech.model import MODELS
from shared.checkpoints import load_checkpoint
from shared.lazy import load_once

IG_STEPS = 24  # integrated-gradients steps: enough for a stable map, ~0.1 s per model on a CPU


@load_once
def load_model(name: str) -> tuple[torch.nn.Module, dict]:
    """(model in eval mode, its model card); sha256-verified, loaded once."""
    state, card = load_checkpoint(spec.CHECKPOINTS[name])
    model = MODELS[name]()
    model.load_state_dict(state)
    with torch.no_grad():  # the first forward pass sets up its kernels: not part of any request's time
        model.eval()(torch.zeros(1, spec.N_MELS, spec.N_FRAMES))
    return model, card


def load_models(models=spec.MODEL_NAMES) -> None:
    for name in models:
        if name in spec.CHECKPOINTS:
            load_model(name)
        else:
            from apps.speech import transfer

            transfer.load_head()
            transfer.recognize(np.zeros(spec.CLIP_SAMPLES, dtype=np.float32) + 1e-3)  # Whisper's first pass


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

    @property
    def seconds(self) -> float:
        return self.wave.shape[0] / spec.SAMPLE_RATE


def recognize(path: str | Path | None, with_attributions: bool = True, models=spec.MODEL_NAMES) -> Recognition:
    """Audio file -> each model's predictions on its loudest second, with the GRU's and CNN's attribution maps."""
    wave, notes = data.read_waveform(path)
    return _recognize_wave(wave, notes, with_attributions, models)


def recognize_samples(samples, sample_rate: int, with_attributions: bool = True,
                      models=spec.MODEL_NAMES) -> Recognition:
    """The same for samples in memory ([n] or [n, channels], any rate)."""
    return _recognize_wave(*data.prepare_waveform(samples, sample_rate), with_attributions, models)


def _recognize_wave(wave: torch.Tensor, notes: list[str], with_attributions: bool, models) -> Recognition:
    window, start = data.loudest_window(wave)
    if wave.shape[0] > spec.CLIP_SAMPLES:
        notes.append(f"The clip is {wave.shape[0] / spec.SAMPLE_RATE:.1f} s long; the models heard the "
                     f"one second with the most speech energy, {start / spec.SAMPLE_RATE:.2f}–"
                     f"{(start + spec.CLIP_SAMPLES) / spec.SAMPLE_RATE:.2f} s.")
    features = data.log_mel(window[None])  # [1, 40, 101]
    predictions, attributions, latency = {}, {}, {}
    for name in models:
        if name not in spec.CHECKPOINTS:
            predictions[name], latency[name] = _whisper_head(window.numpy())
            continue
        model, _ = load_model(name)
        begin = time.perf_counter()
        with torch.no_grad():
            probs = torch.softmax(model(features), dim=-1)[0]
        latency[name] = (time.perf_counter() - begin) * 1000
        predictions[name] = {label: float(p) for label, p in zip(spec.LABELS, probs)}
        if with_attributions:
            attributions[name] = attribution_map(model, features, int(probs.argmax()))
    return Recognition(wave.numpy(), start, window.numpy(), features[0].numpy(), predictions,
                       attributions, latency, notes)


def _whisper_head(window: np.ndarray) -> tuple[dict[str, float], float]:
    from apps.speech import transfer

    begin = time.perf_counter()
    probabilities = transfer.recognize(window)
    return {label: float(p) for label, p in zip(spec.LABELS, probabilities)}, (time.perf_counter() - begin) * 1000


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
