"""The memory tab's facts, written once (no torch): lengths, models, names, limits, checkpoint paths.

Imported by tab.py (at start-up), views.py, infer.py, data.py, model.py and train.py.
"""

from __future__ import annotations

from shared.checkpoints import WEIGHTS_DIR
from shared.spec import SEED, Limit

__all__ = ["SEED"]  # the seed box of every view: one range for the whole gallery

WEIGHTS = WEIGHTS_DIR / "memory"
SHIPPED_LENGTHS = (10, 50, 100, 200)  # train.py trains and ships models at these lengths
DEFAULT_TRAINED_LENGTH = 100           # the inspected models when the tab opens


def recurrent_checkpoint(length: int):
    """RNN, LSTM, GRU and order-blind bag trained at `length`, in one file."""
    return WEIGHTS / f"L{length}.safetensors"


def nonrecurrent_checkpoint(length: int):
    """Transformer encoder and 1-D CNN trained at `length`, in one file."""
    return WEIGHTS / f"nonrecurrent_L{length}.safetensors"


RECURRENT_CHECKPOINTS = tuple(recurrent_checkpoint(n) for n in SHIPPED_LENGTHS)
NONRECURRENT_CHECKPOINTS = tuple(nonrecurrent_checkpoint(n) for n in SHIPPED_LENGTHS)
CHECKPOINTS = RECURRENT_CHECKPOINTS + NONRECURRENT_CHECKPOINTS
ACCURACY_PLOT = WEIGHTS / "accuracy_vs_length.png"     # train.py draws it from every card
PARALLELISM = WEIGHTS / "parallelism.json"              # tests/benchmarks/parallelism.py measures it
PARALLELISM_PLOT = WEIGHTS / "parallelism.png"

# The task (data.py): a letter, L - 2 noise symbols, a decoy letter; answer the first letter.
NUM_LETTERS = 8                      # K: the answer is one of 8 letters
NUM_NOISE = 4                        # noise symbols that fill the gap
VOCAB_SIZE = NUM_LETTERS + NUM_NOISE  # token ids: letters 0..7, noise 8..11
SYMBOL_NAMES = "ABCDEFGH" + "wxyz"   # how tokens are shown to learners
CHANCE = 1 / NUM_LETTERS             # 12.5 %: what guessing gets
ORDER_BLIND_BEST = CHANCE + (1 - CHANCE) / 2  # 56.25 %: the best any bag of tokens can do
GRADIENT_BATCH = 64                  # inspection: accuracy and gradient norms over this many sequences

# The 1-D CNN: each causal layer of kernel k sees k - 1 more steps back.
CONV_LAYERS, CONV_KERNEL = 6, 3
CONV_RECEPTIVE_FIELD = 1 + CONV_LAYERS * (CONV_KERNEL - 1)  # 13 tokens

CELLS = ("rnn", "lstm", "gru")                 # the recurrent cells (step-by-step replay, gates)
KINDS = ("rnn", "lstm", "gru", "bag")          # in L<L>.safetensors, trained side by side
NEW_KINDS = ("transformer", "cnn")              # in nonrecurrent_L<L>.safetensors, each trained alone
ALL_KINDS = KINDS + NEW_KINDS
CELL_NAMES = {"rnn": "vanilla RNN", "lstm": "LSTM", "gru": "GRU", "bag": "order-blind bag",
              "transformer": "transformer encoder", "cnn": f"1-D CNN (receptive field {CONV_RECEPTIVE_FIELD})"}
LIVE_DEFAULT_KINDS = ["rnn", "lstm", "gru"]

# Every number a learner can set.
SAMPLE_LENGTH = Limit("sequence length L", 3, 400, default=20)
INPUT_LENGTH = Limit("input length L", 3, 400, default=100)   # any length the shipped models can read
LIVE_LENGTH = Limit("sequence length L", 5, 200, default=50)
LIVE_SECONDS = Limit("time budget (s)", 5, 60, default=60)    # the whole live run, evaluation included
LIVE_MAX_RUNS = 32  # different live runs training at once (identical settings share one run); the rest queue
