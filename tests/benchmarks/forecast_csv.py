"""Forecasting uploaded series: 12 real public series, each written to a CSV and run through the
same path as the `/forecast_csv` upload (apps.forecast.infer.forecast_csv: read, detect, grid,
fit LSTM + GRU in the 30 s budget, backtest), at horizon 2 x the seasonal period (10 steps
for series without a season; capped at what the series allows).

    python -m tests.benchmarks.forecast_csv            # all 12 (about 7 minutes on 2 cores)
    python -m tests.benchmarks.forecast_csv --only co2 # one series

Reports test-block MASE of the LSTM, the GRU, seasonal naive, ETS damped and not (parameters
fitted on the history before the validation block, as the app does), and the served forecast
(the method best on the validation block, chosen before the test block is looked at), per
series and averaged; writes tests/benchmarks/forecast_csv.md. Nothing is
downloaded: the series ship inside statsmodels and vega_datasets.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

OUT = Path(__file__).with_name("forecast_csv.md")


def _sm(name):
    import statsmodels.api as sm

    return getattr(sm.datasets, name).load_pandas().data


def _vega(name):
    from vega_datasets import local_data

    return getattr(local_data, name)()


def _macro(column):
    df = _sm("macrodata")
    dates = pd.PeriodIndex.from_fields(year=df["year"].astype(int), quarter=df["quarter"].astype(int), freq="Q")
    return pd.DataFrame({"quarter": dates.to_timestamp().strftime("%Y-%m-%d"), column: df[column]})


def _elnino():
    wide = _sm("elnino")
    values = wide.drop(columns="YEAR").to_numpy().ravel()
    months = pd.period_range(f"{int(wide['YEAR'].iloc[0])}-01", periods=len(values), freq="M")
    return pd.DataFrame({"month": months.strftime("%Y-%m"), "sst": values})


def _co2():
    weekly = _sm("co2")["co2"]
    monthly = weekly.resample("MS").mean().interpolate()
    return pd.DataFrame({"date": monthly.index.strftime("%Y-%m-%d"), "co2": monthly.to_numpy()})


# name -> (CSV frame maker, seasonal period to pass: 0 = the tab's automatic choice)
SERIES = {
    "co2 (monthly, statsmodels)": (_co2, 0),
    "El Niño SST (monthly, statsmodels)": (_elnino, 0),
    "sunspots (yearly, statsmodels; m=11 set)": (
        lambda: _sm("sunspots").rename(columns={"YEAR": "year"}).astype({"year": int}), 11),
    "Nile flow (yearly, statsmodels)": (lambda: _sm("nile").astype({"year": int}), 0),
    "US real GDP (quarterly, macrodata)": (lambda: _macro("realgdp"), 0),
    "US CPI (quarterly, macrodata)": (lambda: _macro("cpi"), 0),
    "US unemployment (quarterly, macrodata)": (lambda: _macro("unemp"), 0),
    "US nonfarm jobs (monthly, 120 points, vega)": (lambda: _vega("us_employment")[["month", "nonfarm"]], 0),
    "AAPL price (monthly, vega stocks)": (
        lambda: _vega("stocks").query("symbol == 'AAPL'")[["date", "price"]], 0),
    "Seattle max temperature (daily, vega)": (lambda: _vega("seattle_weather")[["date", "temp_max"]], 0),
    "San Francisco temperature (hourly, vega)": (lambda: _vega("sf_temps")[["date", "temp"]], 0),
    "Seattle temperature (hourly, vega)": (lambda: _vega("seattle_temps")[["date", "temp"]], 0),
}


def run_one(name: str, workdir: Path) -> dict:
    from apps.forecast import data, infer
    from apps.forecast.metrics import ets_quantiles, mase

    make, period = SERIES[name]
    path = workdir / (name.split(" (")[0].replace(" ", "_") + ".csv")
    make().to_csv(path, index=False)
    probe = data.series_from_table(data.read_table(path), period=period or None)
    m = probe.period
    horizon = min(2 * m if m > 1 else 10, data.max_horizon(len(probe), m))
    start = time.monotonic()
    report = infer.forecast_csv(path, horizon, period=period)
    seconds = time.monotonic() - start
    s = report.series
    history, truth = s.values[:-horizon], s.values[-horizon:]
    fitted: dict = {}  # as the app does: parameters from the validation history, smoothed on to the test origin
    ets_quantiles(s.values[:-2 * horizon], m, horizon, damped=False, reuse=fitted)
    undamped, _ = ets_quantiles(history, m, horizon, damped=False, reuse=fitted)
    table = report.metrics["MASE"].tolist()
    return {"series": name, "points": len(s), "step": s.step, "m": m, "H": horizon,
            "LSTM": table[0], "GRU": table[1], "seasonal naive": table[2], "ETS damped": table[3],
            "ETS": mase(truth, undamped[:, 1], history, m), "served": table[4], "served is": report.served,
            "seconds": seconds}


def markdown(rows: list[dict]) -> str:
    cols = ["LSTM", "GRU", "seasonal naive", "ETS damped", "ETS", "served"]
    lines = ["| series | points | step | m | H | " + " | ".join(cols) + " | served is | fit (s) |",
             "|---|---|---|---|---|" + "---|" * len(cols) + "---|---|"]
    for r in rows:
        lines.append(f"| {r['series']} | {r['points']} | {r['step']} | {r['m']} | {r['H']} | "
                     + " | ".join(f"{r[c]:.3f}" for c in cols) + f" | {r['served is']} | {r['seconds']:.0f} |")
    mean = {c: float(np.mean([r[c] for r in rows])) for c in cols}
    lines.append(f"| **mean of {len(rows)}** | | | | | " + " | ".join(f"**{mean[c]:.3f}**" for c in cols) + " | | |")
    wins = sum(r["LSTM"] < r["seasonal naive"] for r in rows)
    served_wins = sum(r["served"] <= r["seasonal naive"] for r in rows)
    lines.append("")
    lines.append(f"Test-block MASE (lower is better; 1 = as accurate as seasonal naive in sample). The LSTM "
                 f"beats seasonal naive on {wins} of {len(rows)} series; the served forecast is no worse than "
                 f"seasonal naive on {served_wins} of {len(rows)}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="run only series whose name contains this text")
    args = parser.parse_args()
    names = [n for n in SERIES if not args.only or args.only.lower() in n.lower()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            row = run_one(name, Path(tmp))
            rows.append(row)
            print(f"{name}: LSTM {row['LSTM']:.3f}, snaive {row['seasonal naive']:.3f}, ETS {row['ETS damped']:.3f}, "
                  f"served {row['served is']} {row['served']:.3f} ({row['seconds']:.0f} s)", flush=True)
    table = markdown(rows)
    header = (f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {platform.python_version()}, with "
              "`python -m tests.benchmarks.forecast_csv`.\n\n")
    print(table)
    if not args.only:
        OUT.write_text(header + table + "\n")
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
