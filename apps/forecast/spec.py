"""The forecasting tab's facts, written once: the bundled series and their settings, the shipped
checkpoints, the upload's limits and the numbers the UI offers. Torch-free and pandas-free:
tab.py, data.py, infer.py and train.py all read them from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.checkpoints import WEIGHTS_DIR
from shared.spec import MAX_UPLOAD_BYTES, Limit


@dataclass(frozen=True)
class Bundled:
    """A bundled series: which checkpoint pair reads it, how it is prepared, where it comes from."""
    stem: str       # weights/forecast/<stem>_{lstm,gru}.safetensors
    source: str     # the installed package it is loaded from (data.LOADERS)
    settings: dict = field(default_factory=dict)  # data.Series fields the checkpoints were trained with

    @property
    def horizon(self) -> int:
        return self.settings["horizon"]


STOCK_SYMBOLS = ("AAPL", "AMZN", "GOOG", "IBM", "MSFT")

# Why each setting:
#  co2      m=12: the yearly plant cycle; L=48 reads four cycles; H=24 two years ahead. It only
#           ever rises, so no level feature (later levels were never seen in training).
#  elnino   m=12: sea-surface temperature follows the seasons; El Niño years ride on top.
#  sunspots m=11: the ~11-year Schwabe cycle (its length wanders 9-14 years, so no calendar
#           features: step mod 11 would drift out of phase); L=44 = four cycles.
#  seattle  m=365: daily maxima follow the year; L=90 days plus day-of-year features.
#  stocks   m=1: prices have no season; the honest baseline is "same as last month" (random walk).
#           log prices: changes are relative. One model is trained on all five symbols; no
#           level feature (a price level says little about next month's change).
BUNDLED: dict[str, Bundled] = {
    "co2 (Mauna Loa, monthly ppm)": Bundled(
        "co2", "statsmodels.datasets.co2",
        dict(period=12, window=48, horizon=24, unit="ppm", level_feature=False)),
    "El Niño (sea temperature, monthly °C)": Bundled(
        "elnino", "statsmodels.datasets.elnino", dict(period=12, window=48, horizon=12, unit="°C")),
    "sunspots (yearly activity)": Bundled(
        "sunspots", "statsmodels.datasets.sunspots", dict(period=11, window=44, horizon=11, phase_features=False)),
    "Seattle max temperature (daily °C)": Bundled(
        "seattle", "vega_datasets seattle-weather temp_max", dict(period=365, window=90, horizon=30, unit="°C")),
    **{f"stock price {s} (monthly $)": Bundled(
        "stocks", f"vega_datasets stocks ({s})",
        dict(period=1, window=24, horizon=12, transform="log", unit="$", level_feature=False))
       for s in STOCK_SYMBOLS},
}
DEFAULT_SERIES = "co2 (Mauna Loa, monthly ppm)"

STEMS = tuple(dict.fromkeys(b.stem for b in BUNDLED.values()))  # co2, elnino, sunspots, seattle, stocks
CELLS = ("lstm", "gru")
FORECAST_WEIGHTS = WEIGHTS_DIR / "forecast"
CHECKPOINTS = tuple(FORECAST_WEIGHTS / f"{stem}_{cell}.safetensors" for stem in STEMS for cell in CELLS)

DATA_LICENSES = {
    "co2": "Public domain (NOAA/Scripps, via statsmodels)",
    "elnino": "Public domain (NOAA, via statsmodels)",
    "sunspots": "Public domain (SIDC/NOAA, via statsmodels)",
    "seattle": "Public domain (NOAA GHCN, via vega-datasets, BSD-3-Clause package)",
    "stocks": "vega-datasets sample data (BSD-3-Clause package)",
}

# ---------------------------------------------------------------------------------- uploads
# The app-wide upload cap (Gradio refuses more before any handler runs), checked here too for API callers.
MAX_FILE_BYTES = MAX_UPLOAD_BYTES
MAX_ROWS = 200_000  # more rows than this is not a series to fit in 30 s on a laptop CPU
MAX_POINTS = 1_500  # the models and baselines use the last this-many points (ETS on more takes too long)
FIT_BUDGET_S = 30.0  # an uploaded series: LSTM + GRU + ETS together, on a 2-core CPU
AUTO = "auto"  # the column pickers' "detect it" choice
ROW_ORDER = "(none: use row order)"  # the date picker's "no dates: rows are equally spaced steps"

ASSETS = Path(__file__).with_name("assets")
EXAMPLE_CSV = ASSETS / "seattle_hourly_temperature.csv"  # what the CSV view opens with

# ---------------------------------------------------------------------------------- numbers the UI offers
# A bundled series: up to the horizon its checkpoints were trained for (the box's maximum follows
# the series picked; this is the largest of them).
DATASET_HORIZON = Limit("Horizon H (steps ahead)", 1, max(b.horizon for b in BUNDLED.values()),
                        default=BUNDLED[DEFAULT_SERIES].horizon)
# An upload: what the box accepts at all; each series allows less (data.max_horizon), and the box's
# maximum follows the file once it is read.
CSV_HORIZON = Limit("Horizon H (steps ahead)", 1, MAX_POINTS, default=12)
SEASONAL_PERIOD = Limit("Season length m (0 = find it, 1 = no season)", 0, MAX_POINTS // 3, default=0)
