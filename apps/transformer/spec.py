"""The transformer tab's facts, written once (torch-free): checkpoints, bundled data, model shapes,
choices, defaults and limits. Imported by tab.py, views.py, infer.py, data.py and train.py."""

from __future__ import annotations

from pathlib import Path

from shared.checkpoints import WEIGHTS_DIR
from shared.spec import SEED, Limit

# --- checkpoints and bundled data ------------------------------------------------------------
SENTIMENT_PATH = WEIGHTS_DIR / "transformer" / "sentiment_lora.safetensors"
GPT_DIR = WEIGHTS_DIR / "transformer" / "fortune_gpt"
GPT_WEIGHTS = GPT_DIR / "model.safetensors"
ASSETS = Path(__file__).parent / "assets"
HELDOUT_SENTENCES = ASSETS / "heldout_sentences.tsv"  # the sentiment model's 1,000 test sentences
HELDOUT_FORTUNES = ASSETS / "heldout_fortunes.txt"    # the GPT's held-out fortunes
# Short reviews from outside the movie domain, never trained on: UCI "Sentiment Labelled Sentences"
# (Kotzias et al., KDD 2015; CC BY 4.0), 1,000 Yelp restaurant and 1,000 Amazon phone-accessory
# sentences, 500 positive and 500 negative each.
OUT_OF_DOMAIN_FILES = {"yelp restaurant reviews": ASSETS / "ood_yelp.tsv",
                       "amazon product reviews": ASSETS / "ood_amazon.tsv"}

# --- MiniLM (all-MiniLM-L6-v2) and the sentiment model ---------------------------------------
MINILM_LAYERS = 6                 # tests check these against the loaded model's config
MINILM_HEADS = 12
MINILM_HIDDEN = 384
LABELS = ("negative", "positive")  # index = class id
MAX_TOKENS = 64                    # trained and attention length; p99 of the sentences is 56 WordPiece tokens
CLASSIFY_MAX_TOKENS = 128          # MiniLM reads at most this many tokens for a decision
MAX_CHARS = 5_000                  # longer input is cut before tokenising (100k chars would only cost time)
ACCURACY_GOAL = 0.85               # on the 1,000 held-out sentences
MODELS = ("base", "sentiment")
MODEL_CHOICES = [("MiniLM as pretrained", "base"), ("the fine-tuned sentiment model", "sentiment")]
DEFAULT_MODEL = "base"

SENTIMENT_EXAMPLES = (
    "a gorgeous, witty, seductive movie.",
    "the plot is nothing but boilerplate clichés from start to finish.",
    "The battery died after two days and support never answered.",
    "Great food, friendly staff, we will definitely come back!",
    "not as bad as I feared, but not good either.",
)
EXAMPLE_SENTENCES = ("The dog chased the ball because it was excited",
                     "The cat that I saw yesterday was sleeping")
DEFAULT_SENTENCE = EXAMPLE_SENTENCES[0]  # opens on "it": which word does it look at?

LAYER = Limit("Layer", 1, MINILM_LAYERS, default=3)
HEAD = Limit("the head (0 = the average of all heads)", 0, MINILM_HEADS, default=0)
HEAD_CHOICES = ([(f"average of the {MINILM_HEADS} heads", 0)]
                + [(f"head {h}", h) for h in range(1, MINILM_HEADS + 1)])

# --- the fortune GPT -------------------------------------------------------------------------
GPT_CONTEXT = 128                  # n_positions: prompt + new tokens
GPT_VOCAB = 1024                   # byte-level BPE
DEFAULT_PROMPT = "The secret of life is"
MAX_NEW_TOKENS = Limit("max new tokens", 1, 100, default=40)
TEMPERATURE = Limit("temperature", 0.0, 2.0, default=0.8, step=0.05, integer=False)
TOP_K = Limit("top-k (0 = no limit)", 0, 200, default=40)
GPT_SEED = SEED                    # the opening text uses its default: the same text for everyone

# --- positional encoding ---------------------------------------------------------------------
POSITIONS = Limit("positions", 8, 256, default=64)
DIMENSIONS = Limit("embedding dimensions", 16, 512, default=128, step=2)
