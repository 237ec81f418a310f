"""Time series for the forecasting tab: the bundled series, CSV uploads, and the windows the
models read. train.py and infer.py both use these functions, so a checkpoint always sees its
series prepared exactly as it was in training.

A series is a `Series`: values on a regular time grid (pandas Periods, or plain steps), plus the
settings the models need: the seasonal period m, the window length L the network reads, the
horizon H it forecasts, and a monotone transform (log for prices). Quantiles survive a monotone
transform unchanged, so forecasting log-prices and exponentiating keeps the intervals honest.
"""

from __future__ import annotations

import csv
import os
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from apps.forecast import spec
from apps.forecast.spec import MAX_FILE_BYTES, MAX_POINTS, MAX_ROWS, ROW_ORDER
from shared.errors import BadInput

QUANTILES = (0.1, 0.5, 0.9)  # lower, median, upper: an 80% prediction interval
MIN_TRAIN_WINDOWS = 20  # fewer training windows than this and the LSTM learns nothing useful


@dataclass(frozen=True)
class Series:
    name: str
    values: np.ndarray  # float64, regular grid, no NaN
    index: pd.PeriodIndex | pd.RangeIndex
    period: int  # seasonal period m (1 = none); used by seasonal naive, MASE and ETS
    window: int  # L: how many past points the network reads
    horizon: int  # H: how many steps it forecasts
    transform: str = "none"  # "none" | "log" | "sqrt" (monotone, applied before scaling)
    phase_features: bool = True  # feed sin/cos of (step mod m): the calendar is known in advance
    level_feature: bool = True  # feed the level itself; off for trending series, whose future levels
    #                             lie outside anything seen in training (the network would extrapolate)
    unit: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)  # corrections made while reading it
    step: str = ""  # one step of the grid, readable ("30 minutes", "month"); "" for bundled series
    base: str = "last"  # what the network forecasts a change from: "last" value (the naive forecast,
    #                     the shipped checkpoints) or "seasonal": the value one season back (the seasonal
    #                     naive forecast, used for uploads with 1 < m <= L: an untrained or briefly
    #                     trained network then starts from seasonal naive instead of a flat line)

    def __len__(self) -> int:
        return len(self.values)

    def labels(self, start: int = 0, stop: int | None = None) -> list[str]:
        """Readable time labels for positions start..stop (positions past the end continue the grid)."""
        stop = len(self) if stop is None else stop
        if isinstance(self.index, pd.PeriodIndex):
            first = self.index[0]
            return [str(first + i) for i in range(start, stop)]
        return [str(i) for i in range(start, stop)]


# ----------------------------------------------------------------------------------------------
# Bundled series: loaded from installed packages at run time (nothing copied into the repo).

def _co2() -> pd.Series:
    # Weekly flask readings at Mauna Loa 1958-2001 (59 missing weeks) -> monthly means.
    import statsmodels.api as sm

    weekly = sm.datasets.co2.load_pandas().data["co2"]
    monthly = weekly.resample("MS").mean().interpolate()
    return monthly.to_period("M")


def _elnino() -> pd.Series:
    # One row per year, one column per month -> one long monthly series (1950-2010).
    import statsmodels.api as sm

    wide = sm.datasets.elnino.load_pandas().data
    years = wide["YEAR"].astype(int)
    values = wide.drop(columns="YEAR").to_numpy().ravel()
    start = pd.Period(f"{years.iloc[0]}-01", freq="M")
    return pd.Series(values, index=pd.period_range(start, periods=len(values), freq="M"))


def _sunspots() -> pd.Series:
    import statsmodels.api as sm

    df = sm.datasets.sunspots.load_pandas().data
    index = pd.PeriodIndex([pd.Period(int(y), freq="Y") for y in df["YEAR"]])
    return pd.Series(df["SUNACTIVITY"].to_numpy(), index=index)


def _seattle() -> pd.Series:
    from vega_datasets import local_data

    df = local_data.seattle_weather()
    return pd.Series(df["temp_max"].to_numpy(), index=pd.PeriodIndex(pd.to_datetime(df["date"]), freq="D"))


def _stock(symbol: str) -> pd.Series:
    from vega_datasets import local_data

    df = local_data.stocks()
    df = df[df["symbol"] == symbol]
    return pd.Series(df["price"].to_numpy(), index=pd.PeriodIndex(pd.to_datetime(df["date"]), freq="M"))


# name -> loader; spec.BUNDLED says how each series is prepared and which checkpoints read it.
LOADERS = {
    "co2 (Mauna Loa, monthly ppm)": _co2,
    "El Niño (sea temperature, monthly °C)": _elnino,
    "sunspots (yearly activity)": _sunspots,
    "Seattle max temperature (daily °C)": _seattle,
    **{f"stock price {s} (monthly $)": (lambda s=s: _stock(s)) for s in spec.STOCK_SYMBOLS},
}
assert LOADERS.keys() == spec.BUNDLED.keys()


def bundled_names() -> list[str]:
    return list(spec.BUNDLED)


def checkpoint_stem(name: str) -> str:
    return spec.BUNDLED[name].stem


def load_bundled(name: str) -> Series:
    if name not in spec.BUNDLED:
        raise BadInput(f"Unknown series {name!r}. Choose one of: {', '.join(spec.BUNDLED)}.")
    s = LOADERS[name]().astype(float)
    return Series(name=name, values=s.to_numpy(), index=s.index, **spec.BUNDLED[name].settings)


def bundled_for_checkpoint(stem: str) -> list[Series]:
    return [load_bundled(n) for n, b in spec.BUNDLED.items() if b.stem == stem]


# ----------------------------------------------------------------------------------------------
# Preparing model inputs: the same code for training and inference.

def forward_transform(x: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log":
        return np.log(x)
    if transform == "sqrt":
        return np.sqrt(np.maximum(x, 0.0))
    return np.asarray(x, dtype=float)


def inverse_transform(z: np.ndarray, transform: str) -> np.ndarray:
    if transform == "log":
        return np.exp(z)
    if transform == "sqrt":
        return np.square(np.maximum(z, 0.0))
    return z


@dataclass(frozen=True)
class Scaler:
    """Centre and scale of the transformed series, measured on the training part only."""
    mean: float
    std: float

    @classmethod
    def fit(cls, z: np.ndarray) -> "Scaler":
        return cls(float(np.mean(z)), float(np.std(z)) or 1.0)


def features(z: np.ndarray, positions: np.ndarray, scaler: Scaler, series: Series) -> np.ndarray:
    """Per-step inputs for one window, shape (L, 4):
    level (z - mean)/std (zeros for trending series), change since the window's last step
    (z - z_last)/std, and sin/cos of the seasonal phase (zeros when there is no fixed calendar)."""
    period = series.period
    level = (z - scaler.mean) / scaler.std if series.level_feature else np.zeros_like(z)
    change = (z - z[-1]) / scaler.std
    if series.phase_features and period > 1:
        angle = 2 * np.pi * (positions % period) / period
        phase = np.stack([np.sin(angle), np.cos(angle)], axis=1)
    else:
        phase = np.zeros((len(z), 2))
    return np.column_stack([level, change, phase]).astype(np.float32)


def make_windows(series: Series, scaler: Scaler, origins: np.ndarray, horizon: int | None = None):
    """Inputs (N, L, 4) and targets (N, H): the change from each window's base (its last value, or
    the value a season back: see base_values), scaled.

    An origin o means: read values[o-L:o], predict values[o:o+H]. The network predicts the change
    from the last value it saw, so "no change" (the naive forecast) is its easy starting point.
    """
    H = horizon or series.horizon
    z = forward_transform(series.values, series.transform)
    L = series.window
    if len(origins) == 0:  # a short series in a multi-series checkpoint (GOOG) adds no windows
        return np.zeros((0, L, 4), np.float32), np.zeros((0, H), np.float32)
    xs, ys = [], []
    for o in origins:
        xs.append(features(z[o - L:o], np.arange(o - L, o), scaler, series))
        ys.append((z[o:o + H] - base_values(z, o, H, series)) / scaler.std)
    return np.stack(xs), np.stack(ys).astype(np.float32)


def base_values(z: np.ndarray, origin: int, horizon: int, series: Series) -> np.ndarray:
    """The (H,) transformed values the network's output is a change from, for a forecast made at
    `origin`: z[origin-1] repeated (naive), or for base "seasonal" z one season before each target
    (seasonal naive: z[origin + h - m*(h//m + 1)]). Reads only z[:origin]."""
    h = np.arange(horizon)
    if series.base == "seasonal" and series.period > 1:
        return z[origin + h - series.period * (h // series.period + 1)]
    return np.full(horizon, z[origin - 1])


def window_input(series: Series, scaler: Scaler, origin: int) -> np.ndarray:
    """The (L, 4) input for a forecast made at `origin` (origin may equal len(series))."""
    z = forward_transform(series.values, series.transform)
    L = series.window
    return features(z[origin - L:origin], np.arange(origin - L, origin), scaler, series)


def validation_count(n: int, window: int, horizon: int) -> int:
    """How many validation origins: H when the series leaves MIN_TRAIN_WINDOWS training windows
    after them, fewer (at least 1) when it is shorter. A series too short for even one (a short
    series in a multi-series checkpoint, GOOG) keeps H: it then adds validation windows only."""
    spare = n - 3 * horizon - window + 2 - MIN_TRAIN_WINDOWS
    return horizon if spare < 1 else int(min(horizon, spare))


def split_origins(n: int, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Origins for training and validation, and the start of the held-out test block.

    Test: the last H points (the backtest). Validation: the V origins (V = H unless the series is
    short, see validation_count) whose targets end just before the test block; used only to keep
    the best epoch. Training: every origin whose targets end before the validation targets start.
    No target is ever seen twice. (Before V could shrink, a 120-month series at H = 24 had no
    training window left at all: the loss was the mean of nothing, NaN at step 0.)
    """
    test_start = n - horizon
    v = validation_count(n, window, horizon)
    val_origins = np.arange(test_start - horizon - v + 1, test_start - horizon + 1)
    train_last = val_origins[0] - horizon  # targets of origin o end at o+H-1 < first val target
    train_origins = np.arange(window, train_last + 1)
    return train_origins, val_origins, test_start


# ----------------------------------------------------------------------------------------------
# CSV uploads

@dataclass(frozen=True)
class Grid:
    """The regular time grid of an uploaded series, taken from the data's own step."""
    freq: str        # pandas Period frequency: "s", "10s", "30min", "2h", "D", "7D", "M", "Q", "3M", "Y"
    name: str        # one step, readable: "30 minutes", "month", "business day"
    seconds: float   # length of one step (a month counts 30.44 days): seasonal periods follow from it
    months: int = 0  # calendar steps: months per step (0: a fixed length in seconds)


_UNITS = ((86400, "D", "day"), (3600, "h", "hour"), (60, "min", "minute"), (1, "s", "second"))
_MONTH_S = 365.2425 / 12 * 86400
# Natural cycles a season can follow: a minute, hour, day, week and year (seconds).
CYCLES_S = (60, 3600, 86400, 7 * 86400, 365.2425 * 86400)


def _plural(n: int, word: str) -> str:
    return word if n == 1 else f"{n} {word}s"


def infer_grid(dates: pd.Series) -> Grid:
    """The grid of sorted, distinct dates: pandas' own frequency when the dates are exactly
    regular, else the median step read as a whole number of months, days, hours, minutes or
    seconds (the largest unit it is a multiple of, within 2%). Weekday-only data (stock prices)
    get a daily grid: the weekends become gaps, filled and stated like any other gap."""
    unique = pd.DatetimeIndex(dates.drop_duplicates().sort_values()).as_unit("s")  # s: no int64 overflow
    if len(unique) < 2:
        raise BadInput("All dates are the same; a time series needs at least two different dates.")
    steps = np.diff(unique.asi8).astype(float)  # seconds
    median = float(np.median(steps))
    if median < 1:
        raise BadInput("The dates are less than a second apart; the shortest step this tab handles is one second.")
    if median >= 27 * 86400:  # calendar months (28-31 days), quarters, years
        months = max(1, int(round(median / _MONTH_S)))
        if months % 12 == 0:
            freq, name = ("Y" if months == 12 else f"{months // 12}Y"), _plural(months // 12, "year")
        elif months == 3 and (unique.month % 3 == 1).all() | (unique.month % 3 == 0).all():
            freq, name = "Q", "quarter"
        else:
            freq, name = ("M" if months == 1 else f"{months}M"), _plural(months, "month")
        return Grid(freq, name, months * _MONTH_S, months)
    for unit, code, word in _UNITS:
        q = median / unit
        n = int(round(q))
        if n >= 1 and abs(q - n) <= 0.02 * q:
            return Grid(code if n == 1 else f"{n}{code}", _plural(n, word), float(n * unit))
    return Grid(f"{int(round(median))}s", _plural(int(round(median)), "second"), float(round(median)))


def period_candidates(grid: Grid | None) -> list[int]:
    """Seasonal periods worth testing on this grid: how many steps make a minute, hour, day,
    week or year (when that is a whole number of steps, within 1%), from 3 up to a third of
    MAX_POINTS. E.g. 30 min -> 48, 336; 1 s -> 60; 2 h -> 12, 84; daily -> 7, 365; monthly -> 12."""
    if grid is None:
        return []
    if grid.months:
        return [12 // grid.months] if 12 % grid.months == 0 and 12 // grid.months >= 2 else []
    found = []
    for cycle in CYCLES_S:
        m = cycle / grid.seconds
        if 3 <= round(m) <= MAX_POINTS // 3 and abs(m - round(m)) <= 0.01 * m:
            found.append(int(round(m)))
    return found


def place_on_grid(dates: pd.Series, grid: Grid) -> tuple[np.ndarray, pd.Period, int]:
    """Each date's step number on the grid that starts at the first date, the first period, and the
    number of steps the dates span (computed before anything of that size is built)."""
    t = pd.DatetimeIndex(dates).as_unit("s")  # whole seconds: 300 years in ns would overflow int64
    t0 = t.min()
    first = pd.Period(t0, freq=grid.freq)
    if grid.months:
        months = (t.year - t0.year) * 12 + (t.month - t0.month)
        k = np.round(np.asarray(months) / grid.months).astype(np.int64)
    else:
        k = np.round((t.asi8 - t.asi8.min()) / grid.seconds).astype(np.int64)
    return k, first, int(k.max()) + 1


def _off_grid(dates: pd.Series, grid: Grid) -> bool:
    """True when some steps between distinct dates are not whole multiples of the grid's step."""
    if grid.months:
        return False
    steps = np.diff(np.unique(pd.DatetimeIndex(dates).as_unit("s").asi8)) / grid.seconds
    return bool((np.abs(steps - np.round(steps)) > 0.02).any() or (steps < 0.5).any())


DETECT_ROWS = 2_000  # columns are recognised on this many evenly spaced rows (a 200,000-row file: fast)
MAX_COLUMNS = 50  # a series needs a date and a value column; a few dozen covers any sensible export
MAX_CELLS = 2_000_000  # rows x columns read into memory (about 100 MB as pandas objects)
SAMPLE_BYTES = 64 * 1024  # the delimiter and the header are read from this much of the file
DELIMITERS = ",;\t|"  # the only characters taken as delimiters (a letter never is)


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read an uploaded CSV with clear messages for the usual ways a file goes wrong.

    Hostile files are refused before anything proportional to them is built: the delimiter is
    one of `, ; tab |`, chosen on the first 64 KB; the header may have at most MAX_COLUMNS
    columns; rows x columns (estimated from the sample) at most MAX_CELLS; then pandas' C
    parser reads at most MAX_ROWS + 1 rows.
    """
    if path is None:
        raise BadInput("No file uploaded. Upload a CSV with a date column and a value column.")
    path = str(path)
    size = os.path.getsize(path)
    if size == 0:
        raise BadInput("The file is empty. Upload a CSV with a date column and a value column.")
    if size > MAX_FILE_BYTES:
        raise BadInput(f"The file is {size / 2**20:.0f} MB; the limit is {MAX_FILE_BYTES // 2**20} MB. "
                       "Upload a shorter series (for example, aggregate it to daily or monthly values).")
    with open(path, "rb") as f:
        raw = f.read(SAMPLE_BYTES)
    lines = _sample_lines(raw, complete=size <= SAMPLE_BYTES)
    sep = sniff_delimiter(lines)
    header = next(csv.reader(lines[:1], delimiter=sep))
    if len(header) > MAX_COLUMNS:
        raise BadInput(f"The file has {len(header):,} columns; the limit is {MAX_COLUMNS}. "
                       "Keep the date column and the value column (and a few others at most).")
    widest = max(len(row) for row in csv.reader(lines, delimiter=sep))
    if widest > MAX_COLUMNS:
        raise BadInput(f"A row in the file has {widest:,} fields; the limit is {MAX_COLUMNS} columns. "
                       "Check the delimiter, or keep only the date and value columns.")
    est_rows = min(MAX_ROWS + 1, size * len(lines) // max(1, sum(len(s) + 1 for s in lines)))
    if est_rows * len(header) > MAX_CELLS:
        raise BadInput(f"The file holds about {est_rows:,} rows of {len(header)} columns, more than the "
                       f"{MAX_CELLS:,} values allowed. Keep only the date and value columns.")
    try:
        df = pd.read_csv(path, sep=sep, engine="c", nrows=MAX_ROWS + 1, skipinitialspace=True,
                         encoding="utf-8-sig", low_memory=False)
    except pd.errors.EmptyDataError:
        raise BadInput("The file has no rows or columns. Upload a CSV with a header row.") from None
    except UnicodeDecodeError:
        raise BadInput("The file is not a text CSV (it could not be read as UTF-8).") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as e:
        raise BadInput(f"The file could not be read as CSV ({str(e).splitlines()[0][:200]}).") from None
    if len(df) > MAX_ROWS:
        raise BadInput(f"The file has more than {MAX_ROWS:,} rows. The limit is {MAX_ROWS:,}: "
                       "aggregate it (e.g. hourly to daily) or upload the most recent part.")
    if df.shape[1] > MAX_COLUMNS:  # the sample said otherwise; the rest of the file disagrees
        raise BadInput(f"The file has more than {MAX_COLUMNS} columns. Keep the date and value columns.")
    if df.empty or df.shape[1] == 0:
        raise BadInput("The file has a header but no data rows.")
    df.columns = [str(c).strip() for c in df.columns]
    return df


def _sample_lines(raw: bytes, complete: bool) -> list[str]:
    """The sample's non-blank lines as text (the last, possibly cut-off line dropped unless the
    sample is the whole file); BadInput for binary data or a first line longer than the sample."""
    if b"\x00" in raw:
        raise BadInput("The file is not a text CSV (it contains binary data).")
    if not complete:
        cut = max(raw.rfind(b"\n"), raw.rfind(b"\r"))
        if cut < 0:
            raise BadInput(f"The first line of the file is longer than {SAMPLE_BYTES // 1024} KB: this is not a "
                           "CSV of a time series (expected a header such as date,value).")
        raw = raw[:cut]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput("The file is not a text CSV (it could not be read as UTF-8).") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise BadInput("The file has no rows or columns. Upload a CSV with a header row.")
    return lines


def sniff_delimiter(lines: list[str]) -> str:
    """The delimiter among `, ; tab |` that splits the sample's lines into the same number (> 1)
    of fields most consistently (ties: more fields); "," when none splits them (one column)."""
    best, best_score = ",", (0.0, 1)
    for sep in DELIMITERS:
        if not any(sep in line for line in lines):
            continue
        counts = pd.Series([len(row) for row in csv.reader(lines, delimiter=sep)])
        mode = int(counts.mode().iloc[0])
        if mode < 2:
            continue
        score = (float((counts == mode).mean()), mode)
        if score > best_score:
            best, best_score = sep, score
    return best


def _parse_dates(column: pd.Series, detecting: bool = False) -> pd.Series:
    """Dates as Timestamps (NaT where unreadable). Whole numbers 1000-2999 are read as years;
    when detecting columns they must also rise, so a column of sales figures is not taken for years."""
    if pd.api.types.is_numeric_dtype(column):
        values = column.dropna()
        if (len(values) and (values == values.round()).all() and values.between(1000, 2999).all()
                and (values.is_monotonic_increasing or not detecting)):
            return pd.to_datetime(column.astype("Int64").astype(str), format="%Y", errors="coerce")
        return pd.Series(pd.NaT, index=column.index)
    text = column.astype(str).str.strip()
    as_numbers = pd.to_numeric(text, errors="coerce")
    if as_numbers.notna().mean() >= 0.9:  # numbers stored as text: years, or no dates at all
        years = _parse_dates(as_numbers, detecting)
        if years.notna().any() or not text.str.fullmatch(r"\d{8}").all():  # 20200131 is a date
            return years
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "could not infer format": we check the result instead
        # One format for the whole column (so 01/02 and 13/02 are read alike): month-first or
        # day-first, whichever reads more rows; per-row guessing only when neither fits.
        parsed = min((_to_datetime(text, dayfirst=d) for d in (False, True)),
                     key=lambda p: p.isna().sum())
        if parsed.isna().mean() > 0.1:  # per-row parsing is slow: try it on a sample first
            probe = text.iloc[:: -(-len(text) // DETECT_ROWS)]
            if _to_datetime(probe, format="mixed").isna().mean() >= parsed.isna().mean():
                return parsed
            mixed = _to_datetime(text, format="mixed")
            parsed = mixed if mixed.isna().sum() < parsed.isna().sum() else parsed
        return parsed


def _to_datetime(text: pd.Series, **kwargs) -> pd.Series:
    """Timestamps (NaT where unreadable). Dates with UTC offsets (2020-01-01T00:00+01:00), even
    mixed ones, are read as UTC and the offset dropped; dates without one stay as written."""
    return pd.to_datetime(text, errors="coerce", utc=True, **kwargs).dt.tz_convert(None)


def _numeric(column: pd.Series) -> pd.Series:
    """Numbers, allowing thousands separators, currency and percent signs; NaN where not a number."""
    if pd.api.types.is_numeric_dtype(column):
        return column.astype(float)
    text = column.astype(str).str.strip().str.replace(r"[,$€£%\s]", "", regex=True)
    return pd.to_numeric(text, errors="coerce")


def _is_blank(column: pd.Series) -> pd.Series:
    return column.isna() | column.astype(str).str.strip().isin(["", "nan", "NaN", "NA", "N/A", "null", "None"])


def detect_columns(df: pd.DataFrame) -> tuple[str, str]:
    """(date column, value column): the first column that reads as dates, and the first other
    column that reads as numbers. The date is ROW_ORDER when no column reads as dates."""
    date_col = ROW_ORDER
    sample = df if len(df) <= DETECT_ROWS else df.iloc[:: -(-len(df) // DETECT_ROWS)]  # evenly spaced rows
    for col in df.columns:
        filled = sample[col][~_is_blank(sample[col])]
        named_like_time = any(w in col.lower() for w in ("date", "time", "year", "month", "day", "week", "period"))
        if len(filled) and _parse_dates(filled, detecting=not named_like_time).notna().mean() >= 0.9:
            date_col = col
            break
    for col in df.columns:
        if col == date_col:
            continue
        filled = sample[col][~_is_blank(sample[col])]
        if len(filled) and _numeric(filled).notna().mean() >= 0.5:
            return date_col, col
    raise BadInput("No column of numbers was found. The CSV needs a value column, e.g. "
                   "a header such as date,value, then rows such as 2020-01-01,12.5.")


def series_from_table(df: pd.DataFrame, date_col: str = spec.AUTO, value_col: str = spec.AUTO,
                      horizon: int | None = None, period: int | None = None, name: str = "your series") -> Series:
    """Turn an uploaded table into a regular Series, stating every correction in `notes`."""
    notes: list[str] = []
    auto_date, auto_value = (None, None)
    if date_col in (None, "", spec.AUTO) or value_col in (None, "", spec.AUTO):
        auto_date, auto_value = detect_columns(df)
    date_col = auto_date if date_col in (None, "", spec.AUTO) else date_col
    value_col = auto_value if value_col in (None, "", spec.AUTO) else value_col
    for col in (date_col, value_col):
        if col != ROW_ORDER and col not in df.columns:
            raise BadInput(f"Column {col!r} is not in the file; its columns are: {', '.join(df.columns)}.")
    if date_col == value_col:
        raise BadInput("The date column and the value column must be different columns.")

    raw = df[value_col]
    values = _numeric(raw)
    blank = _is_blank(raw)
    text = values.isna() & ~blank
    if values.notna().sum() == 0:
        raise BadInput(f"Column {value_col!r} has no numbers in it. Choose the column that holds the values.")
    if text.mean() > 0.1:
        examples = ", ".join(repr(v) for v in raw[text].astype(str).unique()[:3])
        raise BadInput(f"Column {value_col!r} mixes text into numbers ({int(text.sum())} entries such as "
                       f"{examples}). Clean the column, or choose another one.")
    if text.any():
        examples = ", ".join(repr(v) for v in raw[text].astype(str).unique()[:3])
        notes.append(f"{int(text.sum())} non-numeric entries ({examples}) were treated as missing.")

    if date_col == ROW_ORDER:
        notes.append("No date column was found, so rows are taken as equally spaced steps in file order.")
        frame = pd.DataFrame({"value": values.to_numpy()})
        grid = None
    else:
        dates = _parse_dates(df[date_col])
        bad = dates.isna()
        if bad.mean() > 0.05:
            examples = ", ".join(repr(v) for v in df[date_col][bad].astype(str).unique()[:3])
            raise BadInput(f"Column {date_col!r} could not be read as dates ({int(bad.sum())} of {len(df)} "
                           f"rows, e.g. {examples}). Use dates like 2020-01-31, or choose the date column.")
        if bad.any():
            notes.append(f"{int(bad.sum())} rows with unreadable dates were dropped.")
        frame = pd.DataFrame({"date": dates[~bad].to_numpy(), "value": values[~bad].to_numpy()})
        if not frame["date"].is_monotonic_increasing:
            notes.append("The rows were not in date order; they were sorted.")
        grid = infer_grid(frame["date"])
        k, first, steps = place_on_grid(frame["date"], grid)
        plural = grid.name + "s" if grid.name[0].isalpha() else f"steps of {grid.name}"  # "months"; "steps of 30 minutes"
        if steps > MAX_ROWS:  # arithmetic on the dates: nothing the size of the span is built
            raise BadInput(f"The dates span {steps:,} steps of {'one ' * grid.name[0].isalpha()}{grid.name} (from {frame['date'].min()} to "
                           f"{frame['date'].max()}), more than the {MAX_ROWS:,} limit. Check for a mistyped "
                           "date, or upload a shorter range.")
        if _off_grid(frame["date"], grid):
            gaps_s = np.diff(np.unique(frame["date"].to_numpy().astype("datetime64[s]").astype(np.int64)))
            notes.append(f"The dates are not evenly spaced (steps from {pd.Timedelta(seconds=int(gaps_s.min()))} "
                         f"to {pd.Timedelta(seconds=int(gaps_s.max()))}). They were placed on a grid of one step "
                         f"every {grid.name} (the median step), starting at {first}; each value goes to the "
                         "nearest step.")
        frame["step"] = k
        duplicates = int(frame["step"].duplicated().sum())
        if duplicates:
            notes.append(f"{duplicates} rows fell on the same step ({grid.name}) as another row; values on "
                         "the same step were averaged.")
        frame = frame.groupby("step")["value"].mean()
        gaps = steps - len(frame)
        frame = frame.reindex(np.arange(steps)).to_frame("value")
        frame.index = pd.period_range(first, periods=steps, freq=grid.freq)
        if gaps:
            notes.append(f"{gaps} missing {plural} in the date range were added as gaps.")
    missing = int(frame["value"].isna().sum())
    if missing > 0.5 * len(frame):
        raise BadInput(f"More than half of the series is missing ({missing} of {len(frame)} steps).")
    if missing:
        frame["value"] = frame["value"].interpolate(limit_direction="both")
        notes.append(f"{missing} missing values were filled by linear interpolation.")
    if len(frame) > MAX_POINTS:
        notes.append(f"The series has {len(frame):,} points; the models use the last {MAX_POINTS:,}.")
        frame = frame.iloc[-MAX_POINTS:]
    y = frame["value"].to_numpy(dtype=float)
    if not np.isfinite(y).all():
        raise BadInput("The values include infinities; remove them and upload again.")
    if np.abs(y).max() > 1e100:  # squares overflow (variances, losses): rescale the column first
        raise BadInput(f"The values reach {np.abs(y).max():.0e}, too large to fit; divide them by a power of ten first.")
    index = frame.index if isinstance(frame.index, pd.PeriodIndex) else pd.RangeIndex(len(y))

    m = suggest_period(y, grid) if not period else int(period)
    if m < 1:
        raise BadInput("The seasonal period must be 1 (no season) or more.")
    if m > len(y) // 2:
        raise BadInput(f"A seasonal period of {m} needs at least two full seasons ({2 * m} points); "
                       f"the series has {len(y)}. Use a smaller period (1 = no season).")
    H = suggest_horizon(len(y), m) if not horizon else int(horizon)
    series = Series(name=name, values=y, index=index, period=m, window=1, horizon=1, notes=tuple(notes),
                    phase_features=m > 1, step=grid.name if grid else "row")
    return with_horizon(series, H)


def with_horizon(series: Series, horizon: int) -> Series:
    """An uploaded series set up for another horizon: its window, level feature and base follow H
    (cheap: the file is not read again). BadInput when the series is too short for it."""
    n, m = len(series), series.period
    L = choose_window(n, m, horizon)
    return replace(series, horizon=horizon, window=L, level_feature=not is_trending(series.values[: n - horizon]),
                   base="seasonal" if 1 < m <= L else "last")


def is_trending(y: np.ndarray) -> bool:
    """A straight line explains at least half the variance: future levels will be new ones."""
    t = np.arange(len(y))
    residual = y - np.polyval(np.polyfit(t, y, 1), t)
    return bool(y.var() > 0 and 1 - residual.var() / y.var() >= 0.5)


def suggest_period(y: np.ndarray, grid: Grid | None) -> int:
    """The candidate season of this grid (see period_candidates) with the strongest autocorrelation
    after removing a straight-line trend (a longer one only if its ACF is 0.05 higher), if it is
    clearly there: ACF(m) >= 0.3 and a peak, higher than ACF(m/2) (a smooth series is correlated at every short lag; a season peaks at m and dips
    half-way). 1 (no season) otherwise."""
    detrended = y - np.polyval(np.polyfit(np.arange(len(y)), y, 1), np.arange(len(y)))

    def acf(lag: int) -> float:
        a, b = detrended[:-lag], detrended[lag:]
        return float(np.corrcoef(a, b)[0, 1]) if a.std() > 0 and b.std() > 0 else 0.0

    best, best_acf = 1, 0.3
    for m in period_candidates(grid):  # shortest first; a longer season must be clearly stronger
        if len(y) < 3 * m:
            continue
        peak = acf(m)
        if peak >= best_acf + (0.05 if best > 1 else 0.0) and peak > acf(max(1, m // 2)):
            best, best_acf = m, peak
    return best


def suggest_horizon(n: int, period: int) -> int:
    """One season ahead when the data allow it, else what the data allow (at least 1)."""
    want = period if period > 1 else 12
    return int(max(1, min(want, max_horizon(n, period))))


def max_horizon(n: int, period: int) -> int:
    """The longest horizon a series of n points supports with the shortest window we allow, and
    that leaves the validation forecast (made at n - 2H) the history its baselines need: two
    seasons for ETS with seasonal states (m <= 24), more than one for seasonal naive and MASE."""
    L = min_window(period)
    need = 2 * period if 1 < period <= 24 else period + 1
    return max(0, min((n - L - MIN_TRAIN_WINDOWS + 1) // 3, (n - need) // 2))


def min_window(period: int) -> int:
    return 12 if period > 60 else max(12, min(period, 60))


def choose_window(n: int, period: int, horizon: int) -> int:
    """How far back the LSTM reads: two seasons or three horizons (12..120 steps), shortened
    when the series is short; BadInput when even the shortest window does not fit."""
    if horizon < 1:
        raise BadInput("The horizon must be at least 1 step.")
    longest = max_horizon(n, period)
    if horizon > longest:
        if longest < 1:
            raise BadInput(f"The series has only {n} points: too short to hold out a test window, a "
                           f"validation window and {MIN_TRAIN_WINDOWS} training windows. Upload a longer series.")
        raise BadInput(f"A horizon of {horizon} is too long for a series of {n} points: the largest this "
                       f"series allows is {longest} (it needs a window, {MIN_TRAIN_WINDOWS} training "
                       "windows, and validation and test blocks of H points each).")
    seasonal_span = 2 * period if period <= 60 else 90
    wanted = int(np.clip(max(seasonal_span, 3 * horizon), 12, 120))
    fits = n - 4 * horizon - MIN_TRAIN_WINDOWS + 2  # longest window that leaves H validation origins
    if fits >= min_window(period):
        return int(min(wanted, fits))
    return min_window(period)  # a short series: the shortest window, and fewer validation origins
