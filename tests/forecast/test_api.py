"""Forecasting tab through the served app: the three API endpoints and bad input."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from gradio_client import handle_file

CO2 = "co2 (Mauna Loa, monthly ppm)"


def _table(result) -> pd.DataFrame:
    first = result[0]
    return pd.DataFrame(first["data"], columns=first["headers"])


def test_forecast_dataset_api(client):
    result = client.predict(CO2, 24, api_name="/forecast_dataset")
    table = _table(result)
    assert list(table.columns) == ["date", "forecast", "lower", "upper"]
    assert table["date"].iloc[0] == "2002-01" and len(table) == 24
    assert (table["lower"] <= table["forecast"]).all() and (table["forecast"] <= table["upper"]).all()
    assert 360 < table["forecast"].mean() < 390  # ppm in 2002-2003
    assert "MASE" in result[1]
    assert len(result) == 3 and "MASE" in result[2]["headers"]  # forecast, verdict, errors: no figures


def test_explain_forecast_api(client):
    plots = client.predict(CO2, 24, api_name="/explain_forecast")
    assert len(plots) == 3  # backtest, forecast, LSTM gates
    for plot in plots:
        assert plot["type"] == "matplotlib" and plot["plot"].startswith("data:image/")
    again = client.predict(CO2, 24.0, api_name="/explain_forecast")  # same series and horizon: same figures
    assert [p["plot"] for p in again] == [p["plot"] for p in plots]
    with pytest.raises(Exception, match="at most 24 steps ahead"):  # the box allows 30 (Seattle's)
        client.predict(CO2, 30, api_name="/explain_forecast")
    with pytest.raises(Exception, match=r"\b30\b"):  # beyond any series: the box's own range
        client.predict(CO2, 100, api_name="/explain_forecast")


def co2_csv(path, months: int = 240):
    """A real series as a user would upload it: the last 20 years of Mauna Loa CO2, monthly."""
    from apps.forecast import data

    series = data.load_bundled(CO2)
    frame = pd.DataFrame({"date": series.labels()[-months:], "co2_ppm": series.values[-months:]})
    frame.to_csv(path, index=False)
    return frame


def test_upload_to_forecast_through_the_api(client, tmp_path):
    path = tmp_path / "co2.csv"
    frame = co2_csv(path)
    start = time.monotonic()
    result = client.predict(handle_file(str(path)), 12, api_name="/forecast_csv")
    seconds = time.monotonic() - start
    table = _table(result)
    assert list(table.columns) == ["date", "forecast", "lower", "upper"]
    assert table["date"].tolist()[:2] == ["2002-01", "2002-02"] and len(table) == 12
    assert abs(table["forecast"].iloc[0] - frame["co2_ppm"].iloc[-1]) < 5  # continues the series
    assert "Fitted both networks in" in result[1]
    assert seconds < 90  # the fit is capped at 30 s; the rest is queueing on a busy 2-core CI box


@pytest.mark.parametrize("content, message", [
    ("", "empty"),
    ("date,city\n2020-01-01,Paris\n2020-01-02,Rome\n", "No column of numbers"),
])
def test_bad_uploads_get_messages_and_the_app_keeps_serving(client, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(Exception, match=message):
        client.predict(handle_file(str(path)), 12, api_name="/forecast_csv")
    with pytest.raises(Exception, match="at most 24"):
        client.predict(CO2, 25, api_name="/forecast_dataset")
    assert len(_table(client.predict(CO2, 3, api_name="/forecast_dataset"))) == 3


def test_oversized_upload_is_refused_before_the_handler(client, tmp_path):
    path = tmp_path / "huge.csv"
    row = b"2020-01-01,1.0\n"
    with open(path, "wb") as f:
        f.write(b"date,value\n" + row * (26 * 2**20 // len(row)))  # 26 MB: over app.MAX_FILE_SIZE
    with pytest.raises(Exception, match="(?i)size|large|exceed"):
        client.predict(handle_file(str(path)), 12, api_name="/forecast_csv")
    assert len(_table(client.predict(CO2, 2, api_name="/forecast_dataset"))) == 2
