"""`python -m apps.speech.train` end to end on a tiny data set built from the shipped clips (one epoch):
it writes a checkpoint and a card with the test figure's interval and the exact command."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf

from apps.speech import data, scores, spec, train
from shared.checkpoints import load_checkpoint

# Speaker ids whose hash lands in each split (data.split_of), so every split has clips.
SPEAKER_OF_SPLIT = {"train": "aaaa", "val": "cccc", "test": "2222"}


@pytest.fixture
def tiny_data(tmp_path):
    root = tmp_path / "speech_commands"
    for i, (name, label) in enumerate(spec.clip_labels().items()):
        folder = {"unknown": "_unknown_", "silence": "_silence_"}.get(label, label)
        speaker = list(SPEAKER_OF_SPLIT.values())[i % 3]
        stem = f"{speaker}_nohash_{i}" if folder != "_unknown_" else f"marvin_{speaker}_nohash_{i}"
        (root / folder).mkdir(parents=True, exist_ok=True)
        shutil.copy(spec.ASSETS_DIR / name, root / folder / f"{stem}.flac")
    rng = np.random.default_rng(0)
    for i in range(12):  # background noise: no speaker, split by file name
        (root / "_silence_").mkdir(exist_ok=True)
        sf.write(root / "_silence_" / f"noise{i}.wav", (rng.standard_normal(16_000) * 0.05).astype(np.float32), 16_000)
    splits = {data.split_of(c) for c in data.list_clips(root)}
    assert splits == {"train", "val", "test"}
    return root


def test_one_epoch_writes_a_checkpoint_and_an_honest_card(tiny_data, tmp_path, monkeypatch):
    monkeypatch.setattr(train, "CACHE", tmp_path / "waves.pt")  # not the real data set's cache
    argv = ["--data-dir", str(tiny_data), "--models", "gru", "--epochs", "1", "--out-dir", str(tmp_path / "out")]
    train.main(argv)
    state, card = load_checkpoint(tmp_path / "out" / "speech_gru.safetensors")
    assert set(state) == set(load_checkpoint(spec.CHECKPOINTS["gru"])[0])
    metrics = card["metrics"]
    correct = round(metrics["test_acc_heldout_speakers"] * metrics["test_clips"])
    assert metrics["test_ci95"] == pytest.approx(scores.wilson_interval(correct, metrics["test_clips"]), abs=1e-4)
    assert card["command"] == "python -m apps.speech.train " + " ".join(argv)
    assert "optimistic" in card["notes"][0]
    assert card["goal"].startswith("≥ 90 % on voices it never heard")
