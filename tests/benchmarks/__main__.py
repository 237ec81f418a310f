"""Benchmarks, side by side on one machine in one run (not part of the default test run).

    python -m tests.benchmarks            # all: start-up, latency, memory, load, room; prints a table
    python -m tests.benchmarks --quick    # fewer repetitions (a smoke run)
    python -m tests.benchmarks --only load,room   # some sections (startup, latency, load, room)

The load is measured twice: with 32 gradio_client `Client`s (threads in this process, as before)
and with tests/benchmarks/load.py (asyncio + httpx on Gradio's plain HTTP route), which leaves the
server the CPU. "room": 30 people press Train at once on the memory tab, with the same settings
and with 30 different ones.

Writes the table to tests/benchmarks/results.md as well; the README shows the latest one.
"""

from __future__ import annotations

import argparse
import concurrent.futures as futures
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from tests.benchmarks.endpoints import ENDPOINTS, EXPLANATIONS, LARGE_PRETRAINED, UNTARGETED, api_name

ROOT = Path(__file__).resolve().parents[2]
BARE_APP = """
import gradio as gr, sys
gr.Interface(lambda text: text, "textbox", "textbox").launch(server_port=int(sys.argv[1]), ssr_mode=False)
"""


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(command: list[str], port: int) -> tuple[subprocess.Popen, float]:
    """Start a server; return it and the seconds from process start to its first HTTP 200."""
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    started = time.perf_counter()
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while True:
        if server.poll() is not None:
            raise RuntimeError(f"{command} exited with {server.returncode}")
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).status == 200:
                return server, time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
        if time.perf_counter() - started > 120:
            raise RuntimeError("server did not start in 120 s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def measure_startup(repeats: int) -> dict[str, float]:
    """Median start-up of this app and of a bare one-textbox Gradio app, alternated."""
    bare_file = Path(tempfile.mkdtemp()) / "bare_app.py"
    bare_file.write_text(BARE_APP)
    times: dict[str, list[float]] = {"gallery": [], "bare": []}
    for _ in range(repeats):
        for name in ("bare", "gallery"):
            port = free_port()
            command = ([sys.executable, "app.py", "--port", str(port)] if name == "gallery"
                       else [sys.executable, str(bare_file), str(port)])
            server, seconds = start_server(command, port)
            stop(server)
            times[name].append(seconds)
    return {name: statistics.median(v) for name, v in times.items()}


def call(client, endpoint: str, args: tuple) -> float:
    started = time.perf_counter()
    client.predict(*args, api_name=api_name(endpoint))
    return time.perf_counter() - started


SECTIONS = ("startup", "latency", "load", "room")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ", ".join(SECTIONS))
    opts = parser.parse_args()
    sections = {name.strip() for name in opts.only.split(",") if name.strip()}
    if sections - set(SECTIONS):
        parser.error(f"unknown section(s) {sorted(sections - set(SECTIONS))}; choose from {', '.join(SECTIONS)}")
    repeats, calls, clients, per_client = (1, 5, 8, 3) if opts.quick else (3, 20, 32, 10)
    room = 6 if opts.quick else 30
    from gradio_client import Client

    rows: list[tuple[str, str, str]] = []
    errors: list[str] = []
    if "startup" in sections:
        startup = measure_startup(repeats)
        rows += [("start-up: bare one-textbox Gradio app (s)", f"{startup['bare']:.2f}", ""),
                 ("start-up: this gallery (s)", f"{startup['gallery']:.2f}", ""),
                 ("start-up ratio gallery / bare", f"{startup['gallery'] / startup['bare']:.2f}", "≤ 1.5")]

    port = free_port()
    server, _ = start_server([sys.executable, "app.py", "--port", str(port), "--no-warmup"], port)
    url = f"http://127.0.0.1:{port}"
    try:
        client = Client(f"{url}/", verbose=False)
        available = set(client.view_api(return_format="dict", print_info=False)["named_endpoints"])
        endpoints = {name: args for name, args in ENDPOINTS.items() if api_name(name) in available}
        explanations = {name: args for name, args in {**EXPLANATIONS, **UNTARGETED}.items()
                        if api_name(name) in available}
        for name, args in {**endpoints, **explanations}.items():  # first use: loads models
            call(client, name, args())
        if "latency" in sections:
            rows += measure_latency(client, endpoints, explanations, calls)
            rows.append(("peak server memory after every endpoint (MB)", f"{peak_rss_mb(server.pid):.0f}", "≤ 1300"))
        if "load" in sections:
            rows += measure_load_gradio_client(url, server.pid, list(endpoints) + ["/ping"], clients,
                                               per_client, errors)
            rows += measure_load_light(url, server.pid, list(endpoints) + ["/ping"], clients, per_client, errors)
            rows.append(("peak server memory after load (MB)", f"{peak_rss_mb(server.pid):.0f}", ""))
        if "room" in sections and "/train_memory" in available:
            rows += measure_room(url, server.pid, room, errors)
    finally:
        stop(server)

    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    table = "| measure | value | target |\n|---|---|---|\n" + "\n".join(f"| {a} | {b} | {c} |" for a, b, c in rows)
    command = "python -m tests.benchmarks" + ("" if sections == set(SECTIONS) else f" --only {opts.only}")
    report = f"Measured {time.strftime('%Y-%m-%d')} on {machine} with `{command}`.\n\n{table}\n"
    if errors:
        report += "\nLoad errors (first 5):\n" + "\n".join(f"- {e}" for e in errors[:5]) + "\n"
    print(report)
    if sections == set(SECTIONS):  # the file holds complete runs only
        (Path(__file__).parent / "results.md").write_text(report)


def measure_latency(client, endpoints: dict, explanations: dict, calls: int) -> list[tuple[str, str, str]]:
    rows = []
    noop = [call(client, "/ping", ()) for _ in range(calls)]
    noop_p50 = statistics.median(noop)
    rows.append(("latency /ping (no-op) p50 / p95 (ms)",
                 f"{noop_p50 * 1e3:.0f} / {percentile(noop, 0.95) * 1e3:.0f}", ""))
    for name, args in endpoints.items():
        times = [call(client, name, args()) for _ in range(calls)]
        p50 = statistics.median(times)
        target = "≤ 2.5× no-op" if name in LARGE_PRETRAINED else "≤ 1.5× no-op"
        rows.append((f"latency {name} p50 / p95 (ms), ratio to no-op",
                     f"{p50 * 1e3:.0f} / {percentile(times, 0.95) * 1e3:.0f}, {p50 / noop_p50:.2f}×", target))
    for name, args in explanations.items():
        times = [call(client, name, args()) for _ in range(max(5, calls // 2))]
        p50 = statistics.median(times)
        kind = "no target" if name in UNTARGETED else "views after the answer"
        rows.append((f"latency {name} ({kind}) p50 / p95 (ms), ratio to no-op",
                     f"{p50 * 1e3:.0f} / {percentile(times, 0.95) * 1e3:.0f}, {p50 / noop_p50:.2f}×", ""))
    return rows


def measure_load_gradio_client(url: str, pid: int, names: list[str], clients: int, per_client: int,
                               errors: list[str]) -> list[tuple[str, str, str]]:
    """The old load: `clients` gradio_client Clients, threads in this process."""
    from gradio_client import Client

    latencies: list[float] = []

    def one_client(seed: int) -> None:
        rng = random.Random(seed)
        own = Client(f"{url}/", verbose=False)
        for _ in range(per_client):
            name = rng.choice(names)
            try:
                latencies.append(call(own, name, ENDPOINTS.get(name, tuple)()))
            except Exception as e:  # noqa: BLE001 - counted, not raised
                errors.append(f"{name}: {type(e).__name__}: {e}")

    started, server_cpu, own_cpu = time.perf_counter(), cpu_seconds(pid), time.process_time()
    before = len(errors)
    with futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(one_client, range(clients)))
    wall = time.perf_counter() - started
    server_cpu, own_cpu = cpu_seconds(pid) - server_cpu, time.process_time() - own_cpu
    return [
        (f"load (gradio_client): {clients} clients × {per_client} mixed requests: errors", str(len(errors) - before), "0"),
        ("load (gradio_client): p50 / p95 latency (s), wall time (s)",
         f"{statistics.median(latencies):.2f} / {percentile(latencies, 0.95):.2f}, {wall:.0f}", "p95 ≤ 3 s"),
        # The load generator runs on the same machine: its CPU time is CPU the server did not get.
        (f"load (gradio_client): CPU seconds used by the server / by the {clients} clients (same machine)",
         f"{server_cpu:.0f} / {own_cpu:.0f} (of {wall * (os.cpu_count() or 1):.0f} available)", ""),
    ]


def measure_load_light(url: str, pid: int, names: list[str], clients: int, per_client: int,
                       errors: list[str]) -> list[tuple[str, str, str]]:
    """The same mix from tests/benchmarks/load.py (one asyncio loop, httpx): each user one session
    on Gradio's queue protocol, as a browser tab; then every request on the plain route."""
    import asyncio

    from tests.benchmarks import load

    rows = []
    for route, label in (("queue", "light client, queue protocol"), ("call", "light client, /gradio_api/call")):
        started_cpu, own_cpu = cpu_seconds(pid), time.process_time()
        out = asyncio.run(load.mixed_load(url, clients, per_client, [n for n in names if n in load.MIXED],
                                          route=route))
        server_cpu, own_cpu = cpu_seconds(pid) - started_cpu, time.process_time() - own_cpu
        errors += out["errors"]
        lat, wall = out["latencies"], out["wall"]
        rows += [
            (f"load ({label}): {clients} × {per_client} mixed requests: errors", str(len(out["errors"])), "0"),
            (f"load ({label}): p50 / p95 latency (s), wall time (s)",
             f"{statistics.median(lat):.2f} / {percentile(lat, 0.95):.2f}, {wall:.0f}", "p95 ≤ 3 s"),
            (f"load ({label}): CPU seconds used by the server / by the load generator",
             f"{server_cpu:.0f} / {own_cpu:.0f} (of {wall * (os.cpu_count() or 1):.0f} available)", ""),
        ]
    return rows


def measure_room(url: str, pid: int, people: int, errors: list[str]) -> list[tuple[str, str, str]]:
    """`people` press Train on the memory tab at once (the 60 s default budget)."""
    import asyncio

    from tests.benchmarks import load

    rows = []
    for same in (True, False):
        out = asyncio.run(load.train_room(url, load.train_settings(people, same)))
        errors += out["errors"]
        what = "the same settings" if same else "all different settings"
        rows.append((f"room: {people} press Train at once, {what}: errors · first curve max (p50) · "
                     "finished max (p50) (s) · steps per run (median)",
                     f"{len(out['errors'])} · {max(out['first'], default=float('nan')):.1f} "
                     f"({statistics.median(out['first'] or [float('nan')]):.1f}) · "
                     f"{max(out['finished'], default=float('nan')):.1f} "
                     f"({statistics.median(out['finished'] or [float('nan')]):.1f}) · "
                     f"{statistics.median(out['steps'] or [0]):.0f}",
                     "first ≤ 30 s, finished ≤ 180 s"))
    return rows


if __name__ == "__main__":
    main()
