"""Faults: a corrupt, truncated or missing checkpoint and a model that raises. The affected tab
says so clearly (naming the file and how to rebuild it); every other tab keeps working."""

from __future__ import annotations

import shutil
from contextlib import contextmanager

import pytest
from gradio_client.exceptions import AppError

from shared.checkpoints import WEIGHTS_DIR
from shared.lazy import clear_all

VICTIM = WEIGHTS_DIR / "memory" / "L100.safetensors"
VICTIM_CALL = ((100, 100, 0), "/inspect_memory")
BYSTANDER_CALL = (("co2 (Mauna Loa, monthly ppm)", 12), "/forecast_dataset")


@contextmanager
def damaged(path, how: str):
    """Damage a shipped file (or its folder) for the duration of the block, then restore it."""
    target = path.parent if how == "folder missing" else path
    backup = target.with_name(target.name + ".bak")
    if target.is_dir():
        shutil.copytree(target, backup)
    else:
        shutil.copy2(target, backup)
    try:
        if how == "truncated":
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
        elif how == "wrong sha256":
            data = bytearray(path.read_bytes())
            data[-1] ^= 0xFF  # one flipped byte: still parses, but is not the file the card describes
            path.write_bytes(bytes(data))
        elif how == "folder missing":
            shutil.rmtree(target)
        clear_all()
        yield
    finally:
        if target.exists():
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        backup.rename(target)
        clear_all()


@pytest.mark.parametrize("how", ["truncated", "wrong sha256", "folder missing"])
def test_broken_checkpoint_fails_only_its_own_tab(client, how):
    with damaged(VICTIM, how):
        with pytest.raises(AppError) as info:
            client.predict(*VICTIM_CALL[0], api_name=VICTIM_CALL[1])
        message = str(info.value)
        assert "weights/memory/L100" in message and "python -m apps.memory.train" in message, message
        assert "Traceback" not in message
        table, *_ = client.predict(*BYSTANDER_CALL[0], api_name=BYSTANDER_CALL[1])
        assert table["headers"][:4] == ["date", "forecast", "lower", "upper"]
    client.predict(*VICTIM_CALL[0], api_name=VICTIM_CALL[1])  # restored: works again


def test_broken_checkpoint_shows_a_banner_in_its_tab_only(block_outbound_network):
    import app

    with damaged(VICTIM, "truncated"):
        demo = app.build_demo()
    banners = [c for c in demo.config["components"]
               if "checkpoint-error" in (c.get("props", {}).get("elem_classes") or [])]
    assert len(banners) == 1
    assert "L100.safetensors" in banners[0]["props"]["value"]
    assert "python -m apps.memory.train" in banners[0]["props"]["value"]


def test_a_model_that_raises_is_reported_and_the_app_keeps_serving(client, monkeypatch):
    from apps.memory import infer

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure inside the model")

    monkeypatch.setattr(infer, "inspect", broken)
    with pytest.raises(AppError, match="Inspecting the shipped models failed unexpectedly"):
        client.predict(*VICTIM_CALL[0], api_name=VICTIM_CALL[1])
    monkeypatch.undo()
    assert client.predict(api_name="/ping") == "ok"
    client.predict(*VICTIM_CALL[0], api_name=VICTIM_CALL[1])
