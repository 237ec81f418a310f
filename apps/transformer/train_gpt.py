"""The fortune GPT: a byte-level BPE tokenizer and a ~0.45M-parameter GPT-2 trained from scratch
on Debian's `fortunes` (run through train.py: `python -m apps.transformer.train gpt`)."""

from __future__ import annotations

import json
import math
import time

import torch
import torch.nn.functional as F

from apps.transformer import data, spec
from apps.transformer.model import tiny_gpt_config
from shared.checkpoints import sha256_of
from shared.training import budgeted_schedule, card_command, fit, set_seed

SEED = 0
GPT_NOTES = ["Learning rate: AdamW 3e-3, a 5 % warm-up, then a linear decay to 5 % by the time limit "
             "(shared.training.budgeted_schedule; the shipped run used the same shape with a 100-step warm-up)."]

EOS = "<|endoftext|>"


def train_tokenizer(texts: list[str]):
    """Byte-level BPE (GPT-2's scheme) with a small vocabulary, learnt from the training fortunes."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=spec.GPT_VOCAB, special_tokens=[EOS],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    bpe.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=EOS, bos_token=EOS, pad_token=EOS,
                                   model_max_length=spec.GPT_CONTEXT)


def token_stream(tokenizer, texts: list[str]) -> torch.Tensor:
    """All texts as one stream of ids, each fortune followed by <|endoftext|> (id 0)."""
    ids = []
    for text in texts:
        ids.extend(tokenizer(text)["input_ids"] + [tokenizer.eos_token_id])
    return torch.tensor(ids, dtype=torch.long)


@torch.no_grad()
def heldout_nll(model, stream: torch.Tensor, max_windows: int | None = None) -> tuple[float, int]:
    """Total negative log-likelihood (nats) of `stream` in non-overlapping windows, and tokens scored."""
    model.eval()
    total, count = 0.0, 0
    windows = stream[: len(stream) // spec.GPT_CONTEXT * spec.GPT_CONTEXT].view(-1, spec.GPT_CONTEXT)
    if max_windows:
        windows = windows[:max_windows]
    for b in range(0, len(windows), 32):
        x = windows[b:b + 32]
        logits = model(input_ids=x).logits[:, :-1]
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="sum").item()
        count += x[:, 1:].numel()
    return total, count


def train_gpt(time_limit_s: float, batch_size: int = 16):
    """Tokenizer, model and card of weights/transformer/fortune_gpt/; the whole run is `time_limit_s`."""
    from transformers import GPT2LMHeadModel

    t0 = time.monotonic()
    generator = set_seed(SEED)
    fortunes = data.read_fortunes()
    if not fortunes:
        raise SystemExit(f"no fortunes in {data.FORTUNES_DIR}: apt-get install fortunes")
    train_texts, heldout_texts = data.split_fortunes(fortunes)
    spec.HELDOUT_FORTUNES.write_text("\n".join(heldout_texts) + "\n")
    tokenizer = train_tokenizer(train_texts)
    train_ids, heldout_ids = token_stream(tokenizer, train_texts), token_stream(tokenizer, heldout_texts)
    chars_per_token = sum(len(t) + 1 for t in heldout_texts) / len(heldout_ids)  # +1: the separator
    print(f"{len(train_texts)} train / {len(heldout_texts)} held-out fortunes; {len(train_ids)} train tokens, "
          f"{chars_per_token:.2f} chars/token", flush=True)

    model = GPT2LMHeadModel(tiny_gpt_config(len(tokenizer), n_positions=spec.GPT_CONTEXT))
    print(f"{sum(p.numel() for p in model.parameters()):,} parameters", flush=True)
    steps_per_epoch = len(train_ids) // (batch_size * spec.GPT_CONTEXT)

    def random_windows():  # one "epoch" = as many random windows as the stream holds
        for _ in range(steps_per_epoch):
            starts = torch.randint(0, len(train_ids) - spec.GPT_CONTEXT - 1, (batch_size,), generator=generator)
            yield torch.stack([train_ids[s:s + spec.GPT_CONTEXT] for s in starts])

    def lm_loss(m, x):
        return m(input_ids=x, labels=x).loss

    def evaluate(m):
        nll, n = heldout_nll(m, heldout_ids, max_windows=64)
        return {"heldout_loss": nll / n}

    epochs = 40  # the time limit ends training first; the schedule decays over that time
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.1, betas=(0.9, 0.95))
    scheduler = budgeted_schedule(optimizer, epochs * steps_per_epoch, time_limit_s, warmup=0.05, shape="linear",
                                  floor=0.05)
    res = fit(model, optimizer, random_windows, lm_loss, epochs=epochs, time_limit_s=time_limit_s,
              evaluate=evaluate, eval_every=200, log_every=50, scheduler=scheduler, clip_grad_norm=1.0,
              on_progress=lambda f, row: print(f"  {f:5.1%} {json.dumps(row)}", flush=True))

    nll, n_tokens = heldout_nll(model, heldout_ids)
    n_chars = n_tokens * chars_per_token
    metrics = {"heldout_bits_per_char": round(nll / n_chars / math.log(2), 4),
               "heldout_perplexity_per_token": round(math.exp(nll / n_tokens), 2),
               "heldout_tokens": n_tokens, "train_tokens_seen": res.steps * batch_size * spec.GPT_CONTEXT,
               "train_steps": res.steps, "train_seconds": round(res.seconds)}
    spec.GPT_DIR.mkdir(parents=True, exist_ok=True)
    model.half().save_pretrained(spec.GPT_DIR)  # fp16 on disk: half the size; infer loads it as fp32
    tokenizer.save_pretrained(spec.GPT_DIR)
    weights = spec.GPT_DIR / "model.safetensors"
    card = {
        "name": "fortune GPT (tiny GPT-2 trained from scratch)",
        "architecture": (f"GPT2LMHeadModel: {model.config.n_layer} layers, {model.config.n_head} heads, "
                         f"d={model.config.n_embd}, context {spec.GPT_CONTEXT} tokens, byte-level BPE vocab {len(tokenizer)}"),
        "data": (f"Debian package `fortunes` 1:1.99.1 ({len(data.FORTUNE_FILES)} of its files, see apps/transformer/data.py): "
                 f"{len(train_texts)} fortunes for training, every {data.GPT_HELDOUT_EVERY}th ({len(heldout_texts)}) held out"),
        "data_license": "BSD (fortune-mod, see /usr/share/doc/fortunes/copyright)",
        "metrics": metrics,
        "headline_metric": "heldout_bits_per_char",
        "command": card_command(),
        "seed": SEED,
        "params": int(sum(p.numel() for p in model.parameters())),
        "file": weights.name, "size_bytes": weights.stat().st_size, "sha256": sha256_of(weights),
        "date": time.strftime("%Y-%m-%d"), "dtype_on_disk": "float16",
        "train_seconds_total": round(time.monotonic() - t0),
        "notes": GPT_NOTES,
    }
    # save_pretrained wrote the tensors (HF format, tied weights once); the card sits beside them.
    (spec.GPT_DIR / "model.json").write_text(json.dumps(card, indent=2) + "\n")
    print(json.dumps(metrics), flush=True)
