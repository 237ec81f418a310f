"""Model soups of LoRA runs (Wortsman et al. 2022): several runs from one initialisation, their
weight updates averaged, served as one adapter (used by train.py).

    greedy_soup(...)   runs sorted by validation accuracy; each joins if the soup's does not drop
    uniform_soup(...)  all runs averaged (the final runs trained on train + val: nothing to choose by)
    make_soup(runs)    the averaged tensors: one LoRA of rank K*r
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from apps.transformer.fitting import Batches, accuracy_of, load_lora_tensors, lora_classifier, part_file

SOUP_SELECTION_FILE = Path("/tmp/transformer_soup_selection.json")  # the last greedy soup's choice
MAX_SOUP_INGREDIENTS = 6  # each r=16 ingredient adds ~1.3 MB (fp16 factors); weights/ files stay < 10 MB


def greedy_soup(cache, y, base, from_layer: int, rank: int, top_layers: int, seeds: tuple[int, ...]) -> dict:
    """Greedy soup (Wortsman et al. 2022, recipe 1) of the seeds' LoRA runs: take the runs in order of
    validation accuracy; add each one to the soup if the soup's validation accuracy does not drop.
    Returned as a part (name, row, tensors, rank) plus the ingredients' rows and a note."""
    batches = {n: Batches((cache[n]["states"], cache[n]["mask"], y[n]), 64, shuffle=False,
                          trim_mask=cache[n]["mask"]) for n in ("val", "test")}
    runs = [torch.load(part_file("lora", seed), weights_only=True) for seed in seeds]
    runs.sort(key=lambda run: -run["row"]["val_accuracy"])
    chosen = [runs[0]]
    soup_val = lora_accuracy(runs[0]["tensors"], rank, base, from_layer, batches["val"])
    tried = [f"seed {runs[0]['row']['order_seed']}: val {soup_val:.4f}"]
    for run in runs[1:]:
        if len(chosen) == MAX_SOUP_INGREDIENTS:
            break
        candidate = make_soup(chosen + [run])
        val = lora_accuracy(candidate, rank * (len(chosen) + 1), base, from_layer, batches["val"])
        kept = val >= soup_val
        tried.append(f"+ seed {run['row']['order_seed']}: val {val:.4f} ({'kept' if kept else 'dropped'})")
        if kept:
            chosen, soup_val = chosen + [run], val
    print("greedy soup:", "; ".join(tried), flush=True)
    seeds_in = [run["row"]["order_seed"] for run in chosen]
    tensors = make_soup(chosen)  # one run's "soup" is that run's tensors
    served_rank = rank * len(chosen)
    row = _soup_row([run["row"] for run in chosen], round(soup_val, 4),
                    lora_accuracy(tensors, served_rank, base, from_layer, batches["test"]))
    name = (f"MiniLM fine-tuned: soup of {len(chosen)} LoRA r={rank} runs in top {top_layers} layers "
            f"(= one LoRA r={served_rank}) + head (served)" if len(chosen) > 1 else
            f"MiniLM fine-tuned: LoRA r={rank} in top {top_layers} layers + head (served)")
    note = (f"{len(runs)} LoRA runs from the same initialisation (seed 0) with data-order/dropout seeds "
            f"{', '.join(str(r['row']['order_seed']) for r in runs)}; greedy soup by validation accuracy "
            f"(an ingredient stays if val does not drop): {'; '.join(tried)}; served: seeds "
            f"{', '.join(map(str, seeds_in))}, their weight updates averaged")
    # Kept for the final run's card (--train-on-val): how its seeds were chosen.
    SOUP_SELECTION_FILE.write_text(json.dumps({"seeds": seeds_in, "note": note, "val_accuracy": row["val_accuracy"],
                                               "test_accuracy": row["test_accuracy"]}))
    return {"name": name, "row": row, "tensors": tensors, "rank": served_rank,
            "ingredients": [run["row"] for run in runs], "soup_note": note}


def uniform_soup(cache, y, base, from_layer: int, rank: int, top_layers: int, seeds: tuple[int, ...]) -> dict:
    """All the seeds' LoRA runs (trained on train + val) averaged: the final run of a soup recipe."""
    batches = Batches((cache["test"]["states"], cache["test"]["mask"], y["test"]), 64, shuffle=False,
                      trim_mask=cache["test"]["mask"])
    runs = [torch.load(part_file("lora", seed, train_on_val=True), weights_only=True) for seed in seeds]
    tensors, served_rank = make_soup(runs), rank * len(runs)
    rows = [run["row"] for run in runs]
    row = _soup_row(rows, None, lora_accuracy(tensors, served_rank, base, from_layer, batches)) | {"trained_on": "train + val"}
    name = (f"MiniLM fine-tuned: soup of {len(runs)} LoRA r={rank} runs in top {top_layers} layers "
            f"(= one LoRA r={served_rank}), trained on train + val, + head (served)")
    note = (f"{len(runs)} LoRA runs from the same initialisation (seed 0) with data-order/dropout seeds "
            f"{', '.join(map(str, seeds))}, trained on train + val (the soup recipe was chosen on val first), "
            "their weight updates averaged")
    selection = json.loads(SOUP_SELECTION_FILE.read_text()) if SOUP_SELECTION_FILE.exists() else {}
    if sorted(selection.get("seeds", [])) == sorted(seeds):
        note += (f". How the seeds were chosen, on train-only runs: {selection['note']} "
                 f"(that soup: val {selection['val_accuracy']:.1%}, test {selection['test_accuracy']:.1%})")
    return {"name": name, "row": row, "tensors": tensors, "rank": served_rank, "ingredients": rows, "soup_note": note}


def _soup_row(rows: list[dict], val_accuracy: float | None, test_accuracy: float) -> dict:
    """The comparison row of a soup: its accuracies, and its ingredients' training summed."""
    return {"trained_params": sum(r["trained_params"] for r in rows), "val_accuracy": val_accuracy,
            "test_accuracy": round(test_accuracy, 4), "time_limit_s": rows[0]["time_limit_s"],
            "train_seconds": sum(r["train_seconds"] for r in rows), "train_steps": sum(r["train_steps"] for r in rows),
            "epochs_done": round(sum(r["epochs_done"] for r in rows), 2)}


def make_soup(runs: list[dict]) -> dict[str, torch.Tensor]:
    """Uniform model soup (Wortsman et al. 2022) of LoRA runs that share one initialisation:
    the average of their weight updates, mean_k(s B_k A_k), is exactly one LoRA of rank K*r with
    A = [A_1; ...; A_K] and B = [B_1 ... B_K] / K (scale s = alpha/rank stays 2); LayerNorms and
    head are averaged. So the soup serves like any single adapter, at no extra cost."""
    soup = {}
    for name in runs[0]["tensors"]:
        parts = [run["tensors"][name].float() for run in runs]
        if name.endswith(".lora_A"):
            soup[name] = torch.cat(parts, 0)
        elif name.endswith(".lora_B"):
            soup[name] = torch.cat(parts, 1) / len(parts)
        else:
            soup[name] = torch.stack(parts).mean(0)
    return soup


def lora_accuracy(tensors: dict, rank: int, base, from_layer: int, batches) -> float:
    """Accuracy of LoRA tensors (any rank) on cached-state batches, through TopLayersClassifier."""
    model = lora_classifier(base, from_layer, rank)
    load_lora_tensors(model, tensors, from_layer)
    return accuracy_of(model, batches)
