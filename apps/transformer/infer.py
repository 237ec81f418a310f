"""Pure functions behind the transformer tab (no Gradio): what the UI, tests and notebooks call.

    classify_sentiment("a gorgeous, witty film")      -> SentimentResult(probs={'positive': .97, ...})
    attention_maps("The cat that I saw ...", "base")  -> AttentionResult(tokens, weights[L, H, T, T])
    generate("A fortune", max_new_tokens=40, temperature=0.8, top_k=40, seed=1) -> GenerationResult
    positional_encoding(64, 128)                       -> (n_positions, d_model) array

Models load once (shared.lazy.load_once), on first use or from the tab's warm-up.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from apps.transformer import data
from apps.transformer.model import mean_pool, sinusoidal_encoding
from shared.checkpoints import WEIGHTS_DIR, load_checkpoint, verify_checkpoint
from shared.errors import BadInput
from shared.lazy import load_once

SENTIMENT_PATH = WEIGHTS_DIR / "transformer" / "sentiment_lora.safetensors"
GPT_DIR = WEIGHTS_DIR / "transformer" / "fortune_gpt"
GPT_WEIGHTS = GPT_DIR / "model.safetensors"

MAX_CHARS = 5_000             # longer input is cut before tokenising (100k chars would only cost time)
CLASSIFY_MAX_TOKENS = 128     # MiniLM reads at most this many WordPiece tokens for a decision
ATTENTION_MAX_TOKENS = data.MAX_TOKENS  # a 64 x 64 heat map is still readable
MAX_NEW_TOKENS = 100
GPT_CONTEXT = 128             # the tiny GPT's n_positions
EXAMPLE_SENTENCES = ("The cat that I saw yesterday was sleeping",
                     "The dog chased the ball because it was excited")


# --- input hygiene -----------------------------------------------------------------------------

def clean_input(text, what: str = "text") -> tuple[str, list[str]]:
    """Validate and tidy user text; returns (text, notes to show). Raises BadInput when unusable."""
    if text is None or not isinstance(text, str):
        raise BadInput(f"Type some {what} first.")
    notes = []
    if len(text) > MAX_CHARS:
        notes.append(f"Your text has {len(text):,} characters; only the first {MAX_CHARS:,} are read.")
        text = text[:MAX_CHARS]
    # Control and invisible format characters (zero-width spaces, BOMs, direction marks) carry no
    # meaning for the model: drop them, say so.
    def invisible(c: str) -> bool:
        return unicodedata.category(c) in ("Cc", "Cf") and c not in "\t\n\r"

    controls = sum(1 for c in text if invisible(c))
    if controls:
        text = "".join(c for c in text if not invisible(c))
        notes.append(f"Removed {controls} control character(s) (invisible ones included).")
    text = re.sub(r"\s+", " ", text).strip()
    if not text:
        raise BadInput(f"The {what} is empty (or only spaces/control characters): type a sentence.")
    return text, notes


def _non_latin_note(text: str) -> list[str]:
    letters = [c for c in text if c.isalpha()]
    foreign = sum(1 for c in letters if not unicodedata.name(c, "").startswith("LATIN"))
    if letters and foreign / len(letters) > 0.3:
        return ["Much of this text is not in the Latin alphabet: these models learnt English only, "
                "so treat the result with suspicion."]
    return []


# --- MiniLM and the sentiment model ----------------------------------------------------------

@load_once
def minilm():
    """(tokenizer, model) of the packaged all-MiniLM-L6-v2, eager attention so weights can be returned."""
    from transformers import AutoModel, AutoTokenizer

    path = data.minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModel.from_pretrained(path, attn_implementation="eager").eval()
    return tokenizer, model


@dataclass
class SentimentModel:
    encoder: torch.nn.Module      # MiniLM with the LoRA updates merged into its top layers
    head: torch.nn.Linear         # mean-pooled sentence vector -> (negative, positive)
    probe: torch.nn.Linear        # the frozen-MiniLM baseline's linear head
    card: dict


@load_once
def sentiment_model() -> SentimentModel:
    """The base MiniLM + this project's LoRA delta (merged: W + alpha/r * B A), loaded once."""
    tensors, card = load_checkpoint(SENTIMENT_PATH)
    _, base = minilm()
    encoder = copy.deepcopy(base)
    scale = card["lora"]["alpha"] / card["lora"]["rank"]
    params = dict(encoder.named_parameters())
    with torch.no_grad():
        for name, value in tensors.items():
            if name.endswith(".lora_A"):
                prefix = name[: -len(".lora_A")]
                params[prefix + ".weight"] += scale * tensors[prefix + ".lora_B"] @ value
            elif "LayerNorm" in name:
                params[name].copy_(value)
    head, probe = torch.nn.Linear(384, 2), torch.nn.Linear(384, 2)
    head.load_state_dict({"weight": tensors["head.weight"], "bias": tensors["head.bias"]})
    probe.load_state_dict({"weight": tensors["probe.weight"], "bias": tensors["probe.bias"]})
    return SentimentModel(encoder.eval(), head.eval(), probe.eval(), card)


def _encode(texts: list[str], max_tokens: int):
    tokenizer, _ = minilm()
    return tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")


@torch.no_grad()
def sentiment_probs(texts: list[str], max_tokens: int = CLASSIFY_MAX_TOKENS, batch_size: int = 64,
                    with_frozen: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """P(negative), P(positive) for each text from the fine-tuned model (and from the frozen probe)."""
    model = sentiment_model()
    _, base = minilm()
    order = np.argsort([len(t) for t in texts], kind="stable")  # similar lengths batch with little padding
    tuned, frozen = [], []
    for b in range(0, len(texts), batch_size):
        enc = _encode([texts[i] for i in order[b:b + batch_size]], max_tokens)
        mask = enc["attention_mask"]
        tuned.append(model.head(mean_pool(model.encoder(**enc).last_hidden_state, mask)).softmax(-1))
        if with_frozen:
            frozen.append(model.probe(mean_pool(base(**enc).last_hidden_state, mask)).softmax(-1))
    unsort = np.argsort(order)
    return torch.cat(tuned).numpy()[unsort], (torch.cat(frozen).numpy()[unsort] if with_frozen else None)


@dataclass
class SentimentResult:
    probs: dict[str, float]          # fine-tuned model, the one the app serves
    frozen_probs: dict[str, float]   # frozen MiniLM + linear head, for comparison
    notes: list[str] = field(default_factory=list)


def classify_sentiment(text) -> SentimentResult:
    text, notes = clean_input(text, "text")
    tokenizer, _ = minilm()
    ids = tokenizer(text)["input_ids"]
    if len(ids) > CLASSIFY_MAX_TOKENS:
        notes.append(f"The text is {len(ids)} tokens long; the model reads the first {CLASSIFY_MAX_TOKENS}.")
    unknown = ids.count(tokenizer.unk_token_id)
    if unknown:
        notes.append(f"{unknown} piece(s) are unknown to MiniLM's vocabulary (e.g. emoji) and read as [UNK].")
    notes += _non_latin_note(text)
    tuned, frozen = sentiment_probs([text])
    return SentimentResult(dict(zip(data.LABELS, map(float, tuned[0]))),
                           dict(zip(data.LABELS, map(float, frozen[0]))), notes)


def accuracy_on_file(path: str | Path = data.HELDOUT_FILE) -> float:
    """Accuracy of the served model on a `label<TAB>text` file (the card's figure)."""
    texts, labels = data.read_sentences(path)
    tuned, _ = sentiment_probs(texts, with_frozen=False)
    return float((tuned.argmax(1) == labels).mean())


def word_attributions(text) -> tuple[list[tuple[str, float]], list[str]]:
    """Integrated gradients (captum) of the fine-tuned model's positive-minus-negative logit with
    respect to the token embeddings: > 0 pushed towards positive, < 0 towards negative (scaled to ±1)."""
    from captum.attr import LayerIntegratedGradients

    text, notes = clean_input(text, "text")
    tokenizer, _ = minilm()
    model = sentiment_model()
    enc = _encode([text], CLASSIFY_MAX_TOKENS)
    ids, mask = enc["input_ids"], enc["attention_mask"]

    def log_odds(input_ids):
        hidden = model.encoder(input_ids=input_ids, attention_mask=mask.expand(len(input_ids), -1)).last_hidden_state
        logits = model.head(mean_pool(hidden, mask.expand(len(input_ids), -1)))
        return logits[:, 1] - logits[:, 0]

    # Baseline: the same length of [PAD] between [CLS] and [SEP], i.e. "no words".
    baseline = torch.full_like(ids, tokenizer.pad_token_id)
    baseline[0, 0], baseline[0, -1] = ids[0, 0], ids[0, -1]
    ig = LayerIntegratedGradients(log_odds, model.encoder.embeddings.word_embeddings)
    attributions = ig.attribute(ids, baselines=baseline, n_steps=24, internal_batch_size=24)
    scores = attributions.sum(-1)[0]
    scores = (scores / scores.abs().max().clamp(min=1e-9)).tolist()
    tokens = tokenizer.convert_ids_to_tokens(ids[0])
    return [(t, round(s, 3)) for t, s in zip(tokens, scores) if t not in ("[CLS]", "[SEP]")], notes


# --- attention explorer ------------------------------------------------------------------------

@dataclass
class AttentionResult:
    tokens: list[str]
    weights: np.ndarray              # (layers, heads, T, T): row = the token that looks, column = looked at
    notes: list[str] = field(default_factory=list)


@torch.no_grad()
def attention_maps(text, which: str = "base") -> AttentionResult:
    """Real softmax attention weights of MiniLM ("base") or of the served sentiment model ("sentiment")."""
    text, notes = clean_input(text, "sentence")
    tokenizer, base = minilm()
    model = sentiment_model().encoder if which == "sentiment" else base
    ids = tokenizer(text)["input_ids"]
    if len(ids) > ATTENTION_MAX_TOKENS:
        notes.append(f"The sentence is {len(ids)} tokens long; the map shows the first {ATTENTION_MAX_TOKENS}.")
    enc = _encode([text], ATTENTION_MAX_TOKENS)
    out = model(**enc, output_attentions=True)
    weights = torch.stack(out.attentions)[:, 0].numpy()  # (L, 1, H, T, T) -> (L, H, T, T)
    return AttentionResult(tokenizer.convert_ids_to_tokens(enc["input_ids"][0]), weights, notes)


# --- tiny GPT ---------------------------------------------------------------------------------

@load_once
def gpt():
    """(tokenizer, model) of the fortune GPT, from weights/ in Hugging Face format (fp16 on disk)."""
    from transformers import AutoTokenizer, GPT2LMHeadModel

    card = verify_checkpoint(GPT_WEIGHTS)
    tokenizer = AutoTokenizer.from_pretrained(GPT_DIR)
    model = GPT2LMHeadModel.from_pretrained(GPT_DIR, dtype=torch.float32, attn_implementation="eager").eval()
    return tokenizer, model, card


@dataclass
class GenerationResult:
    text: str                                   # prompt + continuation
    prompt_tokens: list[str]
    new_tokens: list[str]
    steps: list[dict]                           # per new token: chosen token, its probability, top alternatives
    attention: np.ndarray                       # (layers, heads, T, T) causal attention over the final text
    notes: list[str] = field(default_factory=list)


def _clamp(value, low, high, name: str, notes: list[str], default):
    try:
        number = float(value)
    except (TypeError, ValueError):
        notes.append(f"{name} {value!r} is not a number; used {default}.")
        return default
    if not np.isfinite(number):
        notes.append(f"{name} {value!r} is not finite; used {default}.")
        return default
    clamped = min(max(number, low), high)
    if clamped != number:
        notes.append(f"{name} {_num(number)} is outside {_num(low)} to {_num(high)}; used {_num(clamped)}.")
    return clamped


def _num(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() else f"{x:g}"


@torch.no_grad()
def generate(prompt, max_new_tokens=40, temperature=0.8, top_k=40, seed=0) -> GenerationResult:
    """Sample a continuation token by token (temperature, top-k, seeded: same inputs, same text)."""
    notes: list[str] = []
    prompt = "" if prompt is None else prompt
    if not isinstance(prompt, str):
        raise BadInput("The prompt must be text.")
    if prompt.strip():
        prompt, notes = clean_input(prompt, "prompt")
    if any(ord(c) > 127 for c in prompt):
        notes.append("The model was trained on plain-ASCII English fortunes: other characters are rare bytes to it.")
    tokenizer, model, _ = gpt()
    max_new_tokens = int(_clamp(max_new_tokens, 1, MAX_NEW_TOKENS, "max_new_tokens", notes, 40))
    temperature = _clamp(temperature, 0.0, 2.0, "temperature", notes, 0.8)
    top_k = int(_clamp(top_k, 0, len(tokenizer), "top_k", notes, 40))
    seed = int(_clamp(seed, 0, 2**31 - 1, "seed", notes, 0))

    # An empty prompt starts a new fortune: the model learnt that one begins after <|endoftext|>.
    ids = [tokenizer.eos_token_id] + tokenizer(prompt)["input_ids"] if prompt else [tokenizer.eos_token_id]
    room = GPT_CONTEXT - max_new_tokens
    if len(ids) > room:
        notes.append(f"The prompt is {len(ids) - 1} tokens; with {max_new_tokens} new tokens the "
                     f"{GPT_CONTEXT}-token context keeps only its last {room - 1}.")
        ids = [tokenizer.eos_token_id] + ids[-(room - 1):]
    n_prompt = len(ids)
    generator = torch.Generator().manual_seed(seed)
    steps, past = [], None
    next_input = torch.tensor([ids])
    for _ in range(max_new_tokens):
        out = model(input_ids=next_input, past_key_values=past, use_cache=True)
        past = out.past_key_values
        probs = out.logits[0, -1].float().softmax(-1)        # the model's real distribution
        sampling = _sampling_distribution(out.logits[0, -1].float(), temperature, top_k)
        token = int(torch.multinomial(sampling, 1, generator=generator)) if temperature > 0 else int(sampling.argmax())
        top_p, top_i = probs.topk(5)
        steps.append({"token": tokenizer.decode([token]), "probability": float(probs[token]),
                      "top_5": [(tokenizer.decode([int(i)]), float(p)) for p, i in zip(top_p, top_i)]})
        ids.append(token)
        if token == tokenizer.eos_token_id:
            notes.append("The model ended the fortune (<|endoftext|>).")
            break
        next_input = torch.tensor([[token]])
    attention = torch.stack(model(input_ids=torch.tensor([ids]), output_attentions=True).attentions)[:, 0].numpy()
    continuation = [i for i in ids[n_prompt:] if i != tokenizer.eos_token_id]
    text = tokenizer.decode(ids[1:n_prompt]) + tokenizer.decode(continuation)
    as_tokens = lambda seq: [tokenizer.decode([i]) for i in seq]  # noqa: E731
    return GenerationResult(text, as_tokens(ids[:n_prompt]), as_tokens(ids[n_prompt:]), steps, attention, notes)


def _sampling_distribution(logits: torch.Tensor, temperature: float, top_k: int) -> torch.Tensor:
    """Temperature 0 = greedy (one-hot on the argmax); top_k 0 = no cut."""
    if temperature <= 0:
        return torch.nn.functional.one_hot(logits.argmax(), logits.numel()).float()
    if 0 < top_k < logits.numel():
        kth = logits.topk(top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    return (logits / temperature).softmax(-1)


def heldout_bits_per_char(path: str | Path) -> float:
    """The GPT's bits per character on a text file of fortunes (one per line), as in the card."""
    import math

    tokenizer, model, _ = gpt()
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    ids = []
    for line in lines:
        ids += tokenizer(line)["input_ids"] + [tokenizer.eos_token_id]
    stream = torch.tensor(ids)
    windows = stream[: len(stream) // GPT_CONTEXT * GPT_CONTEXT].view(-1, GPT_CONTEXT)
    nll = 0.0
    with torch.no_grad():
        for b in range(0, len(windows), 32):
            x = windows[b:b + 32]
            logits = model(input_ids=x).logits[:, :-1]
            nll += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1),
                                                     reduction="sum").item()
    chars_per_token = sum(len(line) + 1 for line in lines) / len(stream)
    return nll / (windows[:, 1:].numel() * chars_per_token) / math.log(2)


# --- positional encoding --------------------------------------------------------------------

def positional_encoding(n_positions: int = 64, d_model: int = 128) -> np.ndarray:
    n_positions = int(min(max(int(n_positions), 2), 512))
    d_model = int(min(max(int(d_model) // 2 * 2, 4), 512))
    return sinusoidal_encoding(n_positions, d_model)


def position_similarity(encoding: np.ndarray) -> np.ndarray:
    """Cosine similarity between every pair of position vectors: nearby positions look alike."""
    unit = encoding / np.linalg.norm(encoding, axis=1, keepdims=True)
    return unit @ unit.T


def load_models() -> None:
    """Warm-up: load every model this tab serves (app.py calls it in a background thread)."""
    minilm()
    sentiment_model()
    gpt()
