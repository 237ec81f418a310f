"""Forecasting tab in Chromium: what it shows on opening, the bundled forecast on a click, a bad CSV's
one message, and a phone-width page."""

from __future__ import annotations

from tests.conftest import app_errors, open_tab

BAD_CSV = "date,city\n2020-01-01,Paris\n2020-01-02,Rome\n"
FIGURES_IN = """scope => [...document.querySelectorAll(scope + ' img')]
                .filter(i => i.src.startsWith('data:image') && i.offsetParent !== null).length"""
# Gradio's status badge on a component whose event failed (toasts live outside the tab)
ERROR_BADGES = """() => [...document.querySelectorAll('#tab-forecast .error')]
                  .filter(e => e.offsetParent !== null).map(e => e.innerText)"""


def test_opening_shows_the_default_series_forecast_and_figures(page, artifacts):
    open_tab(page, "LSTM forecasting")
    tab = page.locator("#tab-forecast")
    tab.get_by_text("held-out 24 steps").wait_for(timeout=120_000)  # no click: the arrival views
    page.wait_for_function(f"() => ({FIGURES_IN})('#tab-forecast') >= 3", timeout=60_000)
    assert tab.get_by_text("ETS(A,Ad,A)").count() >= 1 and tab.get_by_text("2002-01").count() >= 1
    assert tab.get_by_text("beat 'same as last season'").count() == 1
    for jargon in ("Target", "python -m", "NOT met"):
        assert tab.get_by_text(jargon).count() == 0, jargon
    page.screenshot(path=str(artifacts / "forecast_arrival.png"), full_page=True)
    assert not app_errors(page)


def test_the_button_backtests_another_series(page):
    open_tab(page, "LSTM forecasting")
    tab = page.locator("#tab-forecast")
    tab.get_by_text("held-out 24 steps").wait_for(timeout=120_000)
    tab.get_by_label("Series").click()
    page.get_by_role("option", name="sunspots (yearly activity)").click()
    page.wait_for_function("() => document.querySelector('#tab-forecast input[type=number]').value === '11'",
                           timeout=20_000)  # the horizon follows the series' trained one
    tab.get_by_role("button", name="Backtest and forecast").click()
    tab.get_by_text("held-out 11 steps").wait_for(timeout=60_000)
    page.wait_for_function(f"() => ({FIGURES_IN})('#tab-forecast') >= 3", timeout=60_000)
    assert not app_errors(page)


def test_the_csv_view_opens_with_a_real_example(page):
    open_tab(page, "LSTM forecasting")
    page.get_by_role("tab", name="Your own CSV").click()
    tab = page.locator("#tab-forecast")
    tab.get_by_text("The example, as read").wait_for(timeout=60_000)
    assert tab.get_by_text("temperature_F").count() >= 1 and tab.get_by_text("2010-06-01 00:00").count() >= 1
    assert tab.get_by_role("button", name="Fit and forecast my series").is_disabled()  # nothing uploaded yet
    tab.get_by_role("button", name="Use the example CSV").click()
    page.wait_for_function("""() => [...document.querySelectorAll('#tab-forecast button')]
        .some(b => b.innerText.includes('Fit and forecast my series') && !b.disabled)""", timeout=60_000)
    assert tab.get_by_text("seattle_hourly_temperature.csv").count() >= 1


def test_a_bad_csv_gives_one_message_and_no_error_badges(page, artifacts, tmp_path):
    path = tmp_path / "cities.csv"
    path.write_text(BAD_CSV)
    open_tab(page, "LSTM forecasting")
    page.get_by_role("tab", name="Your own CSV").click()
    tab = page.locator("#tab-forecast")
    tab.get_by_text("The example, as read").wait_for(timeout=60_000)
    page.locator("#forecast-upload input[type=file]").set_input_files(str(path))
    tab.get_by_text("This file cannot be used").wait_for(timeout=30_000)
    page.wait_for_timeout(1_000)  # a second, repeated failure would arrive by now
    toasts = page.locator(".toast-body")
    assert toasts.count() == 1
    assert toasts.locator(".toast-message-item").count() == 1
    assert "No column of numbers" in toasts.first.inner_text()
    assert page.evaluate(ERROR_BADGES) == []
    assert tab.get_by_role("button", name="Fit and forecast my series").is_disabled()  # no second failure
    page.screenshot(path=str(artifacts / "forecast_bad_csv.png"), full_page=True)


def test_readable_on_a_phone(page, artifacts):
    open_tab(page, "LSTM forecasting")
    page.set_viewport_size({"width": 390, "height": 844})  # after: the tab bar folds tabs into a menu
    tab = page.locator("#tab-forecast")
    tab.get_by_text("held-out 24 steps").wait_for(timeout=120_000)
    page.wait_for_function(f"() => ({FIGURES_IN})('#tab-forecast') >= 3", timeout=60_000)
    width, screen = page.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    assert width <= screen + 1, f"the page is {width} px wide on a {screen} px screen"  # tables scroll inside
    page.screenshot(path=str(artifacts / "forecast_phone.png"), full_page=True)


def test_a_fit_that_fails_gives_one_message_and_no_error_badges(page):
    open_tab(page, "LSTM forecasting")
    page.get_by_role("tab", name="Your own CSV").click()
    tab = page.locator("#tab-forecast")
    tab.get_by_text("The example, as read").wait_for(timeout=60_000)
    tab.get_by_role("button", name="Use the example CSV").click()
    fit = tab.get_by_role("button", name="Fit and forecast my series")
    page.wait_for_function("""() => [...document.querySelectorAll('#tab-forecast button')]
        .some(b => b.innerText.includes('Fit and forecast my series') && !b.disabled)""", timeout=60_000)
    picker = tab.get_by_label("Date column")
    picker.fill("no such column")
    picker.press("Enter")
    fit.click()
    page.locator(".toast-body").first.wait_for(timeout=60_000)
    page.wait_for_timeout(1_000)
    assert page.locator(".toast-body").count() == 1
    assert "is not in the file" in page.locator(".toast-body").first.inner_text()
    assert page.evaluate(ERROR_BADGES) == []
    assert not page.locator("#forecast-csv-results").is_visible()  # no empty results under the message
