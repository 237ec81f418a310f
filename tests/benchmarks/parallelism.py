"""Measured parallelism: one training step of the memory tab's LSTM and transformer, against L.

    python -m tests.benchmarks.parallelism                 # L = 10 … 400, 1 torch thread, ~2 min
    python -m tests.benchmarks.parallelism --threads 2     # another thread count

One step = forward + backward + Adam update on a batch of 32 "which letter came first?" sequences
(apps/memory/data.py), for the shipped architectures (apps/memory/model.py): LSTM, hidden 32,
6,152 parameters; transformer encoder, 2 layers, d = 16, 5,336 parameters (13 % fewer). Each
figure is the median of `--repeats` timed steps after 2 warm-up steps. Sequential steps: an LSTM
must finish step t - 1 before step t (L steps one after another); a transformer layer processes
all L positions at once (one sequential step per layer), at the price of an L x L attention matrix
per head.

Writes weights/memory/parallelism.json (the tab's table), weights/memory/parallelism.png (the
tab's plot) and tests/benchmarks/parallelism.md (the README's table).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

from apps.memory.spec import PARALLELISM as JSON_OUT
from apps.memory.spec import PARALLELISM_PLOT as PNG_OUT

LENGTHS = (10, 25, 50, 100, 200, 400)
BATCH = 32
MD_OUT = Path(__file__).with_name("parallelism.md")


def time_step(model, length: int, repeats: int) -> float:
    """Median seconds of one forward + backward + Adam step at `length`."""
    import torch
    import torch.nn.functional as F

    from apps.memory import data

    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(length)
    times = []
    for i in range(repeats + 2):
        tokens, targets = data.make_batch(BATCH, length, generator)
        start = time.perf_counter()
        loss = F.cross_entropy(model(tokens), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if i >= 2:  # the first two steps pay one-off set-up costs
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(threads: int, repeats: int, lengths=LENGTHS) -> dict:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return _measure(threads, repeats, lengths)
    finally:
        torch.set_num_threads(before)  # callers (a test process) keep their thread count


def _measure(threads: int, repeats: int, lengths) -> dict:
    import torch

    from apps.memory import data
    from apps.memory.model import build, count_params

    torch.manual_seed(0)
    models = {k: build(k, data.VOCAB_SIZE, data.NUM_LETTERS) for k in ("lstm", "transformer")}
    rows = []
    for length in lengths:
        row = {"length": length}
        for kind, model in models.items():
            row[f"{kind}_ms"] = round(1000 * time_step(model, length, repeats), 2)
        row["lstm_sequential_steps"] = length
        row["transformer_sequential_steps"] = models["transformer"].num_layers
        row["ratio_lstm_over_transformer"] = round(row["lstm_ms"] / row["transformer_ms"], 2)
        rows.append(row)
        print(row, flush=True)
    return {
        "what": "median wall-clock time of one training step (forward + backward + Adam) on the CPU",
        "command": "python -m tests.benchmarks.parallelism" + (f" --threads {threads}" if threads != 1 else ""),
        "torch_threads": threads, "batch_size": BATCH, "repeats": repeats,
        "params": {k: count_params(m) for k, m in models.items()},
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
                   f"shared with other jobs (load average {os.getloadavg()[0]:.1f} at the end)",
        "torch": torch.__version__, "date": time.strftime("%Y-%m-%d"),
        "rows": rows,
    }


def markdown(result: dict) -> str:
    lines = [f"One training step (forward + backward + Adam), batch {result['batch_size']}, "
             f"{result['torch_threads']} torch thread(s), median of {result['repeats']}; "
             f"LSTM {result['params']['lstm']:,} parameters, transformer {result['params']['transformer']:,}; "
             f"{result['machine']}, {result['date']}.", "",
             "| L | LSTM ms/step | transformer ms/step | LSTM ÷ transformer | sequential steps LSTM | "
             "sequential steps transformer |", "|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['length']} | {r['lstm_ms']:.1f} | {r['transformer_ms']:.1f} | "
                     f"{r['ratio_lstm_over_transformer']:.2f} | {r['lstm_sequential_steps']} | "
                     f"{r['transformer_sequential_steps']} |")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path = PNG_OUT) -> None:
    from apps.memory import views

    views.parallelism_figure(result).savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    parser.add_argument("--repeats", type=int, default=9, help="timed steps per model and length (default 9)")
    args = parser.parse_args()
    result = measure(args.threads, args.repeats)
    JSON_OUT.write_text(json.dumps(result, indent=2) + "\n")
    MD_OUT.write_text(markdown(result))
    plot(result)
    print(markdown(result))


if __name__ == "__main__":
    main()
