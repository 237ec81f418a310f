"""The speech tab's facts, written once (no torch): labels, audio limits, features, checkpoints, clips.

    from apps.speech import spec
    spec.LABELS            # the twelve answers, in the models' output order
    spec.CHECKPOINTS["gru"]
    spec.example_clips()   # {path: label}, one shipped clip per label
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from shared.checkpoints import WEIGHTS_DIR

COMMANDS = ["yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go"]
LABELS = COMMANDS + ["unknown", "silence"]

# Audio the models accept.
SAMPLE_RATE = 16_000
CLIP_SAMPLES = SAMPLE_RATE  # the models hear exactly one second
MAX_SECONDS = 30.0  # longer uploads are refused: scanning 10 minutes for one word is not what this is for
MIN_SECONDS = 0.1   # shorter than any word
MIN_INPUT_RATE, MAX_INPUT_RATE = 4_000, 192_000

# Log-mel features: 25 ms windows every 10 ms, 40 mel bands up to 8 kHz -> [40, 101] per second.
N_MELS, N_FFT, WIN_LENGTH, HOP_LENGTH = 40, 512, 400, 160
N_FRAMES = CLIP_SAMPLES // HOP_LENGTH + 1
F_MIN = 20.0

# Trained here from scratch (one checkpoint each), and Whisper on the same twelve labels: a head trained
# here on its frozen pretrained encoder, and Whisper zero-shot (never trained on these clips).
MODEL_NAMES = ("gru", "cnn")
CHECKPOINTS = {name: WEIGHTS_DIR / "speech" / f"speech_{name}.safetensors" for name in MODEL_NAMES}
HEAD, ZERO_SHOT = "whisper-head", "whisper-zero-shot"
HEAD_CHECKPOINT = WEIGHTS_DIR / "speech" / "whisper_head.safetensors"
RECOGNIZERS = (*MODEL_NAMES, HEAD)  # the models /recognize_speech may answer with
MODEL_TITLES = {"gru": "GRU", "cnn": "CNN", HEAD: "Whisper head", ZERO_SHOT: "Whisper zero-shot"}
MODEL_ROLES = {"gru": "GRU · reads the spectrogram frame by frame",
               "cnn": "CNN · sees the spectrogram as an image",
               HEAD: "Whisper head · a small head on Whisper's pretrained encoder",
               ZERO_SHOT: "Whisper zero-shot · the ten words scored by Whisper itself"}
LEARNED_FROM = {"gru": "trained here from scratch: 2,732 real clips + 1,320 synthetic",
                "cnn": "trained here from scratch: 2,732 real clips + 1,320 synthetic",
                HEAD: "head trained here on 3,294 clips; encoder pretrained on 680,000 hours",
                ZERO_SHOT: "pretrained on 680,000 hours; never trained on these clips"}
GOAL = 0.90  # what was asked of the speech-command models, on voices they never heard

# Shipped clips: Speech Commands test-split speakers (never heard in training), one file per clip.
ASSETS_DIR = Path(__file__).resolve().parent / "assets"
LABELS_FILE = ASSETS_DIR / "labels.json"
DEFAULT_CLIP = ASSETS_DIR / "yes_b49caed3_nohash_2.flac"


def clip_labels() -> dict[str, str]:
    """Every shipped clip's file name and its label."""
    return json.loads(LABELS_FILE.read_text()) if LABELS_FILE.exists() else {}


def example_clips() -> dict[str, str]:
    """One shipped clip per label, in the order of the labels file: {path: label}."""
    files: dict[str, str] = {}
    for name, label in clip_labels().items():
        if label not in files.values():
            files[str(ASSETS_DIR / name)] = label
    return files


def mel_band_centres_hz() -> np.ndarray:
    """Centre frequency of each mel band (for labelling spectrogram axes)."""
    mels = np.linspace(_hz_to_mel(F_MIN), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2)[1:-1]
    return 700.0 * (10 ** (mels / 2595.0) - 1)


def _hz_to_mel(hz: float) -> float:
    return 2595.0 * np.log10(1.0 + hz / 700.0)
