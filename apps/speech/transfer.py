"""Whisper tiny.en on the twelve speech-command labels, two ways (pure torch, no Gradio here).

    transfer.recognize(wave)    # [12] probabilities from a small head on Whisper's frozen encoder
    transfer.zero_shot(wave)    # [12] probabilities from Whisper itself, untrained on these clips
    transfer.CARD               # the head's model card: cross-validated accuracy of both, 95 % intervals

`wave` is mono float32 at 16 kHz; the one loudest second is used (data.loudest_window), like the
GRU and CNN hear. Probabilities are in apps.speech.data.LABELS order.

The head reads the encoder's states for the first second only: 100 log-mel frames through the
two convolutions (-> 50 positions of 20 ms), the first 50 position embeddings and the four
layers, instead of Whisper's usual 30-s window (12x the time). It averages them over 100 ms
steps (or the whole second), mixes the five states (after the convolutions and after each layer)
with learned weights, then a 1-D convolution over time, attention and max pooling, a linear layer.

Zero-shot: each of the ten words is scored as the whole transcript (whisper.word_logprobs);
`silence` and `unknown` come from two thresholds chosen on training folds only: Whisper's
no-speech probability, and how much likelier Whisper's own free transcription is than the best
of the ten words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from apps.speech import data, spec, whisper
from shared.checkpoints import load_checkpoint
from shared.errors import BadInput
from shared.lazy import load_once

WEIGHTS = spec.HEAD_CHECKPOINT
CARD = WEIGHTS.with_suffix(".json")
LABELS = spec.LABELS
WORDS = spec.COMMANDS
SILENCE, UNKNOWN = LABELS.index("silence"), LABELS.index("unknown")
MEL_FRAMES = spec.CLIP_SAMPLES // spec.HOP_LENGTH       # 100 log-mel frames of 10 ms in the first second
POSITIONS = MEL_FRAMES // 2                  # 50 encoder positions of 20 ms
N_STATES = 5                                 # after the convolutions, then after each of 4 layers
SILENCE_SLOPE, UNKNOWN_SLOPE = 4.0, 2.0      # how sharply the zero-shot rules turn into probabilities


# ---------------------------------------------------------------- the frozen encoder's states

def one_second(wave) -> np.ndarray:
    """Mono 16 kHz samples -> the loudest second (shorter clips centred in zeros), float32."""
    wave = np.asarray(wave, dtype=np.float32)
    if wave.ndim != 1 or wave.size == 0:
        raise BadInput(f"Expected mono samples as a 1-D array; got shape {wave.shape}.")
    if not np.isfinite(wave).all():
        raise BadInput("The audio contains NaN or infinite samples.")
    return data.loudest_window(torch.from_numpy(wave))[0].numpy()


def encoder_pass(features: torch.Tensor) -> list[torch.Tensor]:
    """Whisper log-mel input [B, 80, frames] -> the encoder's five states, each [B, frames / 2, d]:
    after the convolutions and after each layer, the last layer-normed as the decoder sees it.
    Any even number of frames up to 3000 (Whisper's own encoder refuses all but 3000)."""
    w = whisper.load_whisper()
    encoder = w.model.model.encoder
    with torch.inference_mode():
        x = F.gelu(encoder.conv1(features.to(w.dtype)))
        x = F.gelu(encoder.conv2(x)).permute(0, 2, 1)
        x = x + encoder.embed_positions.weight[:x.shape[1]]
        states = [x]
        for layer in encoder.layers:
            x = layer(x, None)
            states.append(x)
        states[-1] = encoder.layer_norm(x)
    return states


def encoder_states(features: torch.Tensor) -> torch.Tensor:
    """Whisper log-mel input [B, 80, 3000] -> the states of the first second [B, 5, 50, d] (float32),
    from the first 100 frames alone."""
    states = encoder_pass(features[..., :MEL_FRAMES])
    return torch.stack(states, dim=1).float()


def whisper_input(wave: np.ndarray) -> torch.Tensor:
    """Samples -> Whisper's log-mel input [1, 80, 3000] (its own normalisation of the 30-s window)."""
    return whisper.load_whisper().features(wave, sampling_rate=whisper.SAMPLE_RATE,
                                           return_tensors="pt").input_features


# ---------------------------------------------------------------- the head

class Head(nn.Module):
    """Encoder states [B, 5, 50, d] -> 12 logits.

    Averaged over `pool` positions first (5: ten steps of 100 ms; 50: the whole second), then mixed
    with learned weights (both linear, so the order does not matter and training can pool once).
    """

    def __init__(self, pool: int = 5, width: int = 64, dropout: float = 0.2, d_model: int = 384,
                 n_labels: int = len(LABELS)):
        super().__init__()
        self.pool = pool
        self.state_logits = nn.Parameter(torch.zeros(N_STATES))   # which states to listen to
        self.norm = nn.LayerNorm(d_model)
        self.conv = nn.Conv1d(d_model, width, kernel_size=3, padding=1)  # three neighbouring steps
        self.score = nn.Linear(width, 1)                           # attention pooling over time
        self.out = nn.Linear(2 * width, n_labels)
        self.drop = nn.Dropout(dropout)

    def pooled(self, states: torch.Tensor) -> torch.Tensor:
        """[B, 5, 50, d] -> [B, 5, 50 / pool, d]."""
        b, n, t, d = states.shape
        return states.reshape(b, n, t // self.pool, self.pool, d).mean(3)

    def classify(self, pooled: torch.Tensor) -> torch.Tensor:
        mix = torch.softmax(self.state_logits, 0)
        x = self.norm((pooled * mix[None, :, None, None]).sum(1))              # [B, T, d]
        x = F.gelu(self.conv(self.drop(x).transpose(1, 2))).transpose(1, 2)    # [B, T, width]
        weights = torch.softmax(self.score(x).squeeze(-1), dim=-1)             # [B, T]
        summary = torch.cat([(weights[..., None] * x).sum(1), x.amax(1)], -1)  # [B, 2 width]
        return self.out(self.drop(summary))

    def forward(self, states: torch.Tensor) -> torch.Tensor:
        return self.classify(self.pooled(states))


@dataclass
class LoadedHead:
    model: Head
    card: dict
    silence_threshold: float   # zero-shot: no-speech probability above which a clip is silence
    unknown_margin: float      # zero-shot: nats by which the free transcription beats every word


@load_once
def load_head() -> LoadedHead:
    """The shipped head (sha256-verified) and the zero-shot thresholds from its card, once."""
    state, card = load_checkpoint(WEIGHTS)
    shape = card["head"]
    model = Head(pool=shape["pool"], width=shape["width"], dropout=shape["dropout"])
    model.load_state_dict(state)
    model.eval().requires_grad_(False)
    rule = card["zero_shot_rule"]
    return LoadedHead(model, card, float(rule["silence_threshold"]), float(rule["unknown_margin"]))


def recognize(wave) -> np.ndarray:
    """Mono 16 kHz samples (about 1 s) -> [12] probabilities from the head on the frozen encoder."""
    head = load_head()
    states = encoder_states(whisper_input(one_second(wave)))
    with torch.inference_mode():
        return torch.softmax(head.model(states)[0], -1).numpy()


# ---------------------------------------------------------------- zero-shot

@dataclass
class Evidence:
    """What Whisper says about one clip, before any threshold."""
    word_logprobs: np.ndarray   # [10] log P(transcript = word) for WORDS
    free_text: str              # greedy transcription
    free_logprob: float         # its log-probability, end-of-text included (same footing as the words)
    no_speech_prob: float


def evidence(wave, encoded: torch.Tensor | None = None) -> Evidence:
    """One encoder pass (unless `encoded` [1, 1500, d] is given), one greedy decoding and one batch
    of scored transcripts (about 0.4 s on one core)."""
    w = whisper.load_whisper()
    if encoded is None:
        _, encoded = whisper.encode(one_second(wave))
    with torch.inference_mode():
        ids, _, no_speech_prob, _ = whisper._greedy(w.model, encoded, w.config)
    free_ids = ids[len(whisper.PROMPT):]
    spellings = [(word, w.tokenizer.encode(s, add_special_tokens=False).ids)
                 for word in WORDS for s in whisper.word_spellings(word)]
    totals = whisper.transcript_logprobs(encoded, [ids for _, ids in spellings] + [free_ids])
    scores = {word: -np.inf for word in WORDS}
    for (word, _), total in zip(spellings, totals):
        scores[word] = max(scores[word], total)
    return Evidence(np.array([scores[word] for word in WORDS], dtype=np.float64),
                    w.tokenizer.decode(free_ids, skip_special_tokens=True).strip(),
                    float(totals[-1]), float(no_speech_prob))


def rule_probabilities(word_logprobs, free_logprob, no_speech_prob, wrote_nothing,
                       silence_threshold: float, unknown_margin: float) -> np.ndarray:
    """[n, 12] probabilities for n clips' evidence (arrays [n, 10], [n], [n], [n] bool): silence by
    the no-speech probability, then unknown by the free transcription's lead over the best word,
    the rest shared among the words by their scores."""
    def logit(p):
        p = np.clip(p, 1e-6, 1 - 1e-6)
        return np.log(p / (1 - p))

    word_logprobs = np.asarray(word_logprobs, dtype=np.float64)
    best = word_logprobs.max(1)
    p_silence = 1 / (1 + np.exp(-SILENCE_SLOPE * (logit(np.asarray(no_speech_prob)) - logit(silence_threshold))))
    p_silence = np.where(wrote_nothing, np.maximum(p_silence, 0.5), p_silence)  # Whisper wrote nothing at all
    lead = np.asarray(free_logprob) - best
    p_unknown = (1 - p_silence) / (1 + np.exp(-UNKNOWN_SLOPE * (lead - unknown_margin)))
    words = np.exp(word_logprobs - best[:, None])
    probabilities = np.zeros((len(best), len(LABELS)))
    probabilities[:, :len(WORDS)] = (1 - p_silence - p_unknown)[:, None] * words / words.sum(1, keepdims=True)
    probabilities[:, UNKNOWN], probabilities[:, SILENCE] = p_unknown, p_silence
    return probabilities


def zero_shot_probabilities(ev: Evidence, silence_threshold: float, unknown_margin: float) -> np.ndarray:
    """[12] probabilities for one clip's evidence (rule_probabilities)."""
    return rule_probabilities(ev.word_logprobs[None], [ev.free_logprob], [ev.no_speech_prob], [not ev.free_text],
                              silence_threshold, unknown_margin)[0]


def zero_shot(wave) -> np.ndarray:
    """Mono 16 kHz samples -> [12] probabilities from Whisper tiny.en itself (thresholds from the card)."""
    head = load_head()
    return zero_shot_probabilities(evidence(wave), head.silence_threshold, head.unknown_margin)

