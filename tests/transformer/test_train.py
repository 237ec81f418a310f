"""Transformer tab's training code that runs without the training data: the soup of LoRA runs,
keep-best training on a budgeted schedule, and the commands the cards name.

Run: python -m pytest tests/transformer/test_train.py -x -q
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from apps.transformer import spec
from apps.transformer.fitting import Batches, Probe, accuracy_of, train_keeping_best
from apps.transformer.model import LoRALinear
from apps.transformer.soup import make_soup
from shared.checkpoints import REPO_ROOT, read_card


def test_a_soup_of_lora_runs_is_exactly_their_averaged_update():
    torch.manual_seed(0)
    base = torch.nn.Linear(8, 5)
    runs, merged = [], []
    for _ in range(3):
        adapter = LoRALinear(base, rank=4, alpha=8)
        torch.nn.init.normal_(adapter.lora_B)
        runs.append({"tensors": {"x.lora_A": adapter.lora_A.data, "x.lora_B": adapter.lora_B.data,
                                 "x.LayerNorm.weight": torch.randn(5)}})
        merged.append(adapter.merged_weight())
    soup = make_soup(runs)
    served = LoRALinear.from_factors(base, soup["x.lora_A"], soup["x.lora_B"], alpha=2 * 12)
    torch.testing.assert_close(served.merged_weight(), torch.stack(merged).mean(0))
    torch.testing.assert_close(soup["x.LayerNorm.weight"], torch.stack([r["tensors"]["x.LayerNorm.weight"] for r in runs]).mean(0))


def _toy_batches(seed: int, n: int = 256):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 6, generator=generator)
    y = (x[:, 0] + 0.5 * x[:, 1] > 0).long()
    return Batches((x, y), 32, shuffle=True, seed=seed)


@pytest.mark.parametrize("keep_last", [False, True])
def test_training_keeps_the_best_validation_step_and_ends_annealed(keep_last):
    torch.manual_seed(0)
    model = Probe(torch.nn.Linear(6, 2))
    params = list(model.parameters())
    train, val = _toy_batches(0), _toy_batches(1)
    result, best = train_keeping_best(model, params, train, val, lr=0.05, epochs=4, time_limit_s=60,
                                      eval_every=4, keep_last=keep_last)
    evaluations = [row["val_acc"] for row in result.history if "val_acc" in row]
    if keep_last:  # nothing held out to choose by: no validation figure, the last step is kept
        assert best is None and not evaluations
    else:
        assert best == max(evaluations) and accuracy_of(model, val) == pytest.approx(best)
        assert best > 0.8  # a separable toy problem
    assert result.steps == 4 * len(train)


def test_the_commands_in_the_cards_still_parse():
    """The cards' commands name this module's sub-commands and options (nothing is run)."""
    out = subprocess.run([sys.executable, "-m", "apps.transformer.train", "--help"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    for path in (spec.SENTIMENT_PATH, spec.GPT_WEIGHTS):
        words = read_card(path)["command"].split()
        assert words[:4] == ["python", "-m", "apps.transformer.train", words[3]] and words[3] in ("sentiment", "gpt")
        for option in (w for w in words if w.startswith("--")):
            assert option in out.stdout, option
