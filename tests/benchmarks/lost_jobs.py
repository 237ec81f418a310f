"""Lost API jobs (issue 17): one gradio_client `Client`, 16 jobs in flight, against the plain route.

    python -m tests.benchmarks.lost_jobs                 # a bare one-textbox Gradio app, 1,000 jobs each way
    python -m tests.benchmarks.lost_jobs --jobs 2000 --url http://127.0.0.1:7860 --api ping

What it shows: with gradio_client 2.7.2 and Gradio 6.31.0, jobs submitted from one `Client` while
others are in flight are now and then cancelled (`concurrent.futures.CancelledError`), several
at once; the same jobs through `POST /gradio_api/call/<api_name>` (tests/benchmarks/load.py) all
come back. Why (read in site-packages):

- gradio `routes.py`, `queue_data_helper.sse_stream`: the server ends a session's message stream
  (a `close_stream` message) as soon as that session has no pending event left.
- gradio_client `client.py`, `Client.send_data`: after `POST /queue/join` answers, a job is
  registered to the reader that is open *at that moment* (`stream_open`, `stream_epoch`).
- When a job's join reaches the server just after the server decided to close (all earlier jobs
  done), but its answer is handled before the client's reader thread has read `close_stream`,
  the job is registered to the closing reader. When that reader ends, `close_stream(future)`
  appends None to every job registered to it, and each of those raises CancelledError, although
  the server runs them and sends their results on the next stream. With 16 workers resubmitting
  together, that is up to 16 jobs at once. (An instrumented run: 3 lost jobs, all registered to
  reader 40 3-9 ms before it read the server's close_stream.)

The plain route has no shared stream: each call's events come on its own
`GET /gradio_api/call/<api_name>/<event_id>`, which cannot close under another call.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.benchmarks.__main__ import free_port, start_server, stop
from tests.benchmarks.load import call_many, check_local

BARE_APP = """
import gradio as gr, sys
gr.Interface(lambda text: text, "textbox", "textbox", api_name="echo").launch(server_port=int(sys.argv[1]), ssr_mode=False)
"""


def with_gradio_client(url: str, api: str, jobs: int, width: int) -> dict:
    """`jobs` calls from one Client, `width` workers each submitting and waiting (bounded loop)."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    lock, left = threading.Lock(), iter(range(jobs))
    counts = {"ok": 0, "lost": 0, "other errors": 0}

    def worker() -> None:
        while True:
            with lock:
                i = next(left, None)
            if i is None:
                return
            args = () if api == "ping" else (f"x{i}",)
            try:
                client.submit(*args, api_name=f"/{api}").result(timeout=120)
                key = "ok"
            except BaseException as e:  # noqa: BLE001 - CancelledError is a BaseException
                key = "lost" if type(e).__name__ == "CancelledError" else "other errors"
            with lock:
                counts[key] += 1

    threads = [threading.Thread(target=worker) for _ in range(width)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    return counts


def with_plain_route(url: str, api: str, jobs: int, width: int) -> dict:
    datas = [[] if api == "ping" else [f"x{i}"] for i in range(jobs)]
    results = asyncio.run(call_many(url, api, datas, width))
    failed = sum(isinstance(r, Exception) for r in results)
    return {"ok": len(results) - failed, "lost": 0, "other errors": failed}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", default=None, help="a running server (default: start a bare Gradio app)")
    parser.add_argument("--api", default="echo")
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--width", type=int, default=16)
    opts = parser.parse_args()
    server = None
    if opts.url is None:
        app_file = Path(tempfile.mkdtemp()) / "bare_app.py"
        app_file.write_text(BARE_APP)
        port = free_port()
        server, _ = start_server([sys.executable, str(app_file), str(port)], port)
        url = f"http://127.0.0.1:{port}"
    else:
        url = check_local(opts.url)
    try:
        for name, run in (("gradio_client, one Client", with_gradio_client), ("POST /gradio_api/call", with_plain_route)):
            started = time.perf_counter()
            counts = run(url, opts.api, opts.jobs, opts.width)
            print(f"{name}: {opts.jobs} jobs, {opts.width} at a time: {counts}, {time.perf_counter() - started:.0f} s")
    finally:
        if server is not None:
            stop(server)


if __name__ == "__main__":
    main()
