"""The gallery shell: checkpoints, the training loop, the registry, CLI flags, the Overview."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from shared.checkpoints import all_cards, load_checkpoint, save_checkpoint, verify_checkpoint
from shared.errors import CheckpointError
from shared.training import fit
from tests.conftest import ROOT

CARD = {"name": "tiny", "architecture": "Linear(3, 2)", "data": "synthetic", "data_license": "n/a",
        "metrics": {"val_acc": 1.0}, "command": "python -m apps.example.train", "seed": 0}


@pytest.fixture
def checkpoint(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = tmp_path / "tiny.safetensors"
    save_checkpoint(model.state_dict(), path, CARD)
    return model, path


def test_checkpoint_round_trip_writes_a_full_card(checkpoint):
    model, path = checkpoint
    state, card = load_checkpoint(path)
    assert torch.equal(state["weight"], model.weight.detach())
    assert card["params"] == 3 * 2 + 2
    assert len(card["sha256"]) == 64 and card["size_bytes"] == path.stat().st_size
    for field in ("name", "architecture", "data", "data_license", "metrics", "command", "seed", "date"):
        assert field in card


def test_truncated_checkpoint_is_refused_with_rebuild_command(checkpoint):
    _, path = checkpoint
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(CheckpointError, match=r"tiny\.safetensors.*corrupt.*python -m apps\.example\.train"):
        load_checkpoint(path)


def test_missing_checkpoint_names_file_and_command(checkpoint):
    _, path = checkpoint
    path.unlink()
    with pytest.raises(CheckpointError, match=r"missing.*python -m apps\.example\.train"):
        verify_checkpoint(path)


def test_pickle_disguised_as_checkpoint_is_never_unpickled(checkpoint, tmp_path):
    _, path = checkpoint
    # A pickle whose card even claims the right hash: it must fail to parse, not execute.
    torch.save({"weight": torch.zeros(2, 3)}, path)
    card = json.loads(path.with_suffix(".json").read_text())
    from shared.checkpoints import sha256_of
    card["sha256"] = sha256_of(path)
    path.with_suffix(".json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError, match="cannot be read"):
        load_checkpoint(path)


def test_card_needs_its_required_fields(tmp_path):
    with pytest.raises(ValueError, match="missing"):
        save_checkpoint({"w": torch.zeros(1)}, tmp_path / "x.safetensors", {"name": "x"})


def test_all_cards_reads_every_shipped_card():
    cards = all_cards()
    assert cards, "weights/ holds no model cards"
    for card in cards:
        assert card["tab"] and card["sha256"] and "metrics" in card and "command" in card


def test_every_shipped_checkpoint_matches_its_card_and_size_rules():
    total = 0
    for card_file in sorted((ROOT / "weights").glob("**/*.json")):
        card = json.loads(card_file.read_text())
        if not isinstance(card, dict) or "sha256" not in card:
            continue
        if "weights_source" in card:  # a published model read from its pip package, not shipped here
            continue
        verify_checkpoint(card_file.parent / card["file"])
    for f in (ROOT / "weights").glob("**/*"):
        if f.is_file():
            assert f.stat().st_size < 10_000_000, f"{f} is over 10 MB (Spaces refuses it without LFS)"
            total += f.stat().st_size
    assert total < 30_000_000, f"weights/ holds {total / 1e6:.1f} MB, over the 30 MB budget"


def test_fit_trains_reports_progress_and_respects_limits():
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = (x.sum(1) > 0).long()
    model = torch.nn.Linear(4, 2)
    batches = [(x[i:i + 32], y[i:i + 32]) for i in range(0, 256, 32)]
    progress = []
    result = fit(model, torch.optim.Adam(model.parameters(), 0.05), batches,
                 lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1]), epochs=5,
                 evaluate=lambda m: {"acc": (m(x).argmax(1) == y).float().mean().item()},
                 on_progress=lambda frac, row: progress.append(frac))
    assert result.steps == 40 and not result.stopped_early
    assert result.history[-1]["acc"] > 0.9
    assert progress[-1] == pytest.approx(1.0) and progress == sorted(progress)

    capped = fit(model, torch.optim.SGD(model.parameters(), 0.01), batches,
                 lambda m, b: torch.nn.functional.cross_entropy(m(b[0]), b[1]), epochs=100, max_steps=7)
    assert capped.steps == 7 and capped.stopped_early


def test_fit_time_limit_stops_cleanly():
    model = torch.nn.Linear(2, 1)

    def endless():
        while True:
            yield torch.randn(8, 2)

    result = fit(model, torch.optim.SGD(model.parameters(), 0.01), endless,
                 lambda m, b: m(b).pow(2).mean(), time_limit_s=0.3)
    assert result.stopped_early and 0.3 <= result.seconds < 5


def test_registry_is_ordered_and_complete():
    from apps import registered_tabs

    tabs = registered_tabs()
    assert tabs, "no tab is registered"
    assert [t.order for t in tabs] == sorted(t.order for t in tabs)
    assert len({t.name for t in tabs}) == len(tabs)
    for tab in tabs:
        for path in tab.checkpoints:
            verify_checkpoint(path)


def test_unknown_tab_names_list_the_valid_ones():
    import app
    from apps import registered_tabs

    with pytest.raises(ValueError) as info:
        app.select_tabs(["no-such-tab"])
    for tab in registered_tabs():
        assert tab.name in str(info.value)


def test_cli_rejects_unknown_tabs_without_traceback():
    result = subprocess.run([sys.executable, "app.py", "--tabs", "nope"], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "unknown tab(s) nope; valid tabs are:" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_defaults_and_port_from_environment(monkeypatch):
    import app

    args = app.parse_args([])
    assert (args.host, args.port, args.share, args.tabs) == ("127.0.0.1", 7860, False, None)
    monkeypatch.setenv("GRADIO_SERVER_PORT", "8123")
    assert app.parse_args([]).port == 8123
    assert app.parse_args(["--port", "9000", "--tabs", "cnn"]).port == 9000


def test_app_sets_offline_defaults_but_respects_the_user():
    code = "import app, os; print(os.environ['GRADIO_ANALYTICS_ENABLED'], os.environ['HF_HUB_OFFLINE'])"
    env = {k: v for k, v in __import__("os").environ.items()
           if k not in ("GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.splitlines()[-1].split() == ["False", "1"], out.stderr[-2000:]
    env["HF_HUB_OFFLINE"] = "0"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.stdout.splitlines()[-1].split() == ["False", "0"]


def test_importing_the_app_loads_no_model_framework():
    """Start-up never waits for a model: building the UI must not import torch or transformers."""
    code = "import sys, app; print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.stdout.splitlines()[-1] == "[]", out.stdout + out.stderr[-2000:]


def test_explanations_work_without_loading_ipython():
    """captum would import IPython (~21 MB) for notebook helpers; the app keeps it out, and the
    attributions still come."""
    code = ("import sys, app\nfrom apps.transformer import infer\n"
            "scores = dict(infer.word_attributions('a dull and boring movie')[0])\n"
            "print(sys.modules.get('IPython'), scores['boring'] < 0)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.stdout.splitlines()[-1] == "None True", out.stdout + out.stderr[-2000:]


def test_overview_models_table_comes_from_the_cards():
    from shared.overview import models_table

    table = models_table()
    assert len(table) == len(all_cards())
    assert set(table["tab"]) == {c["tab"] for c in all_cards()}
