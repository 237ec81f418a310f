"""Audio in, log-mel spectrogram out: the one pipeline that train.py, infer.py and the tests share.

    wave, sr = decode_audio("clip.webm")         # any format soundfile or ffmpeg can read
    wave, notes = prepare_waveform(wave, sr)      # mono, 16 kHz, checked (BadInput on bad audio)
    wave, notes = read_waveform("clip.webm")      # the two at once (TooLong past 30 s, a BadInput)
    clip, start = loudest_window(wave)            # the one second with the most speech
    features = log_mel(clip[None])                # [1, 40, 101]

Speech Commands layout: <data-dir>/<label>/<speaker>_nohash_<n>.flac (or .wav); `_unknown_`
clips are named <word>_<speaker>_nohash_<n>; `_silence_` clips (background noise) have no speaker.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch
import torchaudio

from apps.speech.spec import (
    CLIP_SAMPLES,
    COMMANDS,
    F_MIN,
    HOP_LENGTH,
    LABELS,
    MAX_INPUT_RATE,
    MAX_SECONDS,
    MIN_INPUT_RATE,
    MIN_SECONDS,
    N_FFT,
    N_MELS,
    SAMPLE_RATE,
    WIN_LENGTH,
)
from shared.errors import BadInput

FOLDER_TO_LABEL = {"_unknown_": "unknown", "_silence_": "silence"} | {w: w for w in COMMANDS}

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "speech_commands"
AUDIO_SUFFIXES = (".flac", ".wav")


class TooLong(BadInput):
    """Audio over the MAX_SECONDS limit; `seconds` is its length, or None when only "over the limit" is known
    (ffmpeg stops decoding just past the limit). A reader with its own wording catches this one."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        if seconds is None:
            super().__init__(f"The clip is longer than the {MAX_SECONDS:.0f} s limit. "
                             "Trim it to the part with the spoken word.")
        else:
            super().__init__(f"The clip is {seconds:.1f} s long; the limit is {MAX_SECONDS:.0f} s. "
                             "Trim it to the part with the spoken word.")


# ---------------------------------------------------------------- reading any audio file

def decode_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Read an audio file as float32 [samples, channels] and its sample rate.

    soundfile reads wav/flac/ogg/mp3; anything else (the browser microphone's webm/opus, m4a)
    goes through ffmpeg. Files that neither can read raise BadInput.
    """
    path = Path(path)
    if not path.exists():
        raise BadInput("No audio file was received. Record, upload or pick an example first.")
    if path.stat().st_size == 0:
        raise BadInput("The audio file is empty (0 bytes).")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError, TypeError):
        return _decode_with_ffmpeg(path)
    if info.samplerate > 0 and info.frames / info.samplerate > MAX_SECONDS:
        raise TooLong(info.frames / info.samplerate)  # refuse before reading it all
    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as e:
        raise BadInput(f"The audio file could not be decoded ({e}); it may be damaged.") from e
    return samples, int(rate)


def _decode_with_ffmpeg(path: Path) -> tuple[np.ndarray, int]:
    if shutil.which("ffmpeg") is None:
        raise BadInput(f"'{path.suffix}' files need ffmpeg to decode, and it is not installed. "
                       "Upload a WAV, FLAC, OGG or MP3 file instead.")
    # Decode at most MAX_SECONDS + 1 s: enough to know the clip is too long, without decoding hours.
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-t", str(MAX_SECONDS + 1),
               "-vn", "-f", "f32le", "-acodec", "pcm_f32le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"]
    try:
        run = subprocess.run(command, capture_output=True, timeout=60, check=False)
    except subprocess.TimeoutExpired as e:
        raise BadInput("Decoding the audio took too long; upload a short WAV or FLAC clip.") from e
    samples = np.frombuffer(run.stdout, dtype=np.float32)
    if run.returncode != 0 or samples.size == 0:
        if run.returncode == 0:
            raise BadInput("The file contains no audio samples (zero length).")
        raise BadInput("This file is not audio, or it is damaged: neither soundfile nor ffmpeg "
                       "could decode it. Upload a WAV, FLAC, OGG, MP3 or WebM recording.")
    if samples.size > MAX_SECONDS * SAMPLE_RATE:
        raise TooLong(None)
    return samples[:, None].copy(), SAMPLE_RATE


def read_waveform(path: str | Path | None) -> tuple[torch.Tensor, list[str]]:
    """Any audio file -> mono float32 at 16 kHz and notes for the user (BadInput when unusable)."""
    if path is None:
        raise BadInput("No audio was given: record with the microphone, upload a file or pick an example.")
    return prepare_waveform(*decode_audio(path))


# ---------------------------------------------------------------- checking and normalising

def prepare_waveform(samples, sample_rate: int) -> tuple[torch.Tensor, list[str]]:
    """Any shape/rate/scale of audio -> mono float32 at 16 kHz in [-1, 1], plus notes for the user.

    `samples` is [n], [n, channels] or an int PCM array (as gradio's numpy audio gives).
    Raises BadInput on audio that cannot be used (empty, NaN, silent, too long, odd rate).
    """
    notes: list[str] = []
    samples = np.asarray(samples)
    if np.issubdtype(samples.dtype, np.integer):  # PCM integers -> [-1, 1]
        samples = samples.astype(np.float32) / float(np.iinfo(samples.dtype).max + 1)
    samples = samples.astype(np.float32, copy=False)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2:
        raise BadInput(f"Expected audio as [samples] or [samples, channels]; got shape {samples.shape}.")
    if samples.shape[1] > samples.shape[0]:  # [channels, samples] given: transpose
        samples = samples.T
    if samples.size == 0 or samples.shape[0] == 0:
        raise BadInput("The audio is empty (zero length). Record or upload at least half a second.")
    if not MIN_INPUT_RATE <= sample_rate <= MAX_INPUT_RATE:
        raise BadInput(f"Sample rate {sample_rate} Hz is not supported; use {MIN_INPUT_RATE}–{MAX_INPUT_RATE} Hz.")
    seconds = samples.shape[0] / sample_rate
    if seconds > MAX_SECONDS:
        raise TooLong(seconds)
    if seconds < MIN_SECONDS:
        raise BadInput(f"The clip is only {seconds * 1000:.0f} ms long; a spoken word needs at least "
                       f"{MIN_SECONDS * 1000:.0f} ms.")
    bad = ~np.isfinite(samples)
    if bad.any():
        raise BadInput(f"The audio contains {int(bad.sum())} NaN or infinite samples; the file is damaged. "
                       "Export it again or record a new clip.")
    if samples.shape[1] > 1:
        notes.append(f"{samples.shape[1]} channels were averaged to mono.")
    mono = torch.from_numpy(samples.mean(axis=1))
    peak = float(mono.abs().max())
    if peak > 1.0:  # float files may exceed full scale: scale back rather than clip
        mono = mono / peak
        notes.append(f"The samples peaked at {peak:.3g} (above full scale 1.0) and were scaled down.")
    if peak < 1e-4:
        raise BadInput("The audio is silent (all zeros or nearly): check that the microphone is on and "
                       "not muted, then record again.")
    clipped = float((mono.abs() >= 0.99 * float(mono.abs().max())).float().mean()) if peak >= 0.99 else 0.0
    if clipped > 0.01:
        notes.append(f"{clipped:.1%} of the samples are clipped (too loud): move away from the "
                     "microphone; the prediction may be less reliable.")
    if sample_rate != SAMPLE_RATE:
        mono = torchaudio.functional.resample(mono, sample_rate, SAMPLE_RATE)
        notes.append(f"Resampled from {sample_rate} Hz to {SAMPLE_RATE} Hz.")
    return mono.contiguous(), notes


def loudest_window(wave: torch.Tensor) -> tuple[torch.Tensor, int]:
    """The one-second window with the most speech energy, and its start (in samples, may be < 0).

    Shorter clips are zero-padded on both sides (centred), as the training clips are.
    Energy is measured after a first difference (pre-emphasis), so low rumble and hum,
    which carry much energy but little speech, do not pull the window towards them.
    """
    n = wave.shape[-1]
    if n <= CLIP_SAMPLES:
        left = (CLIP_SAMPLES - n) // 2
        return torch.nn.functional.pad(wave, (left, CLIP_SAMPLES - n - left)), -left
    emphasised = torch.diff(wave, prepend=wave[:1])
    frames = emphasised[: n // HOP_LENGTH * HOP_LENGTH].reshape(-1, HOP_LENGTH).pow(2).sum(1)
    per_window = CLIP_SAMPLES // HOP_LENGTH
    sums = torch.nn.functional.conv1d(frames[None, None], torch.ones(1, 1, per_window))[0, 0]
    start = int(sums.argmax()) * HOP_LENGTH
    start = min(start, n - CLIP_SAMPLES)
    return wave[start:start + CLIP_SAMPLES], start


# ---------------------------------------------------------------- features

_mel = torchaudio.transforms.MelSpectrogram(
    sample_rate=SAMPLE_RATE, n_fft=N_FFT, win_length=WIN_LENGTH, hop_length=HOP_LENGTH,
    n_mels=N_MELS, f_min=F_MIN, f_max=SAMPLE_RATE / 2, power=2.0)


def log_mel(waves: torch.Tensor) -> torch.Tensor:
    """[B, 16000] waveforms -> [B, 40, 101] log-mel spectrograms, standardised per clip.

    Peak normalisation plus per-clip standardisation make the features independent of microphone
    gain and distance: the models see the shape of the sound, not how loud it was.
    """
    with torch.no_grad():
        # Peak-normalise first, so the 1e-6 floor sits ~100 dB below the signal for quiet and loud clips alike.
        waves = waves / waves.abs().amax(dim=-1, keepdim=True).clamp(min=1e-4)
        spec = torch.log(_mel(waves) + 1e-6)
        mean = spec.mean(dim=(-2, -1), keepdim=True)
        std = spec.std(dim=(-2, -1), keepdim=True)
        return (spec - mean) / (std + 1e-5)


# ---------------------------------------------------------------- the data set on disk

@dataclass(frozen=True)
class Clip:
    path: Path
    label: int
    speaker: str  # "" for background-noise clips


def speaker_of(path: Path) -> str:
    """The speaker hash: the part before '_nohash_' (after the word, for _unknown_ clips)."""
    stem = path.stem
    if "_nohash_" not in stem:
        return ""
    return stem.split("_nohash_")[0].split("_")[-1]


def split_of(clip: Clip, val_percent: int = 15, test_percent: int = 15) -> str:
    """'train', 'val' or 'test', decided by a hash of the speaker, so a speaker is in one split only.

    Noise clips have no speaker and are split by a hash of their file name.
    """
    key = clip.speaker or f"noise/{clip.path.name}"
    bucket = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 100
    if bucket < val_percent:
        return "val"
    if bucket < val_percent + test_percent:
        return "test"
    return "train"


def list_clips(data_dir: str | Path) -> list[Clip]:
    data_dir = Path(data_dir)
    clips = []
    for folder, label in FOLDER_TO_LABEL.items():
        for path in sorted((data_dir / folder).glob("*")):
            if path.suffix.lower() in AUDIO_SUFFIXES:
                clips.append(Clip(path, LABELS.index(label), speaker_of(path)))
    if not clips:
        raise FileNotFoundError(f"no clips under {data_dir}/<label>/*.flac|wav (labels: {list(FOLDER_TO_LABEL)})")
    return clips


def load_clip(path: Path) -> torch.Tensor:
    """A data-set clip as a centred one-second 16 kHz waveform (same path as user audio)."""
    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    mono = torch.from_numpy(samples.mean(axis=1))
    if rate != SAMPLE_RATE:
        mono = torchaudio.functional.resample(mono, rate, SAMPLE_RATE)
    return loudest_window(mono)[0]
