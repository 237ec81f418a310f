"""Deep-learning architectures gallery: one Gradio app, one tab per model family.

    python app.py                      # http://127.0.0.1:7860
    python app.py --tabs cnn,memory    # only some tabs
    python app.py --host 0.0.0.0 --port 8000

`demo` is built at import time (Hugging Face Spaces and the tests import it). Models load on
first use, or in a background thread after launch: start-up never waits for one.
"""

from __future__ import annotations

import argparse
import errno
import importlib.util
import logging
import os
import sys
import tempfile
import threading

# Offline by default: no usage analytics, no hub look-ups. A user's own setting wins.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The app runs on CPU. transformers imports torch._dynamo, which imports Triton (the GPU kernel
# compiler) only to ask whether it exists: ~46 MB resident and 0.1 s for nothing. A None entry
# makes that `import triton` fail fast, which torch treats as "no Triton".
if os.environ.get("GALLERY_ALLOW_TRITON") != "1":
    sys.modules.setdefault("triton", None)
# Likewise captum imports IPython, where installed, for notebook display helpers the app never
# calls: ~21 MB resident and 0.5 s on the first explanation. Inside a notebook IPython is already
# loaded and stays; elsewhere captum and Gradio treat the failed import as "no notebook".
sys.modules.setdefault("IPython", None)


def _limit_malloc_arenas(arenas: int = 2) -> None:
    """Like MALLOC_ARENA_MAX=2 (and MALLOC_MMAP_THRESHOLD_=1048576): glibc gives threads that allocate
    at the same time their own heap arenas (up to 8 per core), and a many-threaded server's resident
    memory grows with them."""
    if sys.platform.startswith("linux") and "MALLOC_ARENA_MAX" not in os.environ:
        import ctypes

        try:
            libc = ctypes.CDLL("libc.so.6")
            libc.mallopt(-8, arenas)  # -8 = M_ARENA_MAX
            # Blocks of 1 MB and more (a 30-s Whisper pass's activations) come from mmap and go back
            # to the system when freed, instead of staying in the heap: -23 MB kept per transcription.
            if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
                libc.mallopt(-3, 1 << 20)  # -3 = M_MMAP_THRESHOLD
        except (OSError, AttributeError):  # not glibc: nothing to tune
            pass


_limit_malloc_arenas()


def _writable_temp_dir() -> None:
    """Gradio caches every upload and output under GRADIO_TEMP_DIR and fails at start-up when it
    cannot write there. A folder that cannot be written is replaced by a private one, with a warning."""
    folder = os.environ.get("GRADIO_TEMP_DIR")
    if not folder:
        return
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as e:
        fallback = tempfile.mkdtemp(prefix="gallery-gradio-")
        print(f"warning: GRADIO_TEMP_DIR={folder} cannot be written ({e.strerror}); using {fallback}",
              file=sys.stderr)
        os.environ["GRADIO_TEMP_DIR"] = fallback


_writable_temp_dir()

import gradio as gr  # noqa: E402 - must come after the environment above

from apps import Tab, registered_tabs  # noqa: E402
from shared import arrival, atomic_cache, gradio_fixes, lazy, links, overview  # noqa: E402
from shared.spec import MAX_UPLOAD_BYTES  # noqa: E402
from shared.ui import checkpoint_banner  # noqa: E402

log = logging.getLogger("gallery")
atomic_cache.install()  # output images and sounds: no half-written file for a room on one example
gradio_fixes.install()  # small fixes to how Gradio handles hostile requests and sessions (see the module)

CSS = """
.explainer { font-size: 0.95em; opacity: 0.9; }
.checkpoint-error { border-left: 4px solid #d97706; padding-left: 8px; }
/* Gradio lets table cells break anywhere, so a narrow column shows "mode l"; break long words only. */
.prose table th, .prose table td { overflow-wrap: break-word; word-break: normal; }
/* A plot's floating label badge would cover its figure's own title: start the figure below it. */
.block:has(> label.float) .matplotlib { padding-top: 2.6em; }
/* One failure, one message: the toast says what went wrong; Gradio would also stamp a red "Error"
   on every output of the failed event, hiding what they showed before. */
[data-testid="status-tracker"]:has(> span.error) { display: none !important; }
/* Tabs that do not fit the bar (phones, projectors) are behind this button: say so in a word. */
.overflow-menu > button[aria-label="More tabs"] { display: inline-flex; align-items: center; white-space: nowrap; }
.overflow-menu > button[aria-label="More tabs"]::after { content: "more"; margin-left: 6px; font-size: 0.9em; }
.overflow-dropdown button { padding: 10px 14px !important; }
/* A plot with elem_classes="natural-size" is shown at its drawn size (its labels stay >= 11 px); on a
   screen narrower than the figure its box scrolls sideways instead of shrinking it. */
.natural-size .matplotlib { overflow-x: auto; justify-content: flex-start; align-items: flex-start; }
.natural-size .matplotlib img { max-width: none; }
/* A phone's 390 px: the page's side margins would take a sixth of the width. */
@media (max-width: 720px) {
  .gradio-container { padding-left: 6px !important; padding-right: 6px !important; }
  .main .contain { padding: 0 !important; }
}
"""
# Uploads above this are refused by Gradio before any handler runs (shared/spec.py).
MAX_FILE_SIZE = MAX_UPLOAD_BYTES
# Sessions whose state (taught classes, component updates) the server keeps; the oldest is dropped
# first. Gradio's default, 10,000, let API calls from new sessions grow memory by gigabytes.
MAX_SESSIONS = 1_000
# Every 15 minutes, Gradio deletes the files its requests cached (uploads, output pictures) that are
# over an hour old; without it the cache grows by ~12 KB per request for as long as the server runs.
CACHE_CLEANING = (900, 3600)
# Two CPU cores: run at most two model events at once per endpoint, queue the rest.
DEFAULT_CONCURRENCY = 2


def select_tabs(names: list[str] | None) -> list[Tab]:
    """The registered tabs, or the named subset in gallery order; unknown names are an error."""
    tabs = registered_tabs()
    if not names:
        return tabs
    valid = [t.name for t in tabs]
    unknown = [n for n in names if n not in valid]
    if unknown:
        raise ValueError(f"unknown tab(s) {', '.join(unknown)}; valid tabs are: {', '.join(valid)}")
    return [t for t in tabs if t.name in names]


def ping() -> str:
    """Health check: answers 'ok' without touching any model."""
    return "ok"


def build_demo(tab_names: list[str] | None = None) -> gr.Blocks:
    tabs = select_tabs(tab_names)
    with gr.Blocks(title="Deep-learning architectures gallery", delete_cache=CACHE_CLEANING) as demo:
        with gr.Tabs() as tab_bar:
            with gr.Tab("Overview", id="overview"):
                overview_buttons = overview.build(tab_bar, {t.name: t.title for t in tabs})
            built: dict[str, gr.Tab] = {}
            for tab in tabs:
                with gr.Tab(tab.title, id=tab.name, elem_id=f"tab-{tab.name}") as built[tab.name]:
                    checkpoint_banner(tab.checkpoints)
                    try:
                        tab.build()
                    except Exception as e:  # noqa: BLE001 - a broken tab says so; the rest work
                        log.exception("building tab %s failed", tab.name)
                        gr.Markdown(f"⚠️ This tab could not be built: {type(e).__name__}: {e}")
                    arrival.collect(tab.name)
        # Deep links (?tab=..&view=..) on page load, the Overview's buttons, and Back/Forward.
        navigations = links.wire(demo, tab_bar, overview_buttons)
        # Each tab's default answer and pictures, shown when it is first opened (shared/arrival.py).
        arrival.wire(built, navigations)
        # A no-op endpoint: a health check for hosts, and the baseline the latency benchmark compares to.
        gr.api(ping, api_name="ping")
    demo.queue(default_concurrency_limit=DEFAULT_CONCURRENCY)
    demo.gallery_tabs = tabs  # for warm-up and tests
    lazy.FIRST_IMPORTS[:] = ["shared.plots"] + [f"apps.{t.name}.infer" for t in tabs
                                                if importlib.util.find_spec(f"apps.{t.name}.infer")]
    return demo


def file_error_response(request, exc: OSError):
    """A route that fails to store or read a file (a full disk while uploading) answers in one
    sentence instead of a bare "500 Internal Server Error"."""
    from fastapi.responses import JSONResponse

    log.error("%s %s: %s", request.method, request.url.path, exc)
    if exc.errno == errno.ENOSPC:
        return JSONResponse({"detail": "The server's disk is full, so the file could not be stored. "
                                       "Tell whoever runs this app; nothing was changed."}, status_code=507)
    return JSONResponse({"detail": f"The server could not store or read a file ({exc.strerror or type(exc).__name__})."},
                        status_code=500)


def launch(demo: gr.Blocks, **kwargs):
    """Launch with the gallery's settings; tests call this too, so they serve what users get."""
    kwargs.setdefault("max_file_size", MAX_FILE_SIZE)
    kwargs.setdefault("app_kwargs", {"exception_handlers": {OSError: file_error_response}})
    kwargs.setdefault("css", CSS)
    kwargs.setdefault("head", links.HEAD)  # keeps ?tab=..&view=.. in the address bar (shared/links.py)
    kwargs.setdefault("theme", gr.themes.Soft())
    kwargs.setdefault("show_error", True)
    kwargs.setdefault("ssr_mode", False)  # SSR needs Node at run time; plain serving starts faster
    # Gradio runs every sync handler step in one pool of 40 threads (starlette's default). A live
    # training watcher holds one while it waits for its next curve, and a room of 30 may watch at
    # once (apps/memory: up to 32): 80 leaves the other tabs the 40 they had.
    kwargs.setdefault("max_threads", 80)
    kwargs.setdefault("state_session_capacity", MAX_SESSIONS)
    return demo.launch(**kwargs)


def warm_up_in_background(demo: gr.Blocks) -> threading.Thread:
    """Load every tab's models after launch so the first click is fast; errors only log."""
    def run():
        lazy.import_model_code()
        for tab in getattr(demo, "gallery_tabs", []):
            if tab.warmup is not None:
                try:
                    tab.warmup()
                except Exception:  # noqa: BLE001 - the tab reports it when used
                    log.warning("warm-up of tab %s failed", tab.name, exc_info=True)
            arrival.warm(tab.name)  # its default views, cached for the first visitor who opens it
    thread = threading.Thread(target=run, name="warm-up", daemon=True)
    thread.start()
    return thread


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Deep-learning architectures gallery")
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
                        help="interface to serve on (0.0.0.0 for a room; default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)),
                        help="port (default 7860, or $GRADIO_SERVER_PORT)")
    parser.add_argument("--share", action="store_true", help="ask Gradio for a public share link (needs internet)")
    parser.add_argument("--tabs", default=None,
                        help="comma-separated subset of tabs to show, e.g. cnn,memory")
    parser.add_argument("--no-warmup", action="store_true", help="load models on first use only")
    return parser.parse_args(argv)


demo = build_demo()

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    args = parse_args()
    if args.tabs:
        try:
            demo = build_demo([n.strip() for n in args.tabs.split(",") if n.strip()])
        except ValueError as e:
            sys.exit(f"error: {e}")
    try:
        launch(demo, server_name=args.host, server_port=args.port, share=args.share,
               prevent_thread_lock=True)
    except OSError as e:  # Gradio's own message names its `server_port` argument, not our flag
        sys.exit(f"error: cannot serve on {args.host}:{args.port} ({e.__class__.__name__}: the port is "
                 "probably in use by another program, or another copy of this app). "
                 "Choose another with --port, e.g. --port 7861.")
    if not args.no_warmup:
        warm_up_in_background(demo)
    demo.block_thread()
