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
