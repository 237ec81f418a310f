"""Small CSV series the forecasting tests write: a seasonal monthly one and regular steps of any size."""

from __future__ import annotations

import numpy as np
import pandas as pd


def write(tmp_path, text: str, name="series.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def monthly_csv(n=120, start="2000-01", noise=0.0, seed=0):
    rng = np.random.default_rng(seed)
    dates = pd.period_range(start, periods=n, freq="M").to_timestamp()
    t = np.arange(n)
    values = 50 + 0.2 * t + 5 * np.sin(2 * np.pi * t / 12) + noise * rng.standard_normal(n)
    return pd.DataFrame({"month": dates.strftime("%Y-%m-%d"), "sales": values.round(3)})


def stepped(freq: str, n: int, m: int, seed: int = 0) -> pd.DataFrame:
    t = np.arange(n)
    dates = pd.date_range("2021-03-01", periods=n, freq=freq)
    values = 10 + np.sin(2 * np.pi * t / m) + 0.1 * np.random.default_rng(seed).standard_normal(n)
    return pd.DataFrame({"time": dates.strftime("%Y-%m-%d %H:%M:%S"), "v": values})
