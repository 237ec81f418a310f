"""Figures for the forecasting tab (matplotlib Figure objects, never pyplot; see shared.plots)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from apps.forecast import data
from shared.plots import new_figure

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
    ax.legend(fontsize=7, loc="upper left", ncol=2)
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
    ax.legend(fontsize=7, loc="upper left")
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
    axes[-1].set_xticks(ticks, [labels[t] for t in ticks], rotation=30, ha="right", fontsize=8)
    axes[-1].set_xlabel("time step read")
    return fig
