"""What the forecasting tab shows: infer's dataclasses drawn as figures (matplotlib Figure, never
pyplot; see shared.plots), tables and sentences written from the numbers.

    backtest, forecast, gates = figures(report)
    verdict(report, goals)        # Markdown: how the LSTM did, in plain words
    csv_summary(info)             # Markdown: what was read from an upload
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from apps.forecast import data, spec
from apps.forecast.infer import CsvInfo, Goals, Report
from shared.plots import new_figure

LEGEND_FONT = 9  # points: about 12 px in the page at the figures' size
TICK_FONT = 9

COLORS = {"lstm": "#d62728", "gru": "#1f77b4", "truth": "black", "seasonal naive": "#7f7f7f", "ETS": "#2ca02c",
          "mean of LSTM and ETS": "#9467bd"}


def x_axis(series: data.Series, start: int, stop: int):
    """Plot positions for steps start..stop: timestamps for dated series, step numbers otherwise."""
    if isinstance(series.index, pd.PeriodIndex):
        return pd.period_range(series.index[0] + start, periods=stop - start,
                               freq=series.index.freq).to_timestamp().to_numpy()
    return np.arange(start, stop)


def _band(ax, x, quantiles: np.ndarray, name: str, label: str) -> None:
    ax.fill_between(x, quantiles[:, 0], quantiles[:, 2], color=COLORS[name], alpha=0.18, linewidth=0)
    ax.plot(x, quantiles[:, 1], color=COLORS[name], linewidth=1.8, label=f"{label} (80% interval shaded)")


def backtest_figure(series: data.Series, origin: int, horizon: int, forecasts: dict[str, np.ndarray],
                    baselines: dict[str, np.ndarray]) -> Figure:
    fig, ax = new_figure(8, 3.8)
    context = max(4 * horizon, series.window, 3 * min(series.period, 120))
    first = max(0, origin - context)
    ax.plot(x_axis(series, first, origin), series.values[first:origin], color="black", linewidth=1,
            label="history")
    x_test = x_axis(series, origin, origin + horizon)
    ax.plot(x_test, series.values[origin:origin + horizon], color="black", linewidth=1.2, linestyle=":",
            marker="o", markersize=2.5, label="held-out truth")
    for name, label in (("lstm", "LSTM"), ("gru", "GRU")):
        _band(ax, x_test, forecasts[name], name, label)
    for name, values in baselines.items():
        ax.plot(x_test, values, color=COLORS.get(name, "#9467bd"), linewidth=1, linestyle="--", label=name)
    ax.axvline(x_axis(series, origin, origin + 1)[0], color="#999", linewidth=0.8)
    ax.set(title=f"Backtest: the last {horizon} points were hidden from every model",
           ylabel=series.unit or "value")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=LEGEND_FONT, loc="upper left", ncol=2)
    return fig


def forecast_figure(series: data.Series, horizon: int, forecasts: dict[str, np.ndarray]) -> Figure:
    fig, ax = new_figure(8, 3.5)
    n = len(series)
    first = max(0, n - max(4 * horizon, series.window, 3 * min(series.period, 120)))
    ax.plot(x_axis(series, first, n), series.values[first:], color="black", linewidth=1, label="history")
    x_future = x_axis(series, n, n + horizon)
    for name, label in (("lstm", "LSTM"), ("gru", "GRU")):
        _band(ax, x_future, forecasts[name], name, label)
    for name in forecasts.keys() - {"lstm", "gru"}:  # a baseline served because it won on validation
        _band(ax, x_future, forecasts[name], name, f"{name} (served: best on validation)")
    ax.set(title=f"Forecast: {horizon} steps past the end of the data", ylabel=series.unit or "value")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=LEGEND_FONT, loc="upper left")
    return fig


def gates_figure(series: data.Series, origin: int, trace: dict[str, np.ndarray]) -> Figure:
    """The window the LSTM reads (top) and, under it on the same time axis, its gates and cell state.

    Rows (memory cells) are sorted by their mean forget gate, so long-memory cells sit at the top
    of every panel and a row means the same cell in all four maps.
    """
    L = series.window
    order = np.argsort(-trace["forget"].mean(axis=0))
    panels = [("input", "input gate i: how much new is written", "viridis", 0, 1),
              ("forget", "forget gate f: how much of the cell is kept", "viridis", 0, 1),
              ("output", "output gate o: how much of the cell is shown", "viridis", 0, 1)]
    cell_max = float(np.abs(trace["cell"]).max()) or 1.0
    panels.append(("cell", "cell state c: the memory itself", "RdBu_r", -cell_max, cell_max))
    fig = Figure(figsize=(8, 10), layout="constrained")
    # A narrow second column holds the colour bars, so all five panels share one time axis.
    grid = fig.subplots(5, 2, width_ratios=[40, 1], height_ratios=[1.0, 1.3, 1.3, 1.3, 1.3])
    axes, bars = grid[:, 0], grid[:, 1]
    bars[0].axis("off")
    axes[0].plot(np.arange(L), series.values[origin - L:origin], color="black", linewidth=1.2)
    axes[0].set_xlim(-0.5, L - 0.5)
    axes[0].set(title="The window the LSTM reads, oldest step on the left", ylabel=series.unit or "value")
    axes[0].grid(alpha=0.3)
    for ax, bar, (key, title, cmap, vmin, vmax) in zip(axes[1:], bars[1:], panels):
        image = ax.imshow(trace[key][:, order].T, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax,
                          interpolation="nearest", extent=(-0.5, L - 0.5, len(order) - 0.5, -0.5))
        ax.set(title=title, ylabel="memory cell")
        fig.colorbar(image, cax=bar)
    labels = series.labels(origin - L, origin)
    ticks = np.linspace(0, L - 1, min(L, 8)).round().astype(int)
    for ax in axes[:-1]:
        ax.set_xticks(ticks, [])
    axes[-1].set_xticks(ticks, [labels[t] for t in ticks], rotation=30, ha="right", fontsize=TICK_FONT)
    axes[-1].set_xlabel("time step read")
    return fig


def figures(report: Report) -> tuple[Figure, Figure, Figure]:
    """The backtest, the forecast and the LSTM's gates of one report."""
    s, h, b = report.series, report.horizon, report.backtest
    backtest = backtest_figure(s, b.origin, h, b.forecasts, b.baselines)
    lstm = report.future if report.future_lstm is None else report.future_lstm
    future = {"lstm": lstm[["lower", "forecast", "upper"]].to_numpy(),
              "gru": report.future_gru[["lower", "forecast", "upper"]].to_numpy()}
    if report.future_baseline is not None:
        future[report.served] = report.future_baseline
    return backtest, forecast_figure(s, h, future), gates_figure(s, report.gate_origin, report.gates)


def future_frame(report: Report) -> pd.DataFrame:
    return report.future.round(4)


def errors_frame(report: Report) -> pd.DataFrame:
    return report.metrics.round(3)


# ---------------------------------------------------------------------------------- sentences

NOMINAL_COVERAGE = 0.8
FAR_BELOW_NOMINAL = 0.3  # an 80 % interval that held under 50 % of the truth is said plainly


def verdict(report: Report, goals: Goals | None = None) -> str:
    """Plain sentences on how the LSTM did on this window (an upload's corrections first), and
    the tab's goals when given."""
    table = report.metrics.set_index("method")
    lstm = table.loc["LSTM", "MASE"]
    naive = table.iloc[2]["MASE"]
    ets = table.iloc[3]["MASE"]
    words = lambda a, b: "better than" if a < b else ("the same as" if a == b else "worse than")  # noqa: E731
    lines = [f"On the held-out {report.horizon} steps the LSTM's MASE is **{lstm:.2f}**: "
             f"{words(lstm, naive)} seasonal naive ({naive:.2f}) and {words(lstm, ets)} ETS ({ets:.2f}). "
             f"Its 80% interval held {table.loc['LSTM', '80% interval coverage']:.0%} of the true values."]
    caution = random_walk_sentence(report.metrics, step_word(report.series), report.series.period)
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
    if goals is not None:
        lines.append(goals_text(goals))
    text = "\n\n".join(lines)
    if report.notes:
        text = "\n".join(f"- {n}" for n in report.notes) + "\n\n" + text
    return text


def goals_text(goals: Goals) -> str:
    """The tab's two goals, measured on the shipped checkpoints, in a learner's words.

    A goal reached only on series that no method can forecast (random-walk-like) says so.
    """
    rows = goals.per_series
    missed = [name for name, row in rows.items() if not row["lstm_beats_seasonal_naive"]]
    unforecastable = [name for name, row in rows.items()
                      if min(row[f"mase_{k}"] for k in ("lstm", "gru", "snaive", "ets") if f"mase_{k}" in row) >= 1]
    first = (f"Goal: on every one of the {len(rows)} series, beat 'same as last season' (seasonal naive) — "
             + ("**reached**" if not missed else f"**not yet** (it loses on {_short_list(missed)})"))
    if unforecastable and not missed:
        first += (f", but on {len(unforecastable)} of them ({_short_list(unforecastable)}) no method beats "
                  "'same as the last value' (MASE ≥ 1 for every method), so winning there is by a small margin "
                  "on a random walk, not a forecast")
    avg_lstm, avg_ets = goals.mean_mase_lstm, goals.mean_mase_ets
    second = (f"Goal: on average as accurate as exponential smoothing (mean MASE, lower is better: "
              f"LSTM {avg_lstm:.2f}, ETS {avg_ets:.2f}) — **{'reached' if avg_lstm <= avg_ets else 'not yet'}**")
    return ("**The shipped LSTMs, scored on the last points of each series (hidden in training):**\n"
            f"- {first}.\n- {second}.")


def _short_list(names: list[str]) -> str:
    return ", ".join(name.split(" (")[0] for name in names)


def step_word(series: data.Series) -> str:
    if series.step:
        return series.step
    freq = getattr(series.index, "freqstr", "") or ""
    return {"M": "month", "Y": "year", "A": "year", "D": "day", "W": "week", "Q": "quarter",
            "H": "hour"}.get(freq[:1].upper(), "step")


def random_walk_sentence(metrics: pd.DataFrame, step: str = "step", period: int = 1) -> str:
    """A sentence, from the backtest's numbers, for a series no method forecasts (empty otherwise).

    Random-walk-like: every method's MASE is ≥ 1, i.e. none beats the typical error of the
    one-step 'same as a season ago' forecast ('same as last {step}' without a season). An
    interval that held far less than its nominal 80 % is also said.
    """
    table = metrics.set_index("method")
    mase_values = table["MASE"].astype(float)
    sentences = []
    if len(mase_values) and (mase_values >= 1).all():
        best_name, best = mase_values.idxmin(), mase_values.min()
        naive = f"same as last {step}" if period <= 1 else f"same as one season ({period} steps) ago"
        sentences.append(
            f"**These values move like a random walk: no method here forecasts better than '{naive}'** "
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


def csv_summary(info: CsvInfo, file_name: str = "") -> str:
    """What was read from an upload, before anything is fitted."""
    every = "in file order (no dates)" if info.step == "row" else f"one every **{info.step}**"
    season = "no season" if info.period == 1 else f"a season of **{info.period}** steps"
    date = "none (rows in file order)" if info.date == spec.ROW_ORDER else f"**{info.date}**"
    notes = "".join(f"\n- {n}" for n in info.notes)
    source = f"**{file_name}**: " if file_name else ""
    return (f"{source}{info.points} points, {every}. Date column {date}, value column **{info.value}**; "
            f"it looks like {season}, so the suggested horizon is **{info.horizon}** steps (at most "
            f"{info.max_horizon} for this length: a longer horizon would leave too few training windows).{notes}")
