"""Train the shipped LSTM and GRU forecasters, one pair per bundled data set, and write their cards.

    python -m apps.forecast.train                 # all five pairs: 13 min (779 s) on one thread of a
                                                  # 2-core CPU shared with other jobs (load ~18)
    python -m apps.forecast.train --only co2      # one pair

Data come from installed packages (statsmodels.datasets, vega_datasets): nothing is downloaded.
For every series the last H points are held out (the backtest), the H before them choose the
best epoch, and the rest is trained on. The cards record the backtest against seasonal naive and
ETS, computed here by the same code the app runs (apps.forecast.infer.run_backtest).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from apps.forecast import data, infer, spec
from apps.forecast.fitting import HIDDEN, train_forecaster
from shared.checkpoints import save_checkpoint
from shared.training import card_command

SEED = 0
EPOCHS = 300
TIME_LIMIT_S = 1800  # a safety net only: early stopping ends every run first, so runs are reproducible


def series_settings(s: data.Series) -> dict:
    return {"window": s.window, "horizon": s.horizon, "period": s.period, "transform": s.transform,
            "phase_features": s.phase_features, "level_feature": s.level_feature}


def train_stem(stem: str) -> None:
    series_list = data.bundled_for_checkpoint(stem)
    first = series_list[0]
    fitted, seconds = {}, {}
    for cell in spec.CELLS:
        start = time.monotonic()
        fitted[cell] = train_forecaster(
            series_list, cell, epochs=EPOCHS, time_limit_s=TIME_LIMIT_S, seed=SEED,
            on_progress=lambda frac, m, cell=cell: print(
                f"  {stem} {cell} {frac:5.1%} epoch {m.get('epoch')} loss {m.get('loss', float('nan')):.4f} "
                f"val {m.get('val_loss', float('nan')):.4f}", flush=True) if m.get("epoch", 0) % 25 == 0 else None)
        seconds[cell] = time.monotonic() - start
        print(f"{stem} {cell}: best epoch {fitted[cell].best_epoch}, val pinball {fitted[cell].best_val_loss:.4f}, "
              f"{seconds[cell]:.0f} s", flush=True)

    models = infer.Models(fitted["lstm"].model, fitted["gru"].model, fitted["lstm"].scalers)
    models.scalers.update(fitted["gru"].scalers)  # identical: the same series and split
    rows = []
    for s in series_list:
        table = infer.run_backtest(s, models, s.horizon).table
        mase_of = dict(zip(["lstm", "gru", "snaive", "ets"], table["MASE"]))
        mae_of = dict(zip(["lstm", "gru", "snaive", "ets"], table["MAE"]))
        cover = dict(zip(["lstm", "gru"], table["80% interval coverage"]))
        rows.append({"series": s.name, "points": len(s), **series_settings(s),
                     **{f"mase_{k}": round(float(v), 4) for k, v in mase_of.items()},
                     **{f"mae_{k}": round(float(v), 4) for k, v in mae_of.items()},
                     "coverage80_lstm": round(float(cover["lstm"]), 4), "coverage80_gru": round(float(cover["gru"]), 4),
                     "ets_method": table["method"].iloc[3],
                     "lstm_beats_seasonal_naive": bool(mase_of["lstm"] < mase_of["snaive"])})
        print(table.round(3).to_string(index=False), flush=True)

    names = ", ".join(b.source for b in spec.BUNDLED.values() if b.stem == stem)
    for cell in spec.CELLS:
        f = fitted[cell]
        mean = lambda key: round(float(np.mean([r[key] for r in rows])), 4)  # noqa: E731
        card = {
            "name": f"{cell.upper()} forecaster · {stem}",
            "architecture": f"1-layer {cell.upper()} ({HIDDEN} units) reading {first.window} steps x 4 features "
                            f"-> linear head: {first.horizon} steps x quantiles {list(data.QUANTILES)} "
                            "(median + softplus gaps, never crossing); predicts the change from the last value",
            "data": names,
            "data_license": spec.DATA_LICENSES[stem],
            "metrics": {
                f"backtest_MASE_{cell}": mean(f"mase_{cell}"),
                "backtest_MASE_seasonal_naive": mean("mase_snaive"),
                "backtest_MASE_ETS": mean("mase_ets"),
                f"backtest_MAE_{cell}": mean(f"mae_{cell}"),
                f"coverage_80pct_interval_{cell}": mean(f"coverage80_{cell}"),
                "validation_pinball": round(f.best_val_loss, 5),
            },
            "headline_metric": f"backtest_MASE_{cell}",
            "metrics_note": "Backtest = the last H points of each series, never trained or validated on; "
                            "MASE scaled by the seasonal naive's in-sample MAE; means over the series listed.",
            "command": card_command("apps.forecast.train", ["--only", stem]),  # what rebuilds this pair
            "seed": SEED,
            "hidden": HIDDEN,
            "quantiles": list(data.QUANTILES),
            **series_settings(first),
            "scalers": {name: {"mean": sc.mean, "std": sc.std} for name, sc in f.scalers.items()},
            "best_epoch": f.best_epoch,
            "epochs_trained": f.epochs_trained,
            "notes": card_notes(cell, f, rows),
            "training_seconds": round(seconds[cell], 1),
            "torch_threads": torch.get_num_threads(),
            "backtest": rows,
        }
        save_checkpoint(f.model.state_dict(), spec.FORECAST_WEIGHTS / f"{stem}_{cell}.safetensors", card)


def card_notes(cell: str, f, rows: list[dict]) -> list[str]:
    """Plain warnings, written from the numbers: what a reader of the card should not miss."""
    notes = []
    if f.best_epoch <= 2:
        notes.append(f"Validation loss was best after epoch {f.best_epoch}: the network learned little beyond "
                     "a drift on top of the last value.")
    for r in rows:
        if r[f"coverage80_{cell}"] < 0.6:
            notes.append(f"{r['series']}: the 80% interval held only {r[f'coverage80_{cell}']:.0%} of the "
                         "held-out points; the intervals are too narrow on this window.")
        if r[f"mase_{cell}"] >= r["mase_snaive"]:
            notes.append(f"{r['series']}: not better than seasonal naive (MASE {r[f'mase_{cell}']:.3f} vs "
                         f"{r['mase_snaive']:.3f}).")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=spec.STEMS, nargs="*", help="train only these data sets")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.monotonic()
    for stem in args.only or spec.STEMS:
        train_stem(stem)
    print(f"done in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
