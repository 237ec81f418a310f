"""Whisper's share of the server's peak memory, step by step, in a fresh process.

    python -m tests.benchmarks.speech_memory            # the default dtype (bfloat16 where native)
    WHISPER_DTYPE=float32 python -m tests.benchmarks.speech_memory

The server imports torch and transformers for other tabs anyway, so they are imported first and
the table starts from there. Each row is the peak resident memory (VmHWM) after one step and its
growth over the row before: loading Whisper, a transcription with its cross-attention (what
/transcribe_speech and /explain_transcription do), the head on the encoder (/recognize_speech),
Whisper zero-shot on the twelve labels. `python -m tests.benchmarks` measures the whole server.
"""

from __future__ import annotations

import os
from pathlib import Path


def peak_and_current_mb() -> tuple[float, float]:
    values = {}
    for line in Path(f"/proc/{os.getpid()}/status").read_text().splitlines():
        if line.startswith(("VmHWM:", "VmRSS:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values["VmHWM"], values["VmRSS"]


def main() -> None:
    import torch
    import transformers  # noqa: F401  (imported by the server for the transformer tab)
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration  # noqa: F401

    import shared.plots  # noqa: F401  (matplotlib: every tab draws)

    torch.set_num_threads(1)
    from apps.speech import spec, whisper

    rows = [("torch, transformers, matplotlib and the speech tab imported", *peak_and_current_mb())]
    loaded = whisper.load_whisper()
    rows.append((f"Whisper tiny.en loaded ({str(loaded.dtype).removeprefix('torch.')})", *peak_and_current_mb()))
    wave = whisper.read_audio(spec.DEFAULT_CLIP)[0]
    result = whisper.transcribe_samples(wave, with_attention=False)
    rows.append((f"transcribed ({result.text!r})", *peak_and_current_mb()))
    whisper.attention_figure(whisper.transcribe_samples(wave, with_attention=True))
    rows.append(("transcribed again, with its cross-attention drawn", *peak_and_current_mb()))
    try:
        from apps.speech import transfer
    except ImportError:
        transfer = None
    if transfer is not None and transfer.WEIGHTS.exists():
        label = spec.LABELS[int(transfer.recognize(wave).argmax())]
        rows.append((f"head on the encoder ({label})", *peak_and_current_mb()))
        label = spec.LABELS[int(transfer.zero_shot(wave).argmax())]
        rows.append((f"zero-shot on the twelve labels ({label})", *peak_and_current_mb()))
    print("| step | peak (MB) | growth of the peak (MB) | resident now (MB) |\n|---|---|---|---|")
    previous = rows[0][1]
    for name, peak, current in rows:
        print(f"| {name} | {peak:.0f} | {peak - previous:+.0f} | {current:.0f} |")
        previous = peak
    print(f"| Whisper's share of the peak | | {rows[-1][1] - rows[0][1]:+.0f} | |")


if __name__ == "__main__":
    main()
