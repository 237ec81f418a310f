"""The memory task: which letter came first? (a "temporal order" task, Hochreiter & Schmidhuber 1997)

    x = [A, w, z, x, x, ..., y, F]    a letter, L - 2 noise symbols, then a second (decoy) letter
    y = A                             answered after the last step, when the decoy has just arrived

L is the sequence length: the answer was seen L - 1 steps before the question. A recurrent
model must write the first letter into its memory, keep it through the noise, and not let the
decoy overwrite it. Chance is 1/K = 12.5 %. An order-blind model (bag of tokens) sees both
letters but not which came first, so its best is 1/K + (1 - 1/K)/2 = 56.25 %
(right when the two letters agree, a coin flip otherwise).

The data are generated, so train.py, the app and the tests all draw from `make_batch` with a
seed: no files, no downloads, and the held-out set is simply a different seed.
"""

from __future__ import annotations

import torch

from apps.memory.spec import (  # noqa: F401 - the task's constants, read as data.X by train.py and tests
    CHANCE,
    NUM_LETTERS,
    NUM_NOISE,
    ORDER_BLIND_BEST,
    SYMBOL_NAMES,
    VOCAB_SIZE,
)

TEST_SEED = 1234                     # held-out sequences (training never uses this seed)


def make_batch(batch_size: int, length: int, generator: torch.Generator | None = None):
    """A batch of the task: tokens (B, L) int64 and targets (B,) = the first letter."""
    tokens = torch.randint(NUM_LETTERS, VOCAB_SIZE, (batch_size, length), generator=generator)
    first = torch.randint(0, NUM_LETTERS, (batch_size,), generator=generator)
    decoy = torch.randint(0, NUM_LETTERS, (batch_size,), generator=generator)  # may equal `first`
    tokens[:, 0], tokens[:, -1] = first, decoy
    return tokens, first


def held_out(length: int, size: int = 2000, seed: int = TEST_SEED):
    """A fixed held-out set for one length: same seed, same sequences, on every machine."""
    return make_batch(size, length, torch.Generator().manual_seed(seed + length))


def training_batches(length: int, batch_size: int, steps_per_epoch: int, generator: torch.Generator):
    """A callable for shared.training.fit: each call yields a fresh 'epoch' of new sequences.

    Fresh data every step: the models cannot memorise a training set, only learn the rule.
    """
    class Epoch:
        def __len__(self):
            return steps_per_epoch

        def __iter__(self):
            for _ in range(steps_per_epoch):
                yield make_batch(batch_size, length, generator)

    return Epoch


def render(tokens, max_chars: int = 120) -> str:
    """A sequence as text, e.g. 'C wzyxw…xzy F': long middles are shortened with '…'."""
    text = "".join(SYMBOL_NAMES[int(t)] for t in tokens)
    first, middle, last = text[0], text[1:-1], text[-1]
    if len(middle) > max_chars:
        middle = middle[: max_chars // 2] + "…" + middle[-max_chars // 2:]
    return f"{first} {middle} {last}"
