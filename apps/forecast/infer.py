"""Forecasts, backtests and gate traces: pure functions that tab.py, tests and train.py call.
Each returns a dataclass; views.py turns them into figures and sentences.

    report = forecast_dataset("co2 (Mauna Loa, monthly ppm)", horizon=24)
    report.future          # DataFrame: date, forecast, lower, upper (the LSTM's 80% interval)
    report.metrics         # MAE / MASE of LSTM, GRU, seasonal naive, ETS on the held-out window
    report.gates           # the LSTM's gates and cell state while it read the last window
    report = forecast_csv("my.csv", horizon=12)   # fits an LSTM and a GRU on the file (<= 30 s)
    info = inspect_csv("my.csv")                  # what was detected in it, before any fitting
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from apps.forecast import data, spec
from apps.forecast.metrics import (
    coverage,
    ets_forecast,
    ets_quantiles,
    mae,
    mase,
    seasonal_naive,
    seasonal_naive_quantiles,
)
from apps.forecast.spec import CELLS, FORECAST_WEIGHTS, STEMS
from shared import validate
from shared.checkpoints import load_checkpoint, read_card
from shared.errors import BadInput, Cancelled, CheckpointError
from shared.lazy import load_once

ETS_RESERVE_S = 3.0  # kept back from the networks: their set-up, last validation, the backtest (ETS is fitted before them)
LSTM_SHARE = 0.6  # of the networks' time; the GRU gets the rest
COMBINED = "mean of LSTM and ETS"  # a fifth candidate for uploads: the average of the two forecasts
BUNDLED_REPORTS = 32  # cached backtests of bundled series: the 9 default horizons + recent others
PREVIEW_ROWS = 8  # rows of an upload shown as it was read


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
    # The card records the preprocessing it was trained with; spec.py must still agree.
    for name, bundled in spec.BUNDLED.items():
        if bundled.stem != stem:
            continue
        changed = {k: v for k, v in bundled.settings.items() if k != "unit" and cards["lstm"].get(k) != v}
        if changed or name not in scalers:
            raise CheckpointError(f"weights/forecast/{stem}_*.safetensors were trained with other settings "
                                  f"than apps/forecast/spec.py now gives for {name!r} ({changed or 'no scaler'}). "
                                  f"Rebuild them with: {cards['lstm']['command']}")
    return Models(loaded["lstm"], loaded["gru"], scalers, cards)


def load_all() -> None:
    """Warm-up: load every checkpoint and precompute the default backtests (ETS takes seconds)."""
    for name in data.bundled_names():
        load_models(data.checkpoint_stem(name))
    for name in data.bundled_names():
        _bundled_report(name, spec.BUNDLED[name].horizon)


# ----------------------------------------------------------------------------------------------

@dataclass
class Backtest:
    """The last H points hidden from every method, forecast and scored."""
    origin: int                        # the first hidden step
    truth: np.ndarray                  # (H,) the hidden values
    forecasts: dict[str, np.ndarray]   # "lstm" / "gru" -> (H, 3) lower, median, upper
    baselines: dict[str, np.ndarray]   # "seasonal naive" / "ETS" -> (H,) point forecasts
    table: pd.DataFrame                # one row per method: MAE, MASE, 80% interval coverage


@dataclass
class Report:
    series: data.Series
    horizon: int
    future: pd.DataFrame          # date, forecast, lower, upper of the served method for the next H steps
    future_gru: pd.DataFrame
    metrics: pd.DataFrame         # one row per method on the held-out window
    backtest: Backtest
    gates: dict[str, np.ndarray]  # the LSTM reading the last window: input/forget/output/cell/hidden, (L, D) each
    notes: list[str] = field(default_factory=list)
    served: str = "LSTM"          # the method whose forecast `future` holds
    validation: dict[str, float] = field(default_factory=dict)  # method -> MASE on the validation block (uploads)
    future_lstm: pd.DataFrame | None = None  # when `future` is not the LSTM's
    future_baseline: np.ndarray | None = None  # (H, 3) of the served baseline, for the figure

    @property
    def gate_origin(self) -> int:
        """The gates are traced on the window the forecast of the future reads: it ends at the last point."""
        return len(self.series)

    @property
    def bundled(self) -> bool:
        return not self.validation


@dataclass
class CsvInfo:
    """What an upload holds, as read: before anything is fitted."""
    columns: list[str]
    date: str              # the detected date column, or spec.ROW_ORDER
    value: str             # the detected value column
    period: int            # suggested season length (1 = none)
    horizon: int           # suggested horizon
    max_horizon: int       # the longest this series allows
    points: int            # after placing it on its grid (gaps added, the last MAX_POINTS kept)
    step: str              # one step, readable ("hour", "month"), or "row"
    notes: list[str]       # corrections made while reading it
    preview: pd.DataFrame  # the first rows as read, to show the file's shape


@dataclass
class Goals:
    """The tab's two goals, measured on the shipped checkpoints (read from their cards)."""
    per_series: dict[str, dict]   # series name -> its card's backtest row
    mean_mase_lstm: float
    mean_mase_ets: float


def run_backtest(series: data.Series, models: Models, horizon: int,
                 ets: tuple[np.ndarray, str] | None = None) -> Backtest:
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
    return Backtest(origin, truth, forecasts, baselines, pd.DataFrame(rows))


def future_table(series: data.Series, quantiles: np.ndarray) -> pd.DataFrame:
    n, h = len(series), len(quantiles)
    return pd.DataFrame({"date": series.labels(n, n + h), "forecast": quantiles[:, 1],
                         "lower": quantiles[:, 0], "upper": quantiles[:, 2]})


def make_report(series: data.Series, models: Models, horizon: int, notes: list[str],
                ets: tuple[np.ndarray, str] | None = None) -> Report:
    from apps.forecast.fitting import predict

    backtest = run_backtest(series, models, horizon, ets)
    scaler = models.scalers[series.name]
    n = len(series)
    future = {cell: predict(getattr(models, cell), series, scaler, n, horizon) for cell in CELLS}
    return Report(series, horizon, future_table(series, future["lstm"]), future_table(series, future["gru"]),
                  backtest.table, backtest, gate_trace(models, series, n), notes=notes)


def gate_trace(models: Models, series: data.Series, origin: int) -> dict[str, np.ndarray]:
    """The LSTM's gates and cell state while it reads the window ending just before `origin`."""
    import torch

    from apps.forecast.model import lstm_gates

    x = torch.from_numpy(data.window_input(series, models.scalers[series.name], origin))
    return {k: v.numpy() for k, v in lstm_gates(models.lstm.rnn, x).items()}


# ----------------------------------------------------------------------------------------------
# The entry points

@functools.lru_cache(maxsize=BUNDLED_REPORTS)
def _bundled_report(name: str, horizon: int) -> Report:
    """Deterministic for a bundled series and horizon (shipped weights, fixed data, ETS refit on
    the same history), and the ETS fit takes seconds: computed once per (series, horizon).
    Bounded: the default horizons (warmed by load_all) and the last few others asked for."""
    series = data.load_bundled(name)
    return make_report(series, load_models(data.checkpoint_stem(name)), horizon, [])


def check_dataset_horizon(name: str, horizon) -> int:
    """The horizon for a bundled series: 1 up to what its checkpoints were trained for (empty: that)."""
    if name not in spec.BUNDLED:
        raise BadInput(f"Unknown series {name!r}. Choose one of: {', '.join(spec.BUNDLED)}.")
    trained = spec.BUNDLED[name].horizon
    if horizon is None or horizon == "":
        return trained
    try:
        return validate.integer(horizon, 1, trained, "the horizon")
    except BadInput as e:
        raise BadInput(f"{e} The shipped models for this series forecast at most {trained} steps ahead; "
                       "for a longer horizon, fit your own models on a CSV in the 'Your own CSV' view.") from None


def forecast_dataset(name: str, horizon) -> Report:
    """Backtest + forecast a bundled series with its shipped LSTM and GRU (horizon <= trained H)."""
    return _bundled_report(name, check_dataset_horizon(name, horizon))


def inspect_csv(path) -> CsvInfo:
    """What the UI shows after an upload: columns, the detected ones, suggested period and horizon."""
    df = data.read_table(path)
    date_col, value_col = data.detect_columns(df)
    series = data.series_from_table(df, date_col, value_col)
    return CsvInfo(columns=list(df.columns), date=date_col, value=value_col, period=series.period,
                   horizon=series.horizon, max_horizon=data.max_horizon(len(series), series.period),
                   points=len(series), step=series.step, notes=list(series.notes),
                   preview=df.head(PREVIEW_ROWS))


def forecast_csv(path, horizon, date_col: str = spec.AUTO, value_col: str = spec.AUTO, period=0,
                 on_progress: Callable[[float, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> Report:
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
    period = 0 if period in (None, "") else spec.SEASONAL_PERIOD.check(period)
    probe = data.series_from_table(df, date_col, value_col, horizon=None, period=period or None)
    most = max(1, data.max_horizon(len(probe), probe.period))
    h = probe.horizon if horizon in (None, "") else spec.CSV_HORIZON.check(horizon)
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
    deadline = start + spec.FIT_BUDGET_S - ETS_RESERVE_S
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
                 f"The LSTM trained {lstm.epochs_trained} epoch{'s' * (lstm.epochs_trained != 1)}, stopping {why}, and kept epoch "
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
    test_q = {"LSTM": report.backtest.forecasts["lstm"], "GRU": report.backtest.forecasts["gru"],
              "seasonal naive": seasonal_naive_quantiles(series.values[:n - h], m, h), "ETS": ets_test,
              COMBINED: (report.backtest.forecasts["lstm"] + ets_test) / 2}[served]
    truth, history = series.values[n - h:], series.values[:n - h]
    served_row = {"method": f"served: {served} (best on validation)", "MAE": mae(truth, test_q[:, 1]),
                  "MASE": mase(truth, test_q[:, 1], history, m),
                  "80% interval coverage": coverage(truth, test_q[:, 0], test_q[:, 2])}
    table = pd.concat([report.metrics, pd.DataFrame([served_row])], ignore_index=True)
    table["validation MASE"] = [validation["LSTM"], validation["GRU"], validation["seasonal naive"],
                                validation["ETS"], validation[served]]
    report.metrics = table
    return report


def choose_on_validation(series: data.Series, horizon: int, candidates: dict[str, np.ndarray]) -> dict[str, float]:
    """MASE of each candidate on the validation block: the H steps just before the test block,
    forecast from the origin n - 2H (M4's lesson: no method wins everywhere, so pick per series,
    on data the test block never sees). The networks kept their best epoch on these same windows,
    so their validation scores lean optimistic; the test block stays honest for all four."""
    n, h, m = len(series), horizon, series.period
    truth, history = series.values[n - 2 * h:n - h], series.values[:n - 2 * h]
    return {name: mase(truth, q[:, 1], history, m) for name, q in candidates.items()}


def goals() -> Goals:
    """Both goals, measured on every bundled series at its trained horizon (read from the cards)."""
    per_series = {}
    for stem in STEMS:
        card = read_card(FORECAST_WEIGHTS / f"{stem}_lstm.safetensors")  # JSON only: no torch needed
        for row in card["backtest"]:
            per_series[row["series"]] = row
    return Goals(per_series, float(np.mean([r["mase_lstm"] for r in per_series.values()])),
                 float(np.mean([r["mase_ets"] for r in per_series.values()])))
