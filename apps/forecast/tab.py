"""📈 LSTM forecasting: forecast real series with an LSTM and a GRU, next to honest baselines,
and look at the LSTM's gates while it reads.

API (both return, first, a table with columns date, forecast, lower, upper for the next H steps):
    client.predict("co2 (Mauna Loa, monthly ppm)", 24, api_name="/forecast_dataset")
        -> forecast table, verdict (Markdown), error table
    client.predict("co2 (Mauna Loa, monthly ppm)", 24, api_name="/explain_forecast")
        -> backtest, forecast and LSTM-gates figures for the same series and horizon
    client.predict(handle_file("my.csv"), 12, api_name="/forecast_csv")
        -> forecast table, verdict, backtest figure, error table, forecast figure, gates figure
"""

from __future__ import annotations

import functools
from pathlib import Path

import gradio as gr

from apps import Tab
from apps.forecast import spec
from shared import arrival
from shared.ui import explainer, guard, model_card_accordion

INTRO = """Sequential data are values in time order: what comes next depends on what came before.
An **LSTM** and a **GRU** each read a window of the past and forecast the next H steps with an
**80% interval**. Every forecast is scored on the **last H points, hidden from the models**, next to
two simple baselines: **seasonal naive** ('same as last season') and **exponential smoothing** (ETS).
The score is **MASE**: below 1 means more accurate than 'same as last season' typically is on this series."""

CSV_HELP = """**What a CSV needs:** a header row, then one row per time step with a **date** column and a
**value** column (other columns are fine; pick the one to forecast). Dates in any common format
(2010-06-01 13:00, 01/06/2010, 2010); without dates, rows are taken as equal steps. The example
below is real: hourly temperatures in Seattle, June and July 2010 (NOAA, public domain). Fitting
an LSTM and a GRU on it takes up to 30 s."""

GATES_HELP = """**How to read the gates.** Each row is one of the LSTM's 32 memory cells (same row in
every panel, long-memory cells at the top); each column is one step of the window it reads,
oldest on the left. A **forget gate** near 1 (yellow) keeps the cell's memory, near 0 (purple)
wipes it. The **input gate** says how much of the new value is written, the **output gate** how
much of the memory is shown to the forecast head. In the **cell state**, rows that drift steadily
accumulate information over the whole window; rows that flip colour with the seasons track the
phase of the cycle."""

UNUSABLE_FILE = ("⚠️ **This file cannot be used** (the red message says why). Upload another CSV, or "
                 "press *Use the example CSV*.")


# ---------------------------------------------------------------------------------- a bundled series

@guard("Forecasting the series")
def forecast_dataset(name: str, horizon: float):
    """Fast: forecast table, verdict, errors (the figures come from explain_forecast)."""
    from apps.forecast import infer, views

    report = infer.forecast_dataset(name, horizon)
    return views.future_frame(report), views.verdict(report), views.errors_frame(report)


@guard("Drawing the forecast")
def explain_forecast(name: str, horizon: float):
    """Backtest, forecast and LSTM-gate figures for the same bundled series and horizon."""
    from apps.forecast import infer

    h = infer.check_dataset_horizon(name, horizon)
    return tuple(plot.model_copy() for plot in _encoded_figures(name, h))


@functools.lru_cache(maxsize=16)
def _encoded_figures(name: str, horizon: int) -> tuple:
    """The three figures of a bundled series, drawn once: they are deterministic, and drawing them
    (the gates figure has five panels) takes far longer than the forecast itself."""
    from apps.forecast import infer, views
    from shared.plots import encoded

    return tuple(encoded(fig) for fig in views.figures(infer.forecast_dataset(name, horizon)))


def _series_arrival() -> tuple:
    """The default series' answer and figures, for the view's first opening."""
    table, text, errors = forecast_dataset(spec.DEFAULT_SERIES, spec.DATASET_HORIZON.default)
    return (table, text, errors, *explain_forecast(spec.DEFAULT_SERIES, spec.DATASET_HORIZON.default))


def _trained_horizon(name: str):
    bundled = spec.BUNDLED.get(name)
    return gr.Number(value=bundled.horizon, maximum=bundled.horizon) if bundled else gr.skip()


# ---------------------------------------------------------------------------------- your own CSV

@guard("Fitting your series")
def forecast_csv(file, horizon: float, date_column: str = spec.AUTO, value_column: str = spec.AUTO,
                 seasonal_period: float = 0, progress=gr.Progress()):
    """A generator, so that Gradio closes it when the user leaves and the fitting stops (Watched)."""
    from apps.forecast import infer, views
    from shared.watched import Watched

    job = Watched(lambda should_stop, report: infer.forecast_csv(
        file, horizon, date_column, value_column, seasonal_period, on_progress=report, should_stop=should_stop))
    for fraction, text in job.updates():
        progress(fraction, desc=text)
        yield (gr.skip(),) * 6
    report = job.result
    backtest, forecast, gates = views.figures(report)
    yield views.future_frame(report), views.verdict(report), backtest, views.errors_frame(report), forecast, gates


@guard("Reading the CSV")
def inspect_csv(file):
    """The pickers, suggestions and a preview for an uploaded file; the fit button once it reads."""
    from apps.forecast import infer, views

    info = infer.inspect_csv(file)
    return (gr.Dropdown(choices=[spec.AUTO, spec.ROW_ORDER, *info.columns], value=info.date),
            gr.Dropdown(choices=[spec.AUTO, *info.columns], value=info.value),
            gr.Number(value=info.period),
            gr.Number(value=info.horizon, maximum=max(1, info.max_horizon)),
            gr.Dataframe(info.preview, visible=True), views.csv_summary(info, Path(file).name),
            gr.Button(interactive=True))


def _no_file():
    """Before a file is read (or after it is removed): automatic pickers, no preview, no fit button."""
    return (gr.Dropdown(choices=[spec.AUTO], value=spec.AUTO), gr.Dropdown(choices=[spec.AUTO], value=spec.AUTO),
            gr.Number(value=spec.SEASONAL_PERIOD.default),
            gr.Number(value=spec.CSV_HORIZON.default, maximum=spec.CSV_HORIZON.high),
            gr.Dataframe(None, visible=False), "", gr.Button(interactive=False))


def _example():
    """The example CSV in the upload box, read as an upload is."""
    return (str(spec.EXAMPLE_CSV), *inspect_csv(str(spec.EXAMPLE_CSV)))


def _csv_arrival():
    """What a CSV should look like: the example as read, before anything is uploaded."""
    from apps.forecast import infer, views

    info = infer.inspect_csv(spec.EXAMPLE_CSV)
    return info.preview, ("**The example, as read** — " + views.csv_summary(info, spec.EXAMPLE_CSV.name)
                          + "\n\nPress *Use the example CSV* to fit it, or upload your own file.")


# ---------------------------------------------------------------------------------- layout, then events

def build() -> None:
    from apps.forecast.data import bundled_names  # cheap: no torch, pandas only

    explainer(INTRO)
    with gr.Tabs():
        with gr.Tab("A real series", id="forecast-series"):
            gr.Markdown(_goals_markdown())
            with gr.Row(equal_height=True):
                series_name = gr.Dropdown(bundled_names(), value=spec.DEFAULT_SERIES, label="Series", scale=3)
                dataset_horizon = spec.DATASET_HORIZON.number(scale=1, info="at most what its models were trained for")
            dataset_button = gr.Button("Backtest and forecast", variant="primary")
            verdict = gr.Markdown()
            backtest_plot = gr.Plot(label="Backtest", show_label=False)
            metrics = gr.Dataframe(label="Errors on the held-out points (lower is better)", interactive=False,
                                   wrap=True, headers=["method", "MAE", "MASE", "80% interval coverage"])
            forecast_plot = gr.Plot(label="Forecast", show_label=False)
            future = gr.Dataframe(label="Forecast (median) with its 80% interval: the LSTM's", interactive=False,
                                  wrap=True, headers=["date", "forecast", "lower", "upper"])
            gr.Markdown("### Inside the LSTM")
            explainer(GATES_HELP)
            gates_plot = gr.Plot(label="Gates and cell state over the window that the forecast reads",
                                 show_label=False)
        with gr.Tab("Your own CSV", id="forecast-csv"):
            explainer(CSV_HELP)
            with gr.Row():
                with gr.Column(min_width=280):
                    upload = gr.File(label="Your CSV (a date column and a value column)",
                                     file_types=[".csv", ".txt"], elem_id="forecast-upload")
                    with gr.Row():
                        example_button = gr.Button("Use the example CSV", size="sm", min_width=140)
                        gr.DownloadButton("Download the example", value=str(spec.EXAMPLE_CSV), size="sm",
                                          min_width=140)
                with gr.Column(min_width=280):
                    preview = gr.Dataframe(label="The file as read (first rows)", interactive=False, wrap=True,
                                           max_height=320)
                    upload_info = gr.Markdown()
            with gr.Row():
                date_column = gr.Dropdown([spec.AUTO], value=spec.AUTO, label="Date column",
                                          allow_custom_value=True, min_width=160)
                value_column = gr.Dropdown([spec.AUTO], value=spec.AUTO, label="Value column",
                                           allow_custom_value=True, min_width=160)
                csv_horizon = spec.CSV_HORIZON.number(min_width=160)
                seasonal_period = spec.SEASONAL_PERIOD.number(min_width=160)
            csv_button = gr.Button("Fit and forecast my series", variant="primary", interactive=False)
            fitting = gr.Markdown(elem_id="forecast-fitting", min_height=48)  # where the fit's progress shows
            with gr.Column(visible=False, elem_id="forecast-csv-results") as csv_results:  # once a fit succeeds
                csv_verdict = gr.Markdown()
                csv_backtest_plot = gr.Plot(label="Backtest", show_label=False)
                csv_metrics = gr.Dataframe(label="Errors on the held-out points (lower is better)",
                                           interactive=False, wrap=True)
                csv_forecast_plot = gr.Plot(label="Forecast", show_label=False)
                csv_future = gr.Dataframe(label="Forecast (median) with its 80% interval: the method best on "
                                                "validation", interactive=False, wrap=True,
                                          headers=["date", "forecast", "lower", "upper"])
                csv_gates_plot = gr.Plot(label="The LSTM's gates over the window that the forecast reads",
                                         show_label=False)
    model_card_accordion(spec.CHECKPOINTS)

    # A bundled series: the tables and the verdict come at once; the figures (cached) follow.
    series_outputs = [future, verdict, metrics]
    series_plots = [backtest_plot, forecast_plot, gates_plot]
    arrival.show(_series_arrival, series_outputs + series_plots)
    series_name.change(_trained_horizon, series_name, dataset_horizon,
                       api_name="trained_horizon", api_visibility="private", queue=False)
    dataset_button.click(forecast_dataset, [series_name, dataset_horizon], series_outputs,
                         api_name="forecast_dataset").success(
        explain_forecast, [series_name, dataset_horizon], series_plots, api_name="explain_forecast")

    # Your own CSV. A file that cannot be read fails once, in the reading: one message, shown
    # without marking every picker as failed, and the fit button stays off until a file reads.
    reading = [date_column, value_column, seasonal_period, csv_horizon, preview, upload_info, csv_button]
    arrival.show(_csv_arrival, [preview, upload_info])
    quiet = dict(api_visibility="private", show_progress="hidden")
    upload.upload(_no_file, None, reading, api_name="forget_csv", queue=False, **quiet).then(
        inspect_csv, upload, reading, api_name="inspect_csv", **quiet).failure(
        lambda: UNUSABLE_FILE, None, upload_info, api_name="unusable_csv", queue=False, **quiet)
    upload.clear(_no_file, None, reading, api_name="clear_csv", queue=False, **quiet)
    example_button.click(_example, None, [upload, *reading], api_name="example_csv", **quiet)
    csv_button.click(lambda: gr.Column(visible=False), None, csv_results, api_name="hide_csv_results",
                     queue=False, **quiet)
    csv_button.click(forecast_csv, [upload, csv_horizon, date_column, value_column, seasonal_period],
                     [csv_future, csv_verdict, csv_backtest_plot, csv_metrics, csv_forecast_plot, csv_gates_plot],
                     api_name="forecast_csv", concurrency_limit=1, show_progress_on=[fitting]).success(
        lambda: gr.Column(visible=True), None, csv_results, api_name="show_csv_results", queue=False, **quiet)


def _goals_markdown() -> str:
    """The tab's two goals as measured for the model cards; a missed one is said plainly."""
    from apps.forecast import infer, views  # no torch at import: this reads the JSON cards only

    try:
        return views.goals_text(infer.goals())
    except Exception as e:  # noqa: BLE001 - a missing card is reported by the checkpoint banner
        return f"The goals could not be read from the model cards ({e})."


def _warmup():
    from apps.forecast import infer

    infer.load_all()


TAB = Tab(name="forecast", title="📈 LSTM forecasting", order=30, build=build,
          summary="LSTM and GRU forecasts of real series (CO₂, El Niño, sunspots, weather, stocks) "
                  "with intervals, scored against seasonal naive and ETS; gates shown as heat maps.",
          checkpoints=spec.CHECKPOINTS, warmup=_warmup)
