"""Memory over time and per request: what a long-running server keeps, and what one hostile request costs.

    python -m tests.benchmarks.soak            # 2,000 requests from new sessions (about 3 minutes)
    python -m tests.benchmarks.soak --quick    # 200

1. Soak: the app is started, every endpoint used below is called once (models load), then N
   requests, each from a new session (Gradio's plain HTTP route gives every call its own), go
   through a mix of cheap endpoints. Resident memory (VmRSS) before and after: target < 50 MB.
2. One request: the server's peak resident memory (VmHWM, reset through /proc/PID/clear_refs
   before each request) minus its resident memory before it, for the heaviest inputs a user can
   send: target < 300 MB each.
Prints a Markdown table; results.md in this folder keeps the last one.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def _status(pid: int, field: str) -> float:
    """A /proc/PID/status field in MB (VmRSS: resident now, VmHWM: peak since the last reset)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(field)


def _reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # Linux: resets VmHWM to the current VmRSS


def raw_call(url: str, api_name: str, args_json: str, timeout: float = 300) -> tuple[str, str]:
    """One call over /gradio_api/call (a new session each time) with a JSON body written by hand, as
    any HTTP client can send it (gradio_client cannot send NaN, infinities or lone surrogates):
    (the final SSE event's name, its data)."""
    response = httpx.post(f"{url}/gradio_api/call/{api_name}", content='{"data": ' + args_json + "}",
                          headers={"Content-Type": "application/json"}, timeout=60)
    response.raise_for_status()
    event_id = response.json()["event_id"]
    text = httpx.get(f"{url}/gradio_api/call/{api_name}/{event_id}", timeout=timeout).text
    events = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("event: ")]
    data = [line.split(": ", 1)[1] for line in text.splitlines() if line.startswith("data: ")]
    return (events[-1], data[-1]) if events and data else ("none", "")


def call(url: str, api_name: str, data: list, timeout: float = 300) -> str:
    """raw_call with `data` as JSON; the final event's name."""
    return raw_call(url, api_name, json.dumps(data), timeout)[0]


def upload(url: str, path: Path) -> dict:
    with open(path, "rb") as f:
        response = httpx.post(f"{url}/gradio_api/upload", files={"files": (path.name, f)}, timeout=120)
    response.raise_for_status()
    return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}, "orig_name": path.name}


MIX = [("ping", []), ("classify_sentiment", ["a gorgeous, witty film"]), ("describe_architecture", ["LeNet-5"]),
       ("sample_task", [20, 0]), ("forecast_dataset", ["co2 (Mauna Loa, monthly ppm)", 24])]


def heavy_inputs(folder: Path) -> dict[str, Path]:
    from PIL import Image

    files = {}
    files["huge.png"] = folder / "huge.png"
    Image.new("RGB", (7000, 7000), (250, 250, 250)).save(files["huge.png"], optimize=True)
    files["letters.csv"] = folder / "letters.csv"
    files["letters.csv"].write_bytes(b"abcdefghij" * 100_000)  # one 1 MB line of letters
    files["wide.csv"] = folder / "wide.csv"
    files["wide.csv"].write_bytes((",".join(f"c{i}" for i in range(200_000)) + "\n").encode() * 2)
    rows = ["date,value"] + [f"2020-01-01 00:{m:02d}:00,{m}" for m in range(60)] + ["1700-01-01 00:00:00,1"]
    files["span.csv"] = folder / "span.csv"
    files["span.csv"].write_text("\n".join(rows) + "\n")
    return files


def one_request_peaks(url: str, pid: int, files: dict[str, Path]) -> list[tuple[str, float, float, str]]:
    png = upload(url, files["huge.png"])
    sketch = {"background": None, "layers": [], "composite": png, "id": None}
    cases = [
        ("/classify_image, 7000×7000 PNG (fashion)", "classify_image", [png, "fashion"]),
        ("/explain_image, 7000×7000 PNG (imagenet)", "explain_image", [png, "imagenet"]),
        ("/classify_digit, 7000×7000 sketch", "classify_digit", [sketch]),
        ("/teach_classes, 2 classes × 4 of the 7000×7000 PNG (392 megapixels)", "teach_classes",
         [5, "a", [{"image": png}] * 4, "b", [{"image": png}] * 4] + ["", None] * 3),
        ("/forecast_csv, one 1 MB line of letters", "forecast_csv", [upload(url, files["letters.csv"]), 12, "auto", "auto", 0]),
        ("/forecast_csv, 200,000 columns", "forecast_csv", [upload(url, files["wide.csv"]), 12, "auto", "auto", 0]),
        ("/forecast_csv, minute steps with one row dated 1700", "forecast_csv",
         [upload(url, files["span.csv"]), 12, "auto", "auto", 0]),
        ("/generate_text, max_new_tokens 1e18", "generate_text", ["Once", 1e18, 0.8, 0, 40]),
    ]
    rows = []
    for name, api, data in cases:
        before = _status(pid, "VmRSS")
        _reset_peak(pid)
        start = time.monotonic()
        event = call(url, api, data)
        rows.append((name, _status(pid, "VmHWM") - before, time.monotonic() - start, event))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 soak requests instead of 2,000")
    args = parser.parse_args(argv)
    n = 200 if args.quick else 2_000

    from tests.conftest import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the app did not start")
            time.sleep(1)
        for api, data in MIX:  # load the models these use
            call(url, api, data)
        time.sleep(20)  # let the background warm-up finish loading every tab
        before = _status(server.pid, "VmRSS")
        start = time.monotonic()
        failures = sum(call(url, *MIX[i % len(MIX)]) != "complete" for i in range(n))
        soak_seconds = time.monotonic() - start
        after = _status(server.pid, "VmRSS")
        with tempfile.TemporaryDirectory() as folder:
            peaks = one_request_peaks(url, server.pid, heavy_inputs(Path(folder)))
    finally:
        server.terminate()
        server.wait(timeout=30)

    lines = [f"Measured {time.strftime('%Y-%m-%d')} with `python -m tests.benchmarks.soak{' --quick' if args.quick else ''}`.",
             "", "| measure | value | target |", "|---|---|---|",
             f"| soak: {n:,} requests from new sessions ({', '.join('/' + a for a, _ in MIX)}): "
             f"resident memory before → after (MB) | {before:,.0f} → {after:,.0f} (+{after - before:,.0f}) | < +50 |",
             f"| soak: failed requests, wall time (s) | {failures}, {soak_seconds:.0f} | 0 |"]
    for name, mb, seconds, event in peaks:
        lines.append(f"| one request: {name}: peak memory added (MB), time (s), outcome | "
                     f"{mb:+,.0f}, {seconds:.1f}, {'answered' if event == 'complete' else 'refused'} | < +300 |")
    table = "\n".join(lines)
    print(table)
    (Path(__file__).parent / "soak_results.md").write_text(table + "\n")


if __name__ == "__main__":
    main()
