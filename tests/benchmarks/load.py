"""A light load generator: asyncio + httpx speaking Gradio's own protocols, no gradio_client.

    python -m tests.benchmarks.load --url http://127.0.0.1:7860 --clients 32 --requests 10 [--route call]
    python -m tests.benchmarks.load --url http://127.0.0.1:7860 --train 30 [--same]

Two protocols. The mixed load's users are `Session`s on Gradio's queue (join, then the session's
message stream), one session per user as a browser tab. `call` uses the plain route below, one
call at a time or many (`call_many`), which is how a script should batch.

Why not gradio_client: 32 `Client`s (threads in one process, each polling its messages in 50 ms
sleeps) used 57 CPU-seconds to the server's 34 on the same 2 cores, so the old load figure mostly
measured the load generator. Here one event loop drives every simulated user.

The route: `POST /gradio_api/call/<api_name>` with `{"data": [...]}` answers `{"event_id": ...}`;
`GET /gradio_api/call/<api_name>/<event_id>` streams that one event as server-sent events
(`event: generating|complete|error|heartbeat`, then `data: <json>`). Each call has its own stream,
so, unlike one gradio_client `Client` shared by many jobs, no call can lose another's stream (see
the README, "A room of users"). Files are uploaded first (`POST /gradio_api/upload`) and passed as
`{"path": ..., "meta": {"_type": "gradio.FileData"}}`.

Only loopback URLs are accepted, and every loop here is bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


class CallError(RuntimeError):
    """The server answered the call with an error event (its message is the text)."""


@dataclass
class Timing:
    started: float
    first_update: float | None = None   # seconds to the first "generating" event (streaming endpoints)
    finished: float | None = None       # seconds to "complete" or "error"
    updates: int = 0
    events: list[str] = field(default_factory=list)


def check_local(url: str) -> str:
    host = urllib.parse.urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"load tests only target this machine (127.0.0.1/localhost), not {host!r}")
    return url.rstrip("/")


def file_data(server_path: str) -> dict:
    return {"path": server_path, "meta": {"_type": "gradio.FileData"}}


async def upload(http: httpx.AsyncClient, url: str, path: Path) -> dict:
    """Upload one local file; its FileData for a call's `data`."""
    with open(path, "rb") as f:
        response = await http.post(f"{url}/gradio_api/upload", files={"files": (path.name, f.read())})
    response.raise_for_status()
    return file_data(response.json()[0])


async def call(http: httpx.AsyncClient, url: str, api_name: str, data: list, *,
               timeout: float = 300.0, on_update=None) -> tuple[list, Timing]:
    """One call of `api_name` (no leading slash needed); its final output data and timings.

    `on_update(data)` is called with every intermediate ("generating") output. Raises CallError
    on the server's error event, TimeoutError past `timeout` seconds."""
    api_name = api_name.lstrip("/")
    timing = Timing(started=time.perf_counter())
    # json.dumps, not httpx's json=: an API caller may send NaN (the server must refuse it, not choke)
    response = await http.post(f"{url}/gradio_api/call/{api_name}", content=json.dumps({"data": data}),
                               headers={"Content-Type": "application/json"})
    response.raise_for_status()
    event_id = response.json()["event_id"]
    async with asyncio.timeout(timeout):
        async with http.stream("GET", f"{url}/gradio_api/call/{api_name}/{event_id}") as stream:
            event = None
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event is not None:
                    payload = json.loads(line[5:])
                    timing.events.append(event)
                    now = time.perf_counter() - timing.started
                    if event == "generating":
                        timing.updates += 1
                        if timing.first_update is None:
                            timing.first_update = now
                        if on_update is not None:
                            on_update(payload)
                    elif event == "complete":
                        timing.finished = now
                        return payload, timing
                    elif event == "error":
                        timing.finished = now
                        raise CallError(str(payload))
                    event = None
    raise CallError(f"the stream of {api_name} ended without a result (events: {timing.events})")


async def api_functions(http: httpx.AsyncClient, url: str) -> dict[str, tuple[int, int | None]]:
    """api_name -> (fn_index, trigger id) from the app's /config, for the queue protocol."""
    config = (await http.get(f"{url}/config")).json()
    return {d["api_name"]: (d["id"], d["targets"][0][0] if d.get("targets") else None)
            for d in config["dependencies"] if d.get("api_name")}


class Session:
    """One simulated browser tab: Gradio's queue protocol with its own session hash.

    `POST /gradio_api/queue/join` ({data, fn_index, trigger_id, session_hash}) answers an event id;
    `GET /gradio_api/queue/data?session_hash=...` streams the session's messages (`data: <json>`;
    msg process_generating / process_completed / close_stream). One call at a time per session,
    and each stream is read until the server closes it: a new stream never overlaps an old one."""

    def __init__(self, http: httpx.AsyncClient, url: str, functions: dict):
        import uuid

        self.http, self.url, self.functions = http, url, functions
        self.hash = uuid.uuid4().hex[:12]

    async def call(self, api_name: str, data: list, *, timeout: float = 300.0) -> tuple[list, Timing]:
        fn_index, trigger = self.functions[api_name.lstrip("/")]
        timing = Timing(started=time.perf_counter())
        body = {"data": data, "fn_index": fn_index, "trigger_id": trigger, "event_data": None,
                "session_hash": self.hash}
        response = await self.http.post(f"{self.url}/gradio_api/queue/join", content=json.dumps(body),
                                        headers={"Content-Type": "application/json"})
        response.raise_for_status()
        event_id = response.json()["event_id"]
        result: list | None = None
        failure: str | None = None
        async with asyncio.timeout(timeout):
            async with self.http.stream("GET", f"{self.url}/gradio_api/queue/data",
                                        params={"session_hash": self.hash}) as stream:
                async for line in stream.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    message = json.loads(line[5:])
                    msg = message.get("msg")
                    now = time.perf_counter() - timing.started
                    if msg == "close_stream":
                        break
                    if msg == "unexpected_error":
                        failure = message.get("message", "unexpected error")
                        break
                    if message.get("event_id") != event_id:
                        continue
                    timing.events.append(msg)
                    if msg == "process_generating":
                        timing.updates += 1
                        timing.first_update = timing.first_update if timing.first_update is not None else now
                    elif msg == "process_completed":
                        timing.finished = now
                        output = message.get("output") or {}
                        if message.get("success"):
                            result = output.get("data")
                        else:
                            failure = str(output.get("error") or output)
        if failure is not None:
            raise CallError(failure)
        if result is None:
            raise CallError(f"the stream of {api_name} ended without a result (messages: {timing.events})")
        return result, timing


def new_client(width: int = 64) -> httpx.AsyncClient:
    """One connection pool for every simulated user (keep-alive, no per-request handshakes)."""
    limits = httpx.Limits(max_connections=2 * width, max_keepalive_connections=2 * width)
    return httpx.AsyncClient(timeout=httpx.Timeout(300.0), limits=limits)


async def call_many(url: str, api_name: str, datas: list[list], width: int = 16) -> list:
    """Every call of `api_name` with each of `datas`, `width` at a time; results in order
    (an exception object where a call failed)."""
    url = check_local(url)
    gate = asyncio.Semaphore(width)

    async def one(http, data):
        async with gate:
            try:
                return (await call(http, url, api_name, data))[0]
            except Exception as e:  # noqa: BLE001 - a failure is a result the caller counts
                return e

    async with new_client(width) as http:
        return await asyncio.gather(*(one(http, d) for d in datas))


# ---------------------------------------------------------------- the benchmark's two loads

CLOTHES = ROOT / "apps" / "cnn" / "assets" / "fashion_ankle_boot.png"
PHOTO = ROOT / "apps" / "cnn" / "assets" / "temple.jpg"
CLIP = ROOT / "apps" / "speech" / "assets" / "yes_b49caed3_nohash_2.flac"

# The same mix as tests/benchmarks/endpoints.py: name -> (api_name, data, files to upload first)
MIXED = {
    "/classify_image": ("classify_image", [None, "fashion"], [CLOTHES]),
    "/classify_image (imagenet)": ("classify_image", [None, "imagenet"], [PHOTO]),
    "/recognize_speech": ("recognize_speech", [None], [CLIP]),
    "/forecast_dataset": ("forecast_dataset", ["co2 (Mauna Loa, monthly ppm)", 24], []),
    "/sample_task": ("sample_task", [100, 0], []),
    "/inspect_memory": ("inspect_memory", [100, 100, 0], []),
    "/classify_sentiment": ("classify_sentiment", ["a gorgeous, witty, seductive movie."], []),
    "/generate_text": ("generate_text", ["The secret of life is", 40, 0.8, 19, 40], []),  # the plain route needs top_k too
    "/describe_architecture": ("describe_architecture", ["ResNet-50"], []),
    "/ping": ("ping", [], []),
}


async def _mixed_request(http, url, name, session: Session | None) -> float:
    api, data, files = MIXED[name]
    started = time.perf_counter()
    data = list(data)
    for i, path in enumerate(files):  # the upload is part of the user's wait
        data[i] = await upload(http, url, path)
    if session is not None:
        await session.call(api, data)
    else:
        await call(http, url, api, data)
    return time.perf_counter() - started


async def mixed_load(url: str, clients: int, per_client: int, names: list[str] | None = None,
                     seed: int = 0, route: str = "queue") -> dict:
    """`clients` users at once, each sending `per_client` requests one after the other, picked at
    random from the mix; latencies of every request and the errors. route "queue": each user is
    one session (a browser tab, or one gradio_client Client) on Gradio's queue protocol; "call":
    every request is its own call of the plain route (and its own session on the server)."""
    url = check_local(url)
    names = names or list(MIXED)
    latencies: list[float] = []
    errors: list[str] = []

    async def user(http, k, functions):
        rng = random.Random(seed * 1000 + k)
        session = Session(http, url, functions) if route == "queue" else None
        for _ in range(per_client):
            name = rng.choice(names)
            try:
                latencies.append(await _mixed_request(http, url, name, session))
            except Exception as e:  # noqa: BLE001 - counted
                errors.append(f"{name}: {type(e).__name__}: {e}")

    async with new_client(clients) as http:
        functions = await api_functions(http, url) if route == "queue" else {}
        started = time.perf_counter()
        await asyncio.gather(*(user(http, k, functions) for k in range(clients)))
    return {"latencies": latencies, "errors": errors, "wall": time.perf_counter() - started}


TRAIN_SETTINGS_DEFAULT = [50, ["rnn", "lstm", "gru"], 60]   # what the tab's sliders start at


def train_settings(people: int, same: bool, seed: int = 0) -> list[list]:
    """What `people` pressing Train send: all the defaults, or each their own settings."""
    if same:
        return [list(TRAIN_SETTINGS_DEFAULT) for _ in range(people)]
    rng = random.Random(seed)
    cells = [["rnn", "lstm", "gru"], ["rnn", "gru"], ["lstm"], ["gru"], ["rnn", "lstm", "gru", "bag"]]
    choices = [(length, kinds) for length in (10, 20, 30, 50, 75, 100, 150, 200) for kinds in cells]
    if people > len(choices):
        raise ValueError(f"at most {len(choices)} different settings")
    # all different: the worst case for sharing
    return [[length, list(kinds), 60] for length, kinds in rng.sample(choices, people)]


async def train_room(url: str, settings: list[list]) -> dict:
    """Everyone presses Train at once; seconds to each one's first curve and to each finished run."""
    url = check_local(url)
    first, finished, steps, errors = [], [], [], []

    async def person(http, data):
        try:
            result, timing = await call(http, url, "train_memory", data, timeout=600)
            first.append(timing.first_update if timing.first_update is not None else timing.finished)
            finished.append(timing.finished)
            steps.append(result[3]["steps"])
        except Exception as e:  # noqa: BLE001 - counted
            errors.append(f"{type(e).__name__}: {e}")

    started = time.perf_counter()
    async with new_client(len(settings)) as http:
        await asyncio.gather(*(person(http, d) for d in settings))
    return {"first": first, "finished": finished, "steps": steps, "errors": errors,
            "wall": time.perf_counter() - started}


def percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:7860")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--train", type=int, default=0, help="people pressing Train at once (0: mixed load)")
    parser.add_argument("--same", action="store_true", help="everyone trains the default settings")
    parser.add_argument("--route", choices=("queue", "call"), default="queue",
                        help="mixed load: one queue session per user (default), or the plain route per request")
    opts = parser.parse_args()
    if opts.train:
        out = asyncio.run(train_room(opts.url, train_settings(opts.train, opts.same)))
        print(f"{opts.train} × Train ({'same' if opts.same else 'different'} settings): "
              f"errors {len(out['errors'])}; first curve max {max(out['first'], default=float('nan')):.1f} s, "
              f"p50 {statistics.median(out['first'] or [float('nan')]):.1f} s; finished max "
              f"{max(out['finished'], default=float('nan')):.1f} s; steps median "
              f"{statistics.median(out['steps'] or [0]):.0f}; wall {out['wall']:.0f} s")
        for e in out["errors"][:5]:
            print("  ", e)
    else:
        out = asyncio.run(mixed_load(opts.url, opts.clients, opts.requests, route=opts.route))
        lat = out["latencies"]
        print(f"{opts.clients} × {opts.requests} mixed ({opts.route}): errors {len(out['errors'])}; p50 "
              f"{statistics.median(lat):.2f} s, p95 {percentile(lat, 0.95):.2f} s; wall {out['wall']:.0f} s")
        for e in out["errors"][:5]:
            print("  ", e)


if __name__ == "__main__":
    main()
