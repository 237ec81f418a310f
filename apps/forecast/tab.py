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

import gradio as gr

from apps import Tab
from shared.checkpoints import WEIGHTS_DIR
from shared.ui import explainer, guard, model_card_accordion

CHECKPOINTS = tuple(WEIGHTS_DIR / "forecast" / f"{stem}_{cell}.safetensors"
                    for stem in ("co2", "elnino", "sunspots", "seattle", "stocks") for cell in ("lstm", "gru"))
DEFAULT_SERIES = "co2 (Mauna Loa, monthly ppm)"
AUTO = "auto"

INTRO = """Sequential data are values in time order: what comes next depends on what came before.
Pick a real series (or upload your own CSV). An **LSTM** and a **GRU** each read a window of
the past and forecast the next H steps with an **80% interval** (trained with a quantile loss).
Every forecast is scored on the **last H points, hidden from the models**, next to two simple
baselines: **seasonal naive** (repeat the last season) and **exponential smoothing** (ETS).
MASE < 1 means more accurate than seasonal naive typically is on this series."""

GATES_HELP = """**How to read the gates.** Each row is one of the LSTM's 32 memory cells (same row in
every panel, long-memory cells at the top); each column is one step of the window it reads,
oldest on the left. A **forget gate** near 1 (yellow) keeps the cell's memory, near 0 (purple)
wipes it. The **input gate** says how much of the new value is written, the **output gate** how
much of the memory is shown to the forecast head. In the **cell state**, rows that drift steadily
accumulate information over the whole window; rows that flip colour with the seasons track the
phase of the cycle."""


def _answer(report) -> tuple:
    """The fast outputs: the forecast table, the verdict and the error table (no figures)."""
    from apps.forecast import infer

    summary = None
    if not report.notes:  # a bundled series: the targets measured for the model cards apply
        summary = infer.targets_summary()
    text = infer.verdict(report, summary)
    if report.notes:
        text = "\n".join(f"- {n}" for n in report.notes) + "\n\n" + text
    return report.future.round(4), text, report.metrics.round(3)


def _outputs_from(report, models):
    future, text, metrics = _answer(report)
    backtest_fig, forecast_fig, gates_fig = report.figures(models)
    return future, text, backtest_fig, metrics, forecast_fig, gates_fig


@guard("Forecasting the series")
def forecast_dataset(name: str, horizon: float):
    """Fast: forecast table, verdict, errors (the figures come from explain_forecast)."""
    from apps.forecast import infer

    report, _models = infer.forecast_dataset(name, horizon)
    return _answer(report)


@guard("Drawing the forecast")
def explain_forecast(name: str, horizon: float):
    """Backtest, forecast and LSTM-gate figures for the same bundled series and horizon."""
    from apps.forecast import infer

    report, _models = infer.forecast_dataset(name, horizon)  # validates; the cached backtest
    return tuple(plot.model_copy() for plot in _rendered_figures(report.series.name, report.horizon))


@functools.lru_cache(maxsize=16)
def _rendered_figures(name: str, horizon: int) -> tuple:
    """The three figures of a bundled series, drawn and encoded once: they are deterministic, and
    drawing them (the gates figure has nine panels) takes far longer than the forecast itself.
    Returned as gr.Plot's encoded data, which the output components pass through unchanged."""
    from apps.forecast import infer

    report, models = infer.forecast_dataset(name, horizon)
    plot = gr.Plot(render=False)
    return tuple(plot.postprocess(fig) for fig in report.figures(models))


@guard("Fitting your series")
def forecast_csv(file, horizon: float, date_column: str = AUTO, value_column: str = AUTO,
                 seasonal_period: float = 0, progress=gr.Progress()):
    """A generator, so that Gradio closes it when the user leaves and the fitting stops (Watched)."""
    from apps.forecast import infer
    from shared.watched import Watched

    job = Watched(lambda should_stop, report: infer.forecast_csv(
        file, horizon, date_column, value_column, seasonal_period, on_progress=report, should_stop=should_stop))
    for fraction, text in job.updates():
        progress(fraction, desc=text)
        yield (gr.skip(),) * 6
    report, models = job.result
    yield _outputs_from(report, models)


@guard("Reading the CSV")
def inspect_csv(file):
    from apps.forecast import infer

    if file is None:
        return (gr.Dropdown(choices=[AUTO], value=AUTO), gr.Dropdown(choices=[AUTO], value=AUTO),
                gr.Number(value=0), gr.Number(), "")
    info = infer.inspect_csv(file)
    from apps.forecast.data import ROW_ORDER

    date_choices = [AUTO, ROW_ORDER, *info["columns"]]
    notes = "".join(f"\n- {n}" for n in info["notes"])
    every = "in file order (no dates)" if info["step"] == "row" else f"one every **{info['step']}**"
    text = (f"Read {info['points']} points, {every}. Detected date column "
            f"**{info['date']}**, value column **{info['value']}**; suggested seasonal period "
            f"**{info['period']}** and horizon **{info['horizon']}** (at most {info['max_horizon']} for this "
            f"length: a longer horizon would leave too few training windows).{notes}")
    return (gr.Dropdown(choices=date_choices, value=info["date"]),
            gr.Dropdown(choices=[AUTO, *info["columns"]], value=info["value"]),
            gr.Number(value=info["period"]),
            gr.Number(value=info["horizon"], minimum=1, maximum=max(1, info["max_horizon"])), text)


def build() -> None:
    from apps.forecast.data import bundled_names  # cheap: no torch, pandas only

    explainer(INTRO)
    gr.Markdown(_targets_markdown())
    with gr.Row():
        with gr.Column():
            gr.Markdown("### A bundled series (shipped checkpoints: instant)")
            series_name = gr.Dropdown(bundled_names(), value=DEFAULT_SERIES, label="Series")
            dataset_horizon = gr.Number(value=24, precision=0,
                                        label="Horizon H (steps; at most what the model was trained for)")
            dataset_button = gr.Button("Backtest and forecast", variant="primary")
        with gr.Column():
            gr.Markdown("### Your own series (fits an LSTM and a GRU, ≤ 30 s)")
            upload = gr.File(label="CSV: a date column and a value column", file_types=[".csv", ".txt"],
                             elem_id="forecast-upload")
            with gr.Row():
                date_column = gr.Dropdown([AUTO], value=AUTO, label="Date column", allow_custom_value=True)
                value_column = gr.Dropdown([AUTO], value=AUTO, label="Value column", allow_custom_value=True)
            with gr.Row():
                csv_horizon = gr.Number(value=12, precision=0, label="Horizon H")
                seasonal_period = gr.Number(value=0, precision=0, label="Seasonal period m (0 = auto, 1 = none)")
            upload_info = gr.Markdown()
            csv_button = gr.Button("Fit and forecast my series", variant="primary")

    verdict = gr.Markdown()
    with gr.Row():
        backtest_plot = gr.Plot(label="Backtest", show_label=False)
        metrics = gr.Dataframe(label="Errors on the held-out window (lower is better)", interactive=False,
                               headers=["method", "MAE", "MASE", "80% interval coverage"])  # until the first run
    with gr.Row():
        forecast_plot = gr.Plot(label="Forecast", show_label=False)
        future = gr.Dataframe(label="Forecast (median) with its 80% interval: the LSTM's for a bundled series; "
                                    "for yours, the method best on validation", interactive=False,
                              headers=["date", "forecast", "lower", "upper"])
    gr.Markdown("### Inside the LSTM")
    explainer(GATES_HELP)
    gates_plot = gr.Plot(label="Gates and cell state over the window that the forecast reads", show_label=False)
    model_card_accordion(CHECKPOINTS)

    plots = [backtest_plot, forecast_plot, gates_plot]
    outputs = [future, verdict, backtest_plot, metrics, forecast_plot, gates_plot]
    series_name.change(lambda name: gr.Number(value=_trained_horizon(name)), series_name, dataset_horizon,
                       api_name="trained_horizon", api_visibility="private", queue=False)
    # The tables and the verdict come at once; the figures (cached per series and horizon) follow.
    dataset_button.click(forecast_dataset, [series_name, dataset_horizon], [future, verdict, metrics],
                         api_name="forecast_dataset").success(
        explain_forecast, [series_name, dataset_horizon], plots, api_name="explain_forecast")
    upload.upload(inspect_csv, upload, [date_column, value_column, seasonal_period, csv_horizon, upload_info],
                  api_name="inspect_csv", api_visibility="private")
    csv_button.click(forecast_csv, [upload, csv_horizon, date_column, value_column, seasonal_period], outputs,
                     api_name="forecast_csv", concurrency_limit=1)


def _targets_markdown() -> str:
    """The tab's two targets as measured for the model cards; a missed one is said plainly."""
    from apps.forecast import infer  # no torch at import: this reads the JSON cards only

    try:
        return "**Goals, measured on the shipped models:** " + infer.card_summary_text(infer.targets_summary())
    except Exception as e:  # noqa: BLE001 - a missing card is reported by the checkpoint banner
        return f"The goals could not be read from the model cards ({e})."


def _trained_horizon(name: str) -> int:
    from apps.forecast.data import BUNDLED

    return BUNDLED[name][1]["horizon"] if name in BUNDLED else 12


def _warmup():
    from apps.forecast import infer

    infer.load_all()


TAB = Tab(name="forecast", title="📈 LSTM forecasting", order=30, build=build,
          summary="LSTM and GRU forecasts of real series (CO₂, El Niño, sunspots, weather, stocks) "
                  "with intervals, scored against seasonal naive and ETS; gates shown as heat maps.",
          checkpoints=CHECKPOINTS, warmup=_warmup)
