"""Training one sentiment approach on MiniLM's cached hidden states (used by train.py).

    cache, y, base = load_or_build_cache(data_dir, top_layers)   # MiniLM runs once per split
    train_part("lora", data_dir, top_layers=6, rank=16, ...)       # one approach -> /tmp part file

The three approaches: "scratch" (a small transformer from random weights), "probe" (the frozen
MiniLM's sentence embedding + a linear head), "lora" (LoRA adapters in MiniLM's top layers).
"""

from __future__ import annotations

import copy
import json
import math
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file

from apps.transformer import data, spec
from apps.transformer.model import ScratchClassifier, TopLayersClassifier, add_lora, mean_pool
from shared.training import KeepBest, budgeted_schedule, fit, set_seed

SEED = 0


@torch.no_grad()
def cache_minilm_states(base, tokenizer, texts: list[str], from_layer: int, batch_size: int = 64):
    """Run the frozen MiniLM once: hidden states after `from_layer` (fp16, padded to MAX_TOKENS),
    the padding mask, and the mean-pooled last layer (the sentence embedding) for every text."""
    enc = tokenizer(texts, padding="max_length", truncation=True, max_length=spec.MAX_TOKENS, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    states = torch.zeros(len(texts), spec.MAX_TOKENS, base.config.hidden_size, dtype=torch.float16)
    pooled = torch.zeros(len(texts), base.config.hidden_size)
    order = torch.argsort(mask.sum(1))  # similar lengths together: little padding to compute
    start = time.monotonic()
    for b in range(0, len(texts), batch_size):
        idx = order[b:b + batch_size]
        t = int(mask[idx].sum(1).max())
        out = base(input_ids=ids[idx, :t], attention_mask=mask[idx, :t], output_hidden_states=True)
        states[idx, :t] = out.hidden_states[from_layer].half()
        pooled[idx] = mean_pool(out.last_hidden_state, mask[idx, :t])
        if b % (batch_size * 20) == 0:
            print(f"  cached {b}/{len(texts)} sentences, {time.monotonic() - start:.0f}s", flush=True)
    return {"ids": ids, "mask": mask, "states": states, "pooled": pooled}


def load_or_build_cache(data_dir: Path, top_layers: int):
    """Split the data, write the shipped held-out file, and cache MiniLM's states (once, in /tmp)."""
    from transformers import AutoModel, AutoTokenizer

    texts, labels = data.read_sentences(data_dir / "sentences.tsv")
    splits = data.split_sentences(texts, labels)
    y = {name: torch.as_tensor(split[1]) for name, split in splits.items()}
    base = AutoModel.from_pretrained(data.minilm_dir(), attn_implementation="eager").eval()
    from_layer = base.config.num_hidden_layers - top_layers
    data.write_sentences(spec.HELDOUT_SENTENCES, *splits["test"])
    cache_file = Path(f"/tmp/transformer_sentiment_cache_L{from_layer}.pt")
    if cache_file.exists():
        return torch.load(cache_file, weights_only=True), y, base
    tokenizer = AutoTokenizer.from_pretrained(data.minilm_dir())
    cache = {name: cache_minilm_states(base, tokenizer, split[0], from_layer) for name, split in splits.items()}
    torch.save(cache, cache_file)
    return cache, y, base


class Batches:
    """Re-iterable, sized batches of tensor slices (so fit() can show progress); sequences are cut
    to the longest real length in the batch when `trim_mask` is given."""

    def __init__(self, tensors, batch_size, shuffle, trim_mask=None, seed=SEED):
        self.tensors, self.batch_size, self.shuffle, self.trim_mask = tensors, batch_size, shuffle, trim_mask
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self):
        return math.ceil(len(self.tensors[0]) / self.batch_size)

    def __iter__(self):
        n = len(self.tensors[0])
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        for b in range(0, n, self.batch_size):
            idx = order[b:b + self.batch_size]
            part = [t[idx] for t in self.tensors]
            if self.trim_mask is not None:
                t = int(self.trim_mask[idx].sum(1).max())
                part = [p[:, :t] if p.dim() >= 2 and p.shape[1] == spec.MAX_TOKENS else p for p in part]
            *inputs, y = part
            if inputs[0].dtype == torch.float16:
                inputs[0] = inputs[0].float()
            yield inputs, y


def classification_loss(model, batch):
    inputs, y = batch
    logits = model(*inputs)
    return F.cross_entropy(logits, y), {"acc": (logits.argmax(-1) == y).float().mean().item()}


@torch.no_grad()
def accuracy_of(model, batches) -> float:
    model.eval()
    correct = total = 0
    for inputs, y in batches:
        correct += (model(*inputs).argmax(-1) == y).sum().item()
        total += len(y)
    return correct / total


def train_keeping_best(model, params, train_batches, val_batches, *, lr, epochs, time_limit_s,
                       weight_decay=0.01, eval_every=None, decay_by_time=False, keep_last=False):
    """fit() with AdamW and a linear decay to 0; returns (result, best validation accuracy) with the
    model at its best validation accuracy (at its last step with `keep_last`).
    decay_by_time: the decay ends at the planned steps or at the time limit, whichever comes first."""
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    scheduler = budgeted_schedule(optimizer, len(train_batches) * epochs, time_limit_s if decay_by_time else None,
                                  shape="linear")
    keep = KeepBest("val_acc", keep_last=keep_last)

    def evaluate(m):  # with keep_last, val is part of training: nothing held out to choose by
        return keep.evaluated(m, {} if keep_last else {"val_acc": accuracy_of(m, val_batches)})

    result = fit(model, optimizer, train_batches, classification_loss, epochs=epochs,
                 time_limit_s=time_limit_s, evaluate=evaluate, eval_every=eval_every, log_every=25,
                 scheduler=scheduler, clip_grad_norm=1.0,
                 on_progress=lambda f, row: print(f"  {f:5.1%} {json.dumps(row)}", flush=True))
    keep.restore(model)
    return result, keep.value


def part_file(part: str, order_seed: int | None = None, train_on_val: bool = False) -> Path:
    return Path(f"/tmp/transformer_part_{part}" + (f"_s{order_seed}" if order_seed is not None else "")
                + ("_trainval" if train_on_val else "") + ".pt")


def train_part(part: str, data_dir: Path, top_layers: int, rank: int, epochs: int, time_limit_s: float,
               init_from: Path | None = None, order_seed: int | None = None, train_on_val: bool = False):
    """Train one of the three approaches on the cached states; saves its result row (+ tensors) to /tmp.
    order_seed (LoRA only): same initialisation (seed 0), but this seed's data order and dropout,
    so that several runs can be averaged into a soup (see soup.make_soup)."""
    cache, y, base = load_or_build_cache(data_dir, top_layers)
    from_layer = base.config.num_hidden_layers - top_layers
    set_seed(SEED)
    tensors = {}
    if part == "probe":  # the frozen MiniLM's sentence embedding + a linear head ("linear probe")
        name = "frozen MiniLM + linear head"
        probe = torch.nn.Linear(base.config.hidden_size, len(spec.LABELS))
        model, params = Probe(probe), list(probe.parameters())
        batches = {n: Batches((cache[n]["pooled"], y[n]), 256, shuffle=(n == "train")) for n in cache}
        res, val_acc = train_keeping_best(model, params, batches["train"], batches["val"], lr=3e-3, epochs=40,
                                          time_limit_s=time_limit_s, weight_decay=0.0)
        tensors = {"probe.weight": probe.weight, "probe.bias": probe.bias}
    elif part == "scratch":  # a small transformer from random weights, same tokenizer, no pretraining
        name = "small transformer from scratch (2 layers, d=128)"
        model = ScratchClassifier(base.config.vocab_size, max_len=spec.MAX_TOKENS)
        params = list(model.parameters())
        batches = {n: Batches((cache[n]["ids"], cache[n]["mask"], y[n]), 64, shuffle=(n == "train"),
                              trim_mask=cache[n]["mask"]) for n in cache}
        res, val_acc = train_keeping_best(model, params, batches["train"], batches["val"], lr=2e-3, epochs=epochs + 3,
                                          time_limit_s=time_limit_s, weight_decay=0.05)
    else:  # MiniLM fine-tuned: LoRA adapters in the top layers (+ their LayerNorms) and a new head
        name = f"MiniLM fine-tuned: LoRA r={rank} in top {top_layers} layers + head (served)"
        model = lora_classifier(base, from_layer, rank)
        for layer in model.layers:
            for pname, p in layer.named_parameters():
                p.requires_grad_(".lora_" in pname or "LayerNorm" in pname)
        if init_from is not None:  # continue an earlier run: its adapters, LayerNorms and head
            load_lora_tensors(model, load_file(str(init_from)), from_layer)
        if order_seed is not None:
            torch.manual_seed(order_seed)  # dropout draws; the initialisation above stays seed 0's
        params = [p for p in model.parameters() if p.requires_grad]
        if train_on_val:  # final run of a recipe chosen on val: val's sentences join training
            cache["train"] = {k: torch.cat([cache["train"][k], cache["val"][k]]) for k in ("states", "mask")}
            y["train"] = torch.cat([y["train"], y["val"]])
        batches = {n: Batches((cache[n]["states"], cache[n]["mask"], y[n]), 32, shuffle=(n == "train"),
                              trim_mask=cache[n]["mask"], seed=SEED if order_seed is None else order_seed)
                   for n in cache}
        res, val_acc = train_keeping_best(model, params, batches["train"], batches["val"], lr=1e-3,
                                          epochs=epochs, time_limit_s=time_limit_s, weight_decay=0.01,
                                          eval_every=len(batches["train"]) // 2,
                                          decay_by_time=init_from is not None, keep_last=train_on_val)
        # Ship only what was trained, named as in BertModel: LoRA factors, LayerNorms, the head.
        for i, layer in enumerate(model.layers):
            for pname, p in layer.named_parameters():
                if p.requires_grad:
                    tensors[f"encoder.layer.{from_layer + i}.{pname}"] = p
        tensors["head.weight"], tensors["head.bias"] = model.head.linear.weight, model.head.linear.bias
    row = {"trained_params": sum(p.numel() for p in params),
           "val_accuracy": None if train_on_val else round(val_acc, 4),
           "time_limit_s": round(time_limit_s),
           "test_accuracy": round(accuracy_of(model, batches["test"]), 4), "train_seconds": round(res.seconds),
           "train_steps": res.steps, "epochs_done": round(res.steps / len(batches["train"]), 2)}
    if init_from is not None:
        row["continued_from"] = str(init_from)
    if order_seed is not None:
        row["order_seed"] = order_seed
    if train_on_val:
        row["trained_on"] = "train + val"
    print(name, row, flush=True)
    torch.save({"name": name, "row": row, "tensors": {k: v.detach().clone() for k, v in tensors.items()}},
               part_file(part, order_seed, train_on_val))


def lora_classifier(base, from_layer: int, rank: int) -> TopLayersClassifier:
    """A copy of MiniLM's layers from `from_layer` up, LoRA (alpha = 2 rank) in their six linear maps."""
    top = copy.deepcopy(base.encoder.layer[from_layer:])
    for layer in top:
        add_lora(layer, rank=rank, alpha=2 * rank)
    return TopLayersClassifier(top, base.config.hidden_size)


def load_lora_tensors(model: TopLayersClassifier, saved: dict, from_layer: int) -> None:
    """Copy LoRA / LayerNorm / head tensors (named as in the shipped file) into a TopLayersClassifier."""
    with torch.no_grad():
        for i, layer in enumerate(model.layers):
            for pname, p in layer.named_parameters():
                key = f"encoder.layer.{from_layer + i}.{pname}"
                if key in saved:
                    p.copy_(saved[key])
        model.head.linear.weight.copy_(saved["head.weight"])
        model.head.linear.bias.copy_(saved["head.bias"])


class Probe(torch.nn.Module):
    def __init__(self, linear):
        super().__init__()
        self.linear = linear

    def forward(self, pooled):
        return self.linear(pooled)
