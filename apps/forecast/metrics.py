"""Error measures and the two baselines every forecast is compared with.

MASE (mean absolute scaled error, Hyndman & Koehler 2006) divides the forecast's MAE by the MAE
that the seasonal naive forecast makes *in sample*, one season back:
    scale = mean |y_t - y_{t-m}| over the history,   MASE = MAE / scale.
MASE < 1 means better than what repeating last season typically achieves on this series.
"""

from __future__ import annotations

import warnings

import numpy as np


def mae(truth, forecast) -> float:
    return float(np.mean(np.abs(np.asarray(truth, float) - np.asarray(forecast, float))))


def mase_scale(history, period: int) -> float:
    """In-sample MAE of the seasonal naive forecast (lag m) on the history."""
    history = np.asarray(history, float)
    if len(history) <= period:
        raise ValueError(f"need more than {period} points to scale MASE, got {len(history)}")
    scale = float(np.mean(np.abs(history[period:] - history[:-period])))
    return scale if scale > 0 else float("nan")  # a constant history has no scale


def mase(truth, forecast, history, period: int) -> float:
    return mae(truth, forecast) / mase_scale(history, period)


def coverage(truth, lower, upper) -> float:
    """Fraction of true values inside [lower, upper]."""
    truth = np.asarray(truth, float)
    return float(np.mean((truth >= np.asarray(lower)) & (truth <= np.asarray(upper))))


def seasonal_naive(history, period: int, horizon: int) -> np.ndarray:
    """Repeat the last season: y_hat[T+h] = y[T+h - m*ceil(h/m)] (m=1: the last value)."""
    history = np.asarray(history, float)
    last_season = history[-period:]
    return np.array([last_season[h % period] for h in range(horizon)])


def ets_forecast(history, period: int, horizon: int) -> tuple[np.ndarray, str]:
    """Exponential smoothing (statsmodels ETS, additive error, damped additive trend) and its label.

    Seasons up to 24 steps are ETS states; longer ones (365 days) would need hundreds of states
    (the fit takes minutes), so the season is removed by STL first and ETS forecasts the rest,
    as forecast::stlf does in R.
    """
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    history = np.asarray(history, float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter from the optimiser
        if period == 1:
            fit = ETSModel(history, error="add", trend="add", damped_trend=True).fit(disp=False)
            return np.asarray(fit.forecast(horizon)), "ETS(A,Ad,N)"
        if period <= 24:
            fit = ETSModel(history, error="add", trend="add", damped_trend=True, seasonal="add",
                           seasonal_periods=period).fit(disp=False)
            return np.asarray(fit.forecast(horizon)), "ETS(A,Ad,A)"
        from statsmodels.tsa.forecasting.stl import STLForecast

        fit = STLForecast(history, ETSModel, period=period,
                          model_kwargs=dict(error="add", trend="add", damped_trend=True)).fit(
            fit_kwargs=dict(disp=False))
        return np.asarray(fit.forecast(horizon)), "STL + ETS(A,Ad,N)"


def ets_quantiles(history, period: int, horizon: int, damped: bool = True,
                  reuse: dict | None = None) -> tuple[np.ndarray, str]:
    """ETS as in ets_forecast (damped or not), with its 80% prediction interval: (H, 3) [lower,
    median, upper] and the label. The history goes in as a pandas Series: statsmodels' interval
    code needs an index.

    `reuse`: a dict shared by calls on longer and longer prefixes of one series. The first call
    fits and stores the parameters there; later ones only run the smoother with them (0.05 s
    instead of a fit that takes 3-15 s on 700 monthly points), so parameters come from the
    shortest history (the validation one) and never from the blocks forecast later."""
    import pandas as pd
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = pd.Series(np.asarray(history, float))
    n = len(y)
    trend = "Ad" if damped else "A"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if period <= 24:
            seasonal = dict(seasonal="add", seasonal_periods=period) if period > 1 else {}
            model = ETSModel(y, error="add", trend="add", damped_trend=damped, **seasonal)
            if reuse is not None and "params" in reuse:
                fit = model.smooth(reuse["params"])
            else:
                fit = model.fit(disp=False)
                if reuse is not None:
                    reuse["params"] = fit.params
            label = f"ETS(A,{trend},{'A' if period > 1 else 'N'})"
        else:
            from statsmodels.tsa.forecasting.stl import STLForecast

            fit = STLForecast(y, ETSModel, period=period,
                              model_kwargs=dict(error="add", trend="add", damped_trend=damped)).fit(
                fit_kwargs=dict(disp=False))
            label = f"STL + ETS(A,{trend},N)"
        frame = fit.get_prediction(n, n + horizon - 1).summary_frame(alpha=0.2)
    lower = next(c for c in frame.columns if c.endswith("lower"))
    upper = next(c for c in frame.columns if c.endswith("upper"))
    q = np.column_stack([frame[lower], frame["mean"], frame[upper]]).astype(float)
    return np.sort(q, axis=1), label


def seasonal_naive_quantiles(history, period: int, horizon: int) -> np.ndarray:
    """Seasonal naive with an 80% interval from its own in-sample errors y_t - y_{t-m}: their 10%
    and 90% quantiles, widened by sqrt(k) for the k-th season ahead (errors add up season by season)."""
    history = np.asarray(history, float)
    point = seasonal_naive(history, period, horizon)
    errors = history[period:] - history[:-period]
    lo, hi = np.quantile(errors, [0.1, 0.9])
    k = np.sqrt(np.arange(horizon) // period + 1)
    return np.column_stack([point + lo * k, point, point + hi * k])
