"""Checkpoints: safetensors weights with a JSON model card beside each file.

    weights/<tab>/<name>.safetensors   the tensors (never a pickle)
    weights/<tab>/<name>.json          the model card: data, license, metrics, command, seed, sha256

`save_checkpoint` is what every train.py calls last; `load_checkpoint` verifies the sha256
before it reads a single tensor, so a truncated or swapped file fails with a message that
names the file and the command that rebuilds it.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
from pathlib import Path
from typing import Any

from shared.errors import CheckpointError

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_ROOT / "weights"

# Fields every card carries; train scripts pass the first group, save_checkpoint fills the rest.
CARD_FIELDS_FROM_TRAINER = (
    "name", "architecture", "data", "data_license", "metrics", "command", "seed",
)
CARD_FIELDS_COMPUTED = ("params", "file", "size_bytes", "sha256", "date")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def card_path(weights_path: Path) -> Path:
    return Path(weights_path).with_suffix(".json")


def save_checkpoint(tensors: dict, path: str | Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write `tensors` (a state_dict) as safetensors and its model card; return the card.

    `card` must hold CARD_FIELDS_FROM_TRAINER; anything else (notes, comparison tables,
    label names, preprocessing constants) is kept as given.
    """
    from safetensors.torch import save_file  # torch import is deferred: start-up stays fast

    missing = [k for k in CARD_FIELDS_FROM_TRAINER if k not in card]
    if missing:
        raise ValueError(f"model card is missing {missing}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # safetensors refuses shared or non-contiguous storage; clone keeps the file self-contained.
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    save_file(tensors, str(path))
    path.chmod(0o644)  # readable by whichever user serves the app
    full_card = dict(card)
    full_card.setdefault("params", int(sum(t.numel() for t in tensors.values())))
    return update_card(path, full_card)


def update_card(weights_path: str | Path, card: dict[str, Any]) -> dict[str, Any]:
    """Write the model card of an existing checkpoint (e.g. new held-out metrics) without touching
    its weights; the file facts (name, size, sha256, date) are read from the file again."""
    path = Path(weights_path)
    full_card = dict(card)
    full_card["file"] = path.name
    full_card["size_bytes"] = path.stat().st_size
    full_card["sha256"] = sha256_of(path)
    full_card["date"] = _dt.date.today().isoformat()
    card_path(path).write_text(json.dumps(full_card, indent=2, ensure_ascii=False) + "\n")
    return full_card


def read_card(weights_path: str | Path) -> dict[str, Any]:
    path = card_path(Path(weights_path))
    if not path.exists():
        raise CheckpointError(f"model card {_rel(path)} is missing. Rebuild it with: {_default_rebuild(path)}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise CheckpointError(f"model card {_rel(path)} is not valid JSON ({e}).") from e


def verify_checkpoint(weights_path: str | Path) -> dict[str, Any]:
    """Check that the file exists and its sha256 matches the card; return the card."""
    path = Path(weights_path)
    card = read_card(path)
    rebuild = card.get("command", "the tab's train.py")
    if not path.exists():
        raise CheckpointError(f"checkpoint {_rel(path)} is missing. Rebuild it with: {rebuild}")
    actual = sha256_of(path)
    if actual != card.get("sha256"):
        raise CheckpointError(
            f"checkpoint {_rel(path)} is corrupt or was replaced (sha256 {actual[:12]}… does not "
            f"match its model card's {str(card.get('sha256'))[:12]}…). Rebuild it with: {rebuild}"
        )
    return card


def load_checkpoint(weights_path: str | Path) -> tuple[dict, dict[str, Any]]:
    """Verify, then load the tensors with safetensors (no unpickling). Returns (state_dict, card)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    card = verify_checkpoint(weights_path)
    try:
        return load_file(str(weights_path)), card
    except (SafetensorError, OSError) as e:  # sha matched but unreadable: a card written for a bad file
        raise CheckpointError(f"checkpoint {_rel(Path(weights_path))} cannot be read ({e}). "
                              f"Rebuild it with: {card.get('command')}") from e


def all_cards(weights_dir: Path = WEIGHTS_DIR) -> list[dict[str, Any]]:
    """Every model card under weights/, with its tab (folder) added; for the Overview table."""
    cards = []
    for path in sorted(Path(weights_dir).glob("**/*.json")):
        try:
            card = json.loads(path.read_text())
        except json.JSONDecodeError:
            continue
        if not isinstance(card, dict) or "sha256" not in card:
            continue  # not a model card (e.g. a label list or a tokenizer file)
        card["tab"] = path.relative_to(weights_dir).parts[0]
        cards.append(card)
    return cards


def _default_rebuild(path: Path) -> str:
    """weights/<tab>/... is rebuilt by `python -m apps.<tab>.train` (used when the card is gone too)."""
    try:
        tab = Path(path).resolve().relative_to(WEIGHTS_DIR).parts[0]
    except ValueError:
        return "the tab's train.py"
    return f"python -m apps.{tab}.train"


def _rel(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)
