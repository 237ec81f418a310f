"""Forecasts, backtests and gate traces: pure functions that tab.py, tests and train.py call.

    report = forecast_dataset("co2 (Mauna Loa, monthly ppm)", horizon=24)
    report.future          # DataFrame: date, forecast, lower, upper (the LSTM's 80% interval)
    report.metrics         # MAE / MASE of LSTM, GRU, seasonal naive, ETS on the held-out window
    report = forecast_csv("my.csv", horizon=12)   # fits an LSTM and a GRU on the file (<= 30 s)
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from apps.forecast import data
from apps.forecast.metrics import (
    coverage,
    ets_forecast,
    ets_quantiles,
    mae,
    mase,
    seasonal_naive,
    seasonal_naive_quantiles,
)
from shared import validate
from shared.checkpoints import WEIGHTS_DIR, load_checkpoint, read_card
from shared.errors import BadInput, Cancelled, CheckpointError
from shared.lazy import load_once

FORECAST_WEIGHTS = WEIGHTS_DIR / "forecast"
STEMS = ("co2", "elnino", "sunspots", "seattle", "stocks")
CELLS = ("lstm", "gru")
FIT_BUDGET_S = 30.0  # an uploaded series: LSTM + GRU + ETS together, on a 2-core CPU
ETS_RESERVE_S = 3.0  # kept back from the networks: their set-up, last validation, the backtest (ETS is fitted before them)
LSTM_SHARE = 0.6  # of the networks' time; the GRU gets the rest
MAX_HORIZON = data.MAX_POINTS  # what the horizon box accepts at all; each series allows less (max_horizon)
COMBINED = "mean of LSTM and ETS"  # a fifth candidate for uploads: the average of the two forecasts
BUNDLED_REPORTS = 32  # cached backtests of bundled series: the 9 default horizons + recent others


def checkpoint_paths() -> list:
    return [FORECAST_WEIGHTS / f"{stem}_{cell}.safetensors" for stem in STEMS for cell in CELLS]


@dataclass
class Models:
    lstm: object
    gru: object
    scalers: dict[str, data.Scaler]  # per series name
    cards: dict[str, dict] = field(default_factory=dict)


@load_once
def load_models(stem: str) -> Models:
    from apps.forecast.model import Forecaster

    loaded, cards = {}, {}
    for cell in CELLS:
        state, card = load_checkpoint(FORECAST_WEIGHTS / f"{stem}_{cell}.safetensors")
        model = Forecaster(cell, hidden=card["hidden"], horizon=card["horizon"])
        model.load_state_dict(state)
        loaded[cell] = model.eval()
        cards[cell] = card
    scalers = {name: data.Scaler(**s) for name, s in cards["lstm"]["scalers"].items()}
    # The card records the preprocessing it was trained with; data.py must still agree.
    for name, (_, settings, series_stem, _) in data.BUNDLED.items():
        if series_stem != stem:
            continue
        changed = {k: v for k, v in settings.items() if k != "unit" and cards["lstm"].get(k) != v}
        if changed or name not in scalers:
            raise CheckpointError(f"weights/forecast/{stem}_*.safetensors were trained with other settings "
                                  f"than apps/forecast/data.py now uses for {name!r} ({changed or 'no scaler'}). "
                                  f"Rebuild them with: {cards['lstm']['command']}")
    return Models(loaded["lstm"], loaded["gru"], scalers, cards)


def load_all() -> None:
    """Warm-up: load every checkpoint and precompute the default backtests (ETS takes seconds)."""
    for name in data.bundled_names():
        load_models(data.checkpoint_stem(name))
    for name in data.bundled_names():
        _bundled_report(name, data.BUNDLED[name][1]["horizon"])


# ----------------------------------------------------------------------------------------------

@dataclass
class Report:
    series: data.Series
    horizon: int
    future: pd.DataFrame          # date, forecast, lower, upper (LSTM) for the next H steps
    future_gru: pd.DataFrame
    metrics: pd.DataFrame         # one row per method on the held-out window
    backtest: dict                # origin, truth, forecasts and baselines (arrays)
    gate_origin: int
    notes: list[str] = field(default_factory=list)
    served: str = "LSTM"          # the method whose forecast `future` holds
    validation: dict = field(default_factory=dict)  # method -> MASE on the validation block (uploads)
    future_lstm: pd.DataFrame | None = None  # when `future` is not the LSTM's
    future_baseline: np.ndarray | None = None  # (H, 3) of the served baseline, for the figure

    def figures(self, models: Models):
        from apps.forecast import plots

        s, h, b = self.series, self.horizon, self.backtest
        backtest_fig = plots.backtest_figure(s, b["origin"], h, b["forecasts"], b["baselines"])
        lstm = self.future if self.future_lstm is None else self.future_lstm
        future = {"lstm": lstm[["lower", "forecast", "upper"]].to_numpy(),
                  "gru": self.future_gru[["lower", "forecast", "upper"]].to_numpy()}
        if self.future_baseline is not None:
            future[self.served] = self.future_baseline
        forecast_fig = plots.forecast_figure(s, h, future)
        gates_fig = plots.gates_figure(s, self.gate_origin, gate_trace(models, s, self.gate_origin))
        return backtest_fig, forecast_fig, gates_fig


def run_backtest(series: data.Series, models: Models, horizon: int,
                 ets: tuple[np.ndarray, str] | None = None) -> tuple[pd.DataFrame, dict]:
    """Hide the last `horizon` points, forecast them with every method, score each one.

    MASE's scale is the seasonal naive's in-sample error on the history before the hidden block.
    `ets`: the ETS forecast of the hidden block and its label, when already fitted.
    """
    from apps.forecast.fitting import predict

    n = len(series)
    origin = n - horizon
    history, truth = series.values[:origin], series.values[origin:]
    scaler = models.scalers[series.name]
    forecasts = {cell: predict(getattr(models, cell), series, scaler, origin, horizon) for cell in CELLS}
    ets_values, ets_label = ets if ets is not None else ets_forecast(history, series.period, horizon)
    baselines = {"seasonal naive": seasonal_naive(history, series.period, horizon), "ETS": ets_values}
    m = series.period
    rows = []
    for label, cell in (("LSTM", "lstm"), ("GRU", "gru")):
        q = forecasts[cell]
        rows.append({"method": label, "MAE": mae(truth, q[:, 1]), "MASE": mase(truth, q[:, 1], history, m),
                     "80% interval coverage": coverage(truth, q[:, 0], q[:, 2])})
    naive_label = "seasonal naive" + (f" (m={m})" if m > 1 else " (m=1: last value)")
    for label, values in ((naive_label, baselines["seasonal naive"]), (ets_label, ets_values)):
        rows.append({"method": label, "MAE": mae(truth, values), "MASE": mase(truth, values, history, m),
                     "80% interval coverage": np.nan})
    table = pd.DataFrame(rows)
    return table, {"origin": origin, "truth": truth, "forecasts": forecasts, "baselines": baselines}


def future_table(series: data.Series, quantiles: np.ndarray) -> pd.DataFrame:
    n, h = len(series), len(quantiles)
    return pd.DataFrame({"date": series.labels(n, n + h), "forecast": quantiles[:, 1],
                         "lower": quantiles[:, 0], "upper": quantiles[:, 2]})


def make_report(series: data.Series, models: Models, horizon: int, notes: list[str],
                ets: tuple[np.ndarray, str] | None = None) -> Report:
    from apps.forecast.fitting import predict

    metrics, backtest = run_backtest(series, models, horizon, ets)
    scaler = models.scalers[series.name]
    n = len(series)
    future = {cell: predict(getattr(models, cell), series, scaler, n, horizon) for cell in CELLS}
    return Report(series, horizon, future_table(series, future["lstm"]), future_table(series, future["gru"]),
                  metrics, backtest, gate_origin=n, notes=notes)


def gate_trace(models: Models, series: data.Series, origin: int) -> dict[str, np.ndarray]:
    """The LSTM's gates and cell state while it reads the window ending just before `origin`."""
    import torch

    from apps.forecast.model import lstm_gates

    x = torch.from_numpy(data.window_input(series, models.scalers[series.name], origin))
    return {k: v.numpy() for k, v in lstm_gates(models.lstm.rnn, x).items()}


# ----------------------------------------------------------------------------------------------
# The two entry points

def check_horizon(horizon, most: int) -> int:
    try:
        h = float(horizon)
    except (TypeError, ValueError):
        raise BadInput(f"The horizon must be a whole number of steps, not {horizon!r}.") from None
    if not np.isfinite(h) or h != int(h):
        raise BadInput(f"The horizon must be a whole number of steps, not {horizon!r}.")
    if h < 1:
        raise BadInput("The horizon must be at least 1 step.")
    if h > most:
        raise BadInput(f"The horizon can be at most {most} steps here.")
    return int(h)


@functools.lru_cache(maxsize=BUNDLED_REPORTS)
def _bundled_report(name: str, horizon: int) -> Report:
    """Deterministic for a bundled series and horizon (shipped weights, fixed data, ETS refit on
    the same history), and the ETS fit takes seconds: computed once per (series, horizon).
    Bounded: the default horizons (warmed by load_all) and the last few others asked for."""
    series = data.load_bundled(name)
    return make_report(series, load_models(data.checkpoint_stem(name)), horizon, [])


def forecast_dataset(name: str, horizon) -> tuple[Report, Models]:
    """Backtest + forecast a bundled series with its shipped LSTM and GRU (horizon <= trained H)."""
    if name not in data.BUNDLED:
        raise BadInput(f"Unknown series {name!r}. Choose one of: {', '.join(data.BUNDLED)}.")
    trained_h = data.BUNDLED[name][1]["horizon"]
    if horizon is None or horizon == "":
        horizon = trained_h
    try:
        h = check_horizon(horizon, trained_h)
    except BadInput as e:
        if "at most" in str(e):
            raise BadInput(f"The shipped models for this series forecast at most {trained_h} steps. "
                           "For a longer horizon, download the series as CSV and fit your own below.") from None
        raise
    return _bundled_report(name, h), load_models(data.checkpoint_stem(name))


def inspect_csv(path) -> dict:
    """What the UI shows after an upload: columns, the detected ones, suggested period and horizon."""
    df = data.read_table(path)
    date_col, value_col = data.detect_columns(df)
    series = data.series_from_table(df, date_col, value_col)
    return {"columns": list(df.columns), "date": date_col, "value": value_col, "period": series.period,
            "horizon": series.horizon, "points": len(series), "step": series.step,
            "max_horizon": data.max_horizon(len(series), series.period),
            "notes": list(series.notes)}


def forecast_csv(path, horizon, date_col: str = "auto", value_col: str = "auto", period=0,
                 on_progress: Callable[[float, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> tuple[Report, Models]:
    """Fit an LSTM and a GRU on an uploaded CSV (30 s for everything), backtest, and forecast with
    the method that did best on the validation block (see choose_on_validation).

    `should_stop()` is asked between stages and before every training step: True (the user left)
    ends the work with Cancelled."""
    from apps.forecast.fitting import predict, train_forecaster

    def check_stop():
        if should_stop is not None and should_stop():
            raise Cancelled("Fitting stopped: nobody waits for it any more.")

    start = time.monotonic()  # the budget counts reading the file too
    df = data.read_table(path)
    period = 0 if period in (None, "") else validate.integer(period, 0, data.MAX_POINTS // 3, "the seasonal period")
    probe = data.series_from_table(df, date_col, value_col, horizon=None, period=period or None)
    most = max(1, data.max_horizon(len(probe), probe.period))
    h = probe.horizon if horizon in (None, "") else validate.integer(horizon, 1, MAX_HORIZON, "the horizon")
    if h > most:
        raise BadInput(f"The horizon can be at most {most} steps for this series of {len(probe)} points "
                       f"(asked for {h}): a longer one leaves fewer than {data.MIN_TRAIN_WINDOWS} training "
                       "windows after the validation and test blocks.")
    series = data.with_horizon(probe, h)
    n, m = len(series), series.period
    if on_progress:
        on_progress(0.0, "Fitting ETS on the validation and test blocks")
    # All three ETS fits first (validation, test, future), so that the networks get what is left
    # and nothing slow runs after them: the 30 s hold on a busy machine too.
    fitted_ets: dict = {}  # fitted once on the validation history; the test and future runs reuse it
    ets_val, ets_label = ets_quantiles(series.values[:n - 2 * h], m, h, reuse=fitted_ets)
    ets_test, _ = ets_quantiles(series.values[:n - h], m, h, reuse=fitted_ets)
    ets_future, _ = ets_quantiles(series.values, m, h, reuse=fitted_ets)
    check_stop()
    deadline = start + FIT_BUDGET_S - ETS_RESERVE_S
    fitted = {}
    for cell, share in (("lstm", (0.1, 0.6)), ("gru", (0.6, 0.95))):
        left = deadline - time.monotonic()
        limit = max(1.0, left * LSTM_SHARE if cell == "lstm" else left)

        def progress(frac, _metrics, cell=cell, share=share):
            if on_progress:
                on_progress(share[0] + frac * (share[1] - share[0]), f"Fitting the {cell.upper()}")

        fitted[cell] = train_forecaster([series], cell, epochs=400, time_limit_s=limit, on_progress=progress,
                                        should_stop=should_stop)
        check_stop()
    if on_progress:
        on_progress(0.95, "Backtesting against seasonal naive and ETS")
    models = Models(fitted["lstm"].model, fitted["gru"].model, fitted["lstm"].scalers)
    scaler = models.scalers[series.name]
    candidates = {"LSTM": predict(models.lstm, series, scaler, n - 2 * h, h),
                  "GRU": predict(models.gru, series, scaler, n - 2 * h, h),
                  "seasonal naive": seasonal_naive_quantiles(series.values[:n - 2 * h], m, h),
                  "ETS": ets_val}
    candidates[COMBINED] = (candidates["LSTM"] + ets_val) / 2  # M4: combinations are hard to beat
    validation = choose_on_validation(series, h, candidates)
    served = min(validation, key=validation.get)
    notes = list(series.notes)
    lstm = fitted["lstm"]
    why = "when its time share ran out" if lstm.result.stopped_early else "when validation stopped improving"
    notes.append(f"Fitted both networks in {time.monotonic() - start:.0f} s on {n} points "
                 f"(one step = {series.step}; window {series.window}, horizon {h}, seasonal period {m}). "
                 f"The LSTM trained {lstm.epochs_trained} epochs, stopping {why}, and kept epoch "
                 f"{lstm.best_epoch} (best on validation).")
    report = make_report(series, models, h, notes, ets=(ets_test[:, 1], ets_label))
    report.served, report.validation = served, validation
    if served not in ("LSTM", "GRU"):
        future = {"ETS": ets_future, "seasonal naive": seasonal_naive_quantiles(series.values, m, h),
                  COMBINED: (report.future[["lower", "forecast", "upper"]].to_numpy() + ets_future) / 2}[served]
        report.future_lstm, report.future_baseline = report.future, future
        report.future = future_table(series, future)
    elif served == "GRU":
        report.future_lstm, report.future = report.future, report.future_gru
    test_q = {"LSTM": report.backtest["forecasts"]["lstm"], "GRU": report.backtest["forecasts"]["gru"],
              "seasonal naive": seasonal_naive_quantiles(series.values[:n - h], m, h), "ETS": ets_test,
              COMBINED: (report.backtest["forecasts"]["lstm"] + ets_test) / 2}[served]
    truth, history = series.values[n - h:], series.values[:n - h]
    served_row = {"method": f"served: {served} (best on validation)", "MAE": mae(truth, test_q[:, 1]),
                  "MASE": mase(truth, test_q[:, 1], history, m),
                  "80% interval coverage": coverage(truth, test_q[:, 0], test_q[:, 2])}
    table = pd.concat([report.metrics, pd.DataFrame([served_row])], ignore_index=True)
    table["validation MASE"] = [validation["LSTM"], validation["GRU"], validation["seasonal naive"],
                                validation["ETS"], validation[served]]
    report.metrics = table
    return report, models


def choose_on_validation(series: data.Series, horizon: int, candidates: dict[str, np.ndarray]) -> dict[str, float]:
    """MASE of each candidate on the validation block: the H steps just before the test block,
    forecast from the origin n - 2H (M4's lesson: no method wins everywhere, so pick per series,
    on data the test block never sees). The networks kept their best epoch on these same windows,
    so their validation scores lean optimistic; the test block stays honest for all four."""
    n, h, m = len(series), horizon, series.period
    truth, history = series.values[n - 2 * h:n - h], series.values[:n - 2 * h]
    return {name: mase(truth, q[:, 1], history, m) for name, q in candidates.items()}


def verdict(report: Report, card_summary: dict | None = None) -> str:
    """Plain sentences on how the LSTM did on this window, and the tab's targets when known."""
    table = report.metrics.set_index("method")
    lstm = table.loc["LSTM", "MASE"]
    naive = table.iloc[2]["MASE"]
    ets = table.iloc[3]["MASE"]
    words = lambda a, b: "better than" if a < b else ("the same as" if a == b else "worse than")  # noqa: E731
    lines = [f"On the held-out {report.horizon} steps the LSTM's MASE is **{lstm:.2f}**: "
             f"{words(lstm, naive)} seasonal naive ({naive:.2f}) and {words(lstm, ets)} ETS ({ets:.2f}). "
             f"Its 80% interval held {table.loc['LSTM', '80% interval coverage']:.0%} of the true values."]
    caution = random_walk_sentence(report.metrics, _step_word(report.series))
    if caution:
        lines.append(caution)
    lost_to = [name for name, value in (("seasonal naive", naive), ("ETS", ets)) if lstm > value]
    if lost_to:
        lines.append(f"**The LSTM loses to {' and to '.join(lost_to)} on this backtest.** A small network fitted "
                     "on one short series often does: simple methods are hard to beat.")
    if report.validation:
        scores = ", ".join(f"{k} {v:.2f}" for k, v in report.validation.items())
        served_test = table.iloc[-1]["MASE"]
        lines.append(f"The forecast table shows **{report.served}**: the method with the lowest MASE on the "
                     f"validation block, the {report.horizon} steps just before the held-out ones ({scores}). "
                     f"Chosen there, it scores **{served_test:.2f}** on the held-out steps.")
    if card_summary:
        lines.append(card_summary_text(card_summary))
    return "\n\n".join(lines)


def card_summary_text(summary: dict) -> str:
    """The tab's two goals, measured on the shipped checkpoints, in a learner's words.

    A goal reached only on series that no method can forecast (random-walk-like) says so.
    """
    avg_lstm, avg_ets = summary["mean_mase_lstm"], summary["mean_mase_ets"]
    rows = summary["per_series"]
    missed = [name for name, row in rows.items() if not row["lstm_beats_seasonal_naive"]]
    unforecastable = [name for name, row in rows.items()
                      if min(row[f"mase_{k}"] for k in ("lstm", "gru", "snaive", "ets") if f"mase_{k}" in row) >= 1]
    first = ("Goal 1, the LSTM beats seasonal naive on every bundled series: "
             + ("**reached**" if not missed else f"**not yet** (it loses on {', '.join(missed)})"))
    if unforecastable and not missed:
        first += (f", but on {len(unforecastable)} of them ({_short_list(unforecastable)}) no method beats "
                  "'same as the last value' (MASE ≥ 1 for every method), so winning there is by a small margin "
                  "on a random walk, not a forecast")
    second = (f"Goal 2, the LSTM's mean MASE over the {len(rows)} bundled series no worse than ETS's: "
              f"{avg_lstm:.3f} vs {avg_ets:.3f}, **{'reached' if avg_lstm <= avg_ets else 'not yet'}**")
    return first + ". " + second + "."


def _short_list(names: list[str]) -> str:
    return ", ".join(name.split(" (")[0] for name in names)


NOMINAL_COVERAGE = 0.8
FAR_BELOW_NOMINAL = 0.3  # an 80 % interval that held under 50 % of the truth is said plainly


def _step_word(series: data.Series) -> str:
    if series.step:
        return series.step
    freq = getattr(series.index, "freqstr", "") or ""
    return {"M": "month", "Y": "year", "A": "year", "D": "day", "W": "week", "Q": "quarter",
            "H": "hour"}.get(freq[:1].upper(), "step")


def random_walk_sentence(metrics: pd.DataFrame, step: str = "step") -> str:
    """A sentence, from the backtest's numbers, for a series no method forecasts (empty otherwise).

    Random-walk-like: every method's MASE is ≥ 1, i.e. none beats the one-step 'same as last {step}'
    forecast's typical error. An interval that held far less than its nominal 80 % is also said.
    """
    table = metrics.set_index("method")
    mase_values = table["MASE"].astype(float)
    sentences = []
    if len(mase_values) and (mase_values >= 1).all():
        best_name, best = mase_values.idxmin(), mase_values.min()
        sentences.append(
            f"**These values move like a random walk: no method here forecasts better than 'same as last {step}'** "
            f"(MASE ≥ 1 for every method, from {best:.2f} for {best_name} to {mase_values.max():.2f}). "
            "On a series like this, differences between methods over a few held-out steps say little.")
    coverage_column = "80% interval coverage"
    if coverage_column in table:
        low = table[coverage_column].dropna()
        low = low[low < NOMINAL_COVERAGE - FAR_BELOW_NOMINAL]
        if len(low):
            held = " and ".join(f"the {name}'s held only {value:.0%}" for name, value in low.items())
            sentences.append(f"The {NOMINAL_COVERAGE:.0%} interval should hold {NOMINAL_COVERAGE:.0%} of the true "
                             f"values; {held}: the future was far less certain than the model's interval says.")
    return " ".join(sentences)


def targets_summary() -> dict:
    """Both targets, measured on every bundled series at its trained horizon (read from the cards)."""
    per_series = {}
    for stem in STEMS:
        card = read_card(FORECAST_WEIGHTS / f"{stem}_lstm.safetensors")  # JSON only: no torch needed
        for row in card["backtest"]:
            per_series[row["series"]] = row
    return {"per_series": per_series,
            "mean_mase_lstm": float(np.mean([r["mase_lstm"] for r in per_series.values()])),
            "mean_mase_ets": float(np.mean([r["mase_ets"] for r in per_series.values()]))}
