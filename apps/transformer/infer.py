"""Pure functions behind the transformer tab (no Gradio): what the UI, tests and notebooks call.

    classify_sentiment("a gorgeous, witty film")       -> SentimentResult(probs={'positive': .97, ...})
    word_attributions("a gorgeous, witty film")        -> WordAttributions(words=[(token, score)], notes)
    attention_maps("The dog chased ...", "base")       -> AttentionResult(tokens, weights[L, H, T, T])
    attention_map("The dog chased ...", "base", 5, 5)  -> AttentionMap(one layer/head, its top words)
    attention_heads("The dog chased ...", "base")      -> HeadsResult(every head's row for "it", labels)
    generate("A fortune", max_new_tokens=40, temperature=0.8, top_k=40, seed=1) -> GenerationResult
    positional_encoding(64, 128)                        -> (n_positions, d_model) array

Models load once (shared.lazy.load_once), on first use or from the tab's warm-up.
"""

from __future__ import annotations

import copy
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from apps.transformer import data, spec
from apps.transformer.model import LoRALinear, mean_pool, sinusoidal_encoding
from shared import validate
from shared.checkpoints import load_checkpoint, verify_checkpoint
from shared.errors import BadInput
from shared.lazy import load_once

ATTENTION_CACHE = 32  # forward passes kept: (6, 12, 64, 64) float32 is at most 1.2 MB each


# --- input hygiene -----------------------------------------------------------------------------

def clean_input(text, what: str = "text") -> tuple[str, list[str]]:
    """Validate and tidy user text; returns (text, notes to show). Raises BadInput when unusable."""
    if text is None or not isinstance(text, str):
        raise BadInput(f"Type some {what} first.")
    text, notes = validate.utf8(text), []
    if len(text) > spec.MAX_CHARS:
        notes.append(f"Your text has {len(text):,} characters; only the first {spec.MAX_CHARS:,} are read.")
        text = text[:spec.MAX_CHARS]
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
    encoder: torch.nn.Module      # MiniLM + this project's LoRA adapters and LayerNorms
    head: torch.nn.Linear         # mean-pooled sentence vector -> (negative, positive)
    probe: torch.nn.Linear        # the frozen-MiniLM baseline's linear head
    card: dict


@load_once
def sentiment_model() -> SentimentModel:
    """The base MiniLM + this project's LoRA delta, loaded once.

    The frozen weights are shared with the attention explorer's base model (one copy of MiniLM in
    the server, ~90 MB less); only the retrained LayerNorms are copied, and the LoRA factors run
    beside the shared weights (W x + alpha/r B A x) instead of being merged into a copy.
    """
    tensors, card = load_checkpoint(spec.SENTIMENT_PATH)
    _, base = minilm()
    shared = {id(p): p for name, p in base.named_parameters() if name not in tensors}
    encoder = copy.deepcopy(base, memo=shared)  # new modules (hooks stay private), shared tensors
    params = dict(encoder.named_parameters())
    with torch.no_grad():
        for name, value in tensors.items():
            if name.endswith(".lora_A"):
                path = name[: -len(".lora_A")]                 # e.g. encoder.layer.4.attention.self.query
                parent_path, _, child = path.rpartition(".")
                parent = encoder.get_submodule(parent_path)
                setattr(parent, child, LoRALinear.from_factors(  # factors ship in fp16
                    getattr(parent, child), value.float(), tensors[path + ".lora_B"].float(), card["lora"]["alpha"]))
            elif "LayerNorm" in name:
                params[name].copy_(value)
    head, probe = (torch.nn.Linear(spec.MINILM_HIDDEN, len(spec.LABELS)) for _ in range(2))
    head.load_state_dict({"weight": tensors["head.weight"], "bias": tensors["head.bias"]})
    probe.load_state_dict({"weight": tensors["probe.weight"], "bias": tensors["probe.bias"]})
    return SentimentModel(encoder.eval(), head.eval(), probe.eval(), card)


def _encode(texts: list[str], max_tokens: int):
    tokenizer, _ = minilm()
    return tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")


@torch.no_grad()
def sentiment_probs(texts: list[str], max_tokens: int = spec.CLASSIFY_MAX_TOKENS, batch_size: int = 64,
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
    if len(ids) > spec.CLASSIFY_MAX_TOKENS:
        notes.append(f"The text is {len(ids)} tokens long; the model reads the first {spec.CLASSIFY_MAX_TOKENS}.")
    unknown = ids.count(tokenizer.unk_token_id)
    if unknown:
        notes.append(f"{unknown} piece(s) are unknown to MiniLM's vocabulary (e.g. emoji) and read as [UNK].")
    notes += _non_latin_note(text)
    tuned, frozen = sentiment_probs([text])
    return SentimentResult(dict(zip(spec.LABELS, map(float, tuned[0]))),
                           dict(zip(spec.LABELS, map(float, frozen[0]))), notes)


def accuracy_on_file(path: str | Path = spec.HELDOUT_SENTENCES) -> float:
    """Accuracy of the served model on a `label<TAB>text` file (the card's figure)."""
    texts, labels = data.read_sentences(path)
    tuned, _ = sentiment_probs(texts, with_frozen=False)
    return float((tuned.argmax(1) == labels).mean())


class WordAttributions(NamedTuple):
    words: list[tuple[str, float]]   # (WordPiece token, score in [-1, 1]), [CLS]/[SEP] left out
    notes: list[str]


def word_attributions(text) -> WordAttributions:
    """Integrated gradients (captum) of the fine-tuned model's positive-minus-negative logit with
    respect to the token embeddings: > 0 pushed towards positive, < 0 towards negative (scaled to ±1).

    The path runs through `inputs_embeds` rather than a hook on the shared embedding layer: a hook
    would also rewrite the forward passes of other users' requests running at the same time."""
    from captum.attr import IntegratedGradients

    text, notes = clean_input(text, "text")
    tokenizer, _ = minilm()
    model = sentiment_model()
    enc = _encode([text], spec.CLASSIFY_MAX_TOKENS)
    ids, mask = enc["input_ids"], enc["attention_mask"]

    def log_odds(embeddings):  # (n, T, 384) word embeddings -> (n,)
        n = len(embeddings)
        hidden = model.encoder(inputs_embeds=embeddings, attention_mask=mask.expand(n, -1)).last_hidden_state
        logits = model.head(mean_pool(hidden, mask.expand(n, -1)))
        return logits[:, 1] - logits[:, 0]

    # Baseline: the same length of [PAD] between [CLS] and [SEP], i.e. "no words".
    baseline = torch.full_like(ids, tokenizer.pad_token_id)
    baseline[0, 0], baseline[0, -1] = ids[0, 0], ids[0, -1]
    with torch.no_grad():
        embed = model.encoder.embeddings.word_embeddings
        inputs, baselines = embed(ids), embed(baseline)
    attributions = IntegratedGradients(log_odds).attribute(inputs, baselines=baselines, n_steps=24,
                                                           internal_batch_size=24)
    scores = attributions.sum(-1)[0]
    scores = (scores / scores.abs().max().clamp(min=1e-9)).tolist()
    tokens = tokenizer.convert_ids_to_tokens(ids[0])
    return WordAttributions([(t, round(s, 3)) for t, s in zip(tokens, scores) if t not in ("[CLS]", "[SEP]")], notes)


# --- attention explorer ------------------------------------------------------------------------

@dataclass
class AttentionResult:
    tokens: list[str]
    weights: np.ndarray              # (layers, heads, T, T): row = the token that looks, column = looked at
    notes: list[str] = field(default_factory=list)


def attention_maps(text, which: str = "base") -> AttentionResult:
    """Real softmax attention weights of MiniLM ("base") or of the served sentiment model ("sentiment").

    One forward pass per (sentence, model): the heat map (/attention_map) and the heads grid
    (/attention_heads) of the same sentence share it (a bounded cache; the weights are read-only)."""
    text, notes = clean_input(text, "sentence")
    if which not in spec.MODELS:
        raise BadInput(f"Unknown model {which!r}: choose {' or '.join(map(repr, spec.MODELS))}.")
    tokens, weights, forward_notes = _attention_forward(text, which)
    return AttentionResult(list(tokens), weights, notes + list(forward_notes))


@functools.lru_cache(maxsize=ATTENTION_CACHE)
@torch.no_grad()
def _attention_forward(text: str, which: str) -> tuple[tuple[str, ...], np.ndarray, tuple[str, ...]]:
    tokenizer, base = minilm()
    model = sentiment_model().encoder if which == "sentiment" else base
    notes = []
    ids = tokenizer(text)["input_ids"]
    if len(ids) > spec.MAX_TOKENS:
        notes.append(f"The sentence is {len(ids)} tokens long; the map shows the first {spec.MAX_TOKENS}.")
    enc = _encode([text], spec.MAX_TOKENS)
    out = model(**enc, output_attentions=True)
    weights = torch.stack(out.attentions)[:, 0].numpy()  # (L, 1, H, T, T) -> (L, H, T, T)
    weights.setflags(write=False)  # shared by every caller of the cache
    return tuple(tokenizer.convert_ids_to_tokens(enc["input_ids"][0])), weights, tuple(notes)


@dataclass
class AttentionMap:
    tokens: list[str]
    matrix: np.ndarray               # (T, T) one head's weights, or the mean of a layer's heads
    layer: int                       # 1-based
    head: int                        # 1-based; 0 = the average of the layer's heads
    query: int                       # the token that looks
    top: list[tuple[str, float]]     # its three most attended tokens, strongest first
    top_word: int | None             # its most attended token other than itself and [CLS]/[SEP]
    notes: list[str] = field(default_factory=list)


def attention_map(text, which: str = spec.DEFAULT_MODEL, layer=spec.LAYER.default, head=spec.HEAD.default,
                  token=None) -> AttentionMap:
    """One layer's attention (one head, or head 0 = the mean of its heads), with what the token
    that looks (None = the sentence's question word) attends to most. Out-of-range layers, heads
    and tokens are refused with the range."""
    from apps.transformer import heads

    result = attention_maps(text, which)
    layer = spec.LAYER.check(layer, "the layer")
    head = spec.HEAD.check(head)
    matrix = result.weights[layer - 1].mean(0) if head == 0 else result.weights[layer - 1, head - 1]
    query = heads.resolve_token(token, result.tokens, heads.question_word(result.tokens), "The token that looks")
    order = np.argsort(-matrix[query], kind="stable")[:3]
    top = [(result.tokens[i], float(matrix[query, i])) for i in order]
    words = [i for i in range(len(result.tokens)) if i != query and not heads.is_special(result.tokens[i])]
    top_word = max(words, key=lambda i: (matrix[query, i], -i)) if words else None
    return AttentionMap(result.tokens, matrix, layer, head, query, top, top_word, result.notes)


@dataclass
class HeadsResult:
    tokens: list[str]
    query: int                       # the token that looks
    target: int | None               # the word whose links are looked for (None: the sentence has no other word)
    rows: np.ndarray                 # (layers, heads, T): the query's attention in every head
    labels: list                     # [layer][head] heads.HeadLabel, measured from each head's whole matrix
    notes: list[str] = field(default_factory=list)


def attention_heads(text, which: str = spec.DEFAULT_MODEL, token=None, target=None) -> HeadsResult:
    """Every head's attention from one token, and what each head does on this sentence.

    token: index or text of the token that looks; None = the sentence's question word (a pronoun
    such as "it", else the last content word). target: the word to look for; None = the earlier
    noun-like word the token attends to most (averaged over every head, [CLS]/[SEP] left out).
    Uses the same cached forward pass as attention_maps."""
    from apps.transformer import heads

    result = attention_maps(text, which)
    tokens = result.tokens
    query = heads.resolve_token(token, tokens, heads.question_word(tokens), "The token that looks")
    target = heads.resolve_token(target, tokens, heads.default_target(tokens, result.weights, query),
                                 "The target word")
    if target == query:
        target = heads.default_target(tokens, result.weights, query)
    labels = heads.label_heads(result.weights, tokens, query, target)
    return HeadsResult(tokens, query, target, np.array(result.weights[:, :, query]), labels, result.notes)


# --- tiny GPT ---------------------------------------------------------------------------------

@load_once
def gpt():
    """(tokenizer, model) of the fortune GPT, from weights/ in Hugging Face format (fp16 on disk)."""
    from transformers import AutoTokenizer, GPT2LMHeadModel

    card = verify_checkpoint(spec.GPT_WEIGHTS)
    tokenizer = AutoTokenizer.from_pretrained(spec.GPT_DIR)
    model = GPT2LMHeadModel.from_pretrained(spec.GPT_DIR, dtype=torch.float32, attn_implementation="eager").eval()
    return tokenizer, model, card


@dataclass(frozen=True)
class Step:
    token: str                                  # the chosen token, decoded
    probability: float                          # under the model's own distribution
    sampling_probability: float                 # under the distribution sampled from (temperature, top-k)
    top_5: list[tuple[str, float]]              # the model's five likeliest tokens


@dataclass
class GenerationResult:
    text: str                                   # prompt + continuation
    prompt_tokens: list[str]
    new_tokens: list[str]
    steps: list[Step]                           # one per new token
    ids: list[int]                              # every token id: <|endoftext|>, prompt, continuation
    attention: np.ndarray | None = None         # (layers, heads, T, T) over `ids`, when asked for
    notes: list[str] = field(default_factory=list)


class LeanGPT:
    """The fortune GPT's forward pass in plain tensor ops, with its own key/value cache.

    Same weights and arithmetic as transformers' GPT2LMHeadModel (eager attention, eval mode:
    tests check logits and attention weights against it), without its per-call bookkeeping:
    for a 0.45M-parameter model that overhead (~2-3 ms a call) is most of the time of a step.
        x = wte[ids] + wpe[positions]
        per layer:  x += Attn(LN1(x)),  x += MLP(LN2(x))     (causal softmax attention, GELU-tanh MLP)
        logits = LNf(x) @ wte^T                                 (tied embeddings)
    """

    def __init__(self, model):
        t = model.transformer
        cfg = model.config
        self.n_head, self.n_embd, self.eps = cfg.n_head, cfg.n_embd, cfg.layer_norm_epsilon
        self.head_dim = self.n_embd // self.n_head
        self.wte, self.wpe = t.wte.weight.detach(), t.wpe.weight.detach()
        self.lm_head_t = model.lm_head.weight.detach().T.contiguous()        # (E, V)
        self.ln_f = (t.ln_f.weight.detach(), t.ln_f.bias.detach())
        # GPT-2's Conv1D stores weights as (in, out): y = bias + x @ weight. The attention scale
        # 1/sqrt(head_dim) is folded into the query columns once, instead of scaling every score.
        qkv_scale = torch.ones(3 * self.n_embd)
        qkv_scale[: self.n_embd] = self.head_dim ** -0.5
        self.layers = [{
            "ln_1": (b.ln_1.weight.detach(), b.ln_1.bias.detach()),
            "qkv": (b.attn.c_attn.bias.detach() * qkv_scale, b.attn.c_attn.weight.detach() * qkv_scale),
            "attn_out": (b.attn.c_proj.bias.detach(), b.attn.c_proj.weight.detach()),
            "ln_2": (b.ln_2.weight.detach(), b.ln_2.bias.detach()),
            "fc": (b.mlp.c_fc.bias.detach(), b.mlp.c_fc.weight.detach()),
            "fc_out": (b.mlp.c_proj.bias.detach(), b.mlp.c_proj.weight.detach()),
        } for b in t.h]

    @torch.no_grad()
    def forward(self, ids: list[int], past=None, attention: bool = False, last_only: bool = False):
        """(logits (T, V), or (1, V) with last_only; the new key/value cache; with `attention`,
        per layer the (H, T, T_past + T) softmax weights, row = query token, else None)."""
        import torch.nn.functional as F

        start = 0 if past is None else past[0][0].shape[1]
        n, heads, dim, e = len(ids), self.n_head, self.head_dim, self.n_embd
        x = self.wte[ids] + self.wpe[start:start + n]                        # (T, E)
        # Fast path (sampling): fused attention; one new token sees everything cached, a first
        # chunk is plainly causal. Otherwise explicit softmax weights, which the heat map shows.
        fused = not attention and (n == 1 or start == 0)
        mask = None
        if not fused and n > 1:  # query i sits at position start+i and sees keys 0..start+i
            mask = torch.ones(n, start + n, dtype=torch.bool).tril(diagonal=start).logical_not()
        cache, maps = [], []
        for i, layer in enumerate(self.layers):
            h = F.layer_norm(x, (e,), *layer["ln_1"], self.eps)
            q, k, v = _affine(h, layer["qkv"]).view(n, 3, heads, dim).permute(1, 2, 0, 3).unbind(0)  # (H, T, D)
            if past is not None:
                k, v = torch.cat([past[i][0], k], 1), torch.cat([past[i][1], v], 1)
            cache.append((k, v))
            if fused:
                mixed = F.scaled_dot_product_attention(q, k, v, is_causal=n > 1, scale=1.0)
            else:
                scores = q @ k.transpose(1, 2)                                  # (H, T, T_past + T)
                if mask is not None:
                    scores = scores.masked_fill(mask, torch.finfo(scores.dtype).min)
                weights = scores.softmax(-1)
                if attention:
                    maps.append(weights)
                mixed = weights @ v
            x = x + _affine(mixed.transpose(0, 1).reshape(n, e), layer["attn_out"])
            h = F.layer_norm(x, (e,), *layer["ln_2"], self.eps)
            x = x + _affine(F.gelu(_affine(h, layer["fc"]), approximate="tanh"), layer["fc_out"])
        if last_only:
            x = x[-1:]
        logits = F.layer_norm(x, (e,), *self.ln_f, self.eps) @ self.lm_head_t
        return logits, cache, (maps if attention else None)


def _affine(x: torch.Tensor, bias_weight: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    bias, weight = bias_weight
    return torch.addmm(bias, x, weight)  # (T, in) -> (T, out)


@load_once
def lean_gpt() -> tuple[LeanGPT, list[str]]:
    """(the fast forward pass, every token id decoded once: the tables never call the tokenizer)."""
    tokenizer, model, _ = gpt()
    return LeanGPT(model), [tokenizer.decode([i]) for i in range(len(tokenizer))]


@torch.no_grad()
def generate(prompt, max_new_tokens=spec.MAX_NEW_TOKENS.default, temperature=spec.TEMPERATURE.default,
             top_k=spec.TOP_K.default, seed=spec.GPT_SEED.default, with_attention: bool = False) -> GenerationResult:
    """Sample a continuation token by token (temperature, top-k, seeded: same inputs, same text).

    Each step records the model's probability of the chosen token and that token's probability
    under the distribution actually sampled from (temperature and top-k applied). With
    `with_attention`, one more forward pass over the final tokens returns the causal attention
    weights that explain it (the explanation endpoint; generating alone does not need them).
    """
    notes: list[str] = []
    prompt = "" if prompt is None else prompt
    if not isinstance(prompt, str):
        raise BadInput("The prompt must be text.")
    if prompt.strip():
        prompt, notes = clean_input(prompt, "prompt")
    if any(ord(c) > 127 for c in prompt):
        notes.append("The model was trained on plain-ASCII English fortunes: other characters are rare bytes to it.")
    tokenizer, _, _ = gpt()
    lean, vocab = lean_gpt()
    max_new_tokens = spec.MAX_NEW_TOKENS.check(max_new_tokens)
    temperature = spec.TEMPERATURE.check(temperature, "the temperature")
    top_k = spec.TOP_K.check(top_k, "top-k")
    seed = spec.GPT_SEED.check(seed, "the seed")

    # An empty prompt starts a new fortune: the model learnt that one begins after <|endoftext|>.
    ids = [tokenizer.eos_token_id] + tokenizer(prompt)["input_ids"] if prompt else [tokenizer.eos_token_id]
    room = spec.GPT_CONTEXT - max_new_tokens
    if len(ids) > room:
        notes.append(f"The prompt is {len(ids) - 1} tokens; with {max_new_tokens} new tokens the "
                     f"{spec.GPT_CONTEXT}-token context keeps only its last {room - 1}.")
        ids = [tokenizer.eos_token_id] + ids[-(room - 1):]
    n_prompt = len(ids)
    generator = torch.Generator().manual_seed(seed)
    steps, past, next_input = [], None, list(ids)
    for _ in range(max_new_tokens):
        logits, past, _ = lean.forward(next_input, past, last_only=True)
        logits = logits[0]
        probs = logits.softmax(-1)                            # the model's real distribution
        token, p_sampled = _sample(logits, temperature, top_k, generator)
        top_p, top_i = probs.topk(5)
        steps.append(Step(vocab[token], float(probs[token]), p_sampled,
                          [(vocab[i], p) for p, i in zip(top_p.tolist(), top_i.tolist())]))
        ids.append(token)
        if token == tokenizer.eos_token_id:
            notes.append("The model ended the fortune here: it chose its end-of-text token, <|endoftext|>.")
            break
        next_input = [token]
    attention = causal_attention(ids) if with_attention else None
    continuation = [i for i in ids[n_prompt:] if i != tokenizer.eos_token_id]
    text = tokenizer.decode(ids[1:n_prompt]) + tokenizer.decode(continuation)
    return GenerationResult(text, [vocab[i] for i in ids[:n_prompt]], [vocab[i] for i in ids[n_prompt:]],
                            steps, ids, attention, notes)


def causal_attention(ids: list[int]) -> np.ndarray:
    """(layers, heads, T, T) softmax attention weights of the GPT over `ids`, in one forward pass."""
    lean, _ = lean_gpt()
    _, _, maps = lean.forward(list(ids), attention=True)
    return torch.stack(maps).numpy()


def _sample(logits: torch.Tensor, temperature: float, top_k: int, generator: torch.Generator) -> tuple[int, float]:
    """One token from softmax(logits / temperature) over the top_k likeliest (0 = all), and its
    probability under that distribution. Temperature 0 = greedy (probability 1)."""
    if temperature <= 0:
        return int(logits.argmax()), 1.0
    if 0 < top_k < logits.numel():
        values, candidates = logits.topk(top_k)
    else:
        values, candidates = logits, None
    distribution = (values / temperature).softmax(-1)
    # Inverse CDF with one uniform draw: the first index whose cumulative probability exceeds it
    # (right=True never picks a zero-probability token).
    cumulative = distribution.cumsum(0)
    u = torch.rand(1, generator=generator) * cumulative[-1]
    choice = min(int(torch.searchsorted(cumulative, u, right=True)), len(cumulative) - 1)
    token = choice if candidates is None else int(candidates[choice])
    return token, float(distribution[choice])


def heldout_bits_per_char(path: str | Path) -> float:
    """The GPT's bits per character on a text file of fortunes (one per line), as in the card."""
    import math

    tokenizer, model, _ = gpt()
    lines = [line for line in Path(path).read_text().splitlines() if line.strip()]
    ids = []
    for line in lines:
        ids += tokenizer(line)["input_ids"] + [tokenizer.eos_token_id]
    stream = torch.tensor(ids)
    windows = stream[: len(stream) // spec.GPT_CONTEXT * spec.GPT_CONTEXT].view(-1, spec.GPT_CONTEXT)
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

def positional_encoding(n_positions=spec.POSITIONS.default, d_model=spec.DIMENSIONS.default) -> np.ndarray:
    """(n_positions, d_model) sinusoidal codes; an odd d_model ends on a sine column."""
    n_positions = spec.POSITIONS.check(n_positions, "the number of positions")
    d_model = spec.DIMENSIONS.check(d_model, "the number of embedding dimensions")
    return sinusoidal_encoding(n_positions, d_model)


def position_similarity(encoding: np.ndarray) -> np.ndarray:
    """Cosine similarity between every pair of position vectors: nearby positions look alike."""
    unit = encoding / np.linalg.norm(encoding, axis=1, keepdims=True)
    return unit @ unit.T


def load_models() -> None:
    """Warm-up: load every model this tab serves (app.py calls it in a background thread)."""
    minilm()
    sentiment_model()
    lean_gpt()
