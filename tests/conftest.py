"""Shared fixtures: the gallery served once per session, a gradio_client on it, and Chromium.

Every test runs offline: `block_outbound_network` refuses any socket connection that is not to
loopback, so a hidden download or phone-home fails the suite instead of passing on a dev box.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile
import time
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Gradio's cache folder, named once: `contained_temp_files` moves the temp dir during the session,
# and Gradio would then look for the files it created (under the old temp dir) in the new one and
# refuse to send them ("not created by the application").
os.environ.setdefault("GRADIO_TEMP_DIR", str(Path(tempfile.gettempdir()) / "gradio"))

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
outbound_attempts: list[object] = []


def _is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost would need DNS: outbound


def _guarded_connect(self, address):
    if not _is_local(address):
        outbound_attempts.append(address)
        raise ConnectionRefusedError(f"tests run offline: outbound connection to {address!r} blocked")
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    if not _is_local(address):
        outbound_attempts.append(address)
        return 111  # ECONNREFUSED
    return _real_connect_ex(self, address)


@pytest.fixture(scope="session", autouse=True)
def block_outbound_network():
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    yield outbound_attempts
    socket.socket.connect = _real_connect
    socket.socket.connect_ex = _real_connect_ex


@pytest.fixture(scope="session", autouse=True)
def contained_temp_files(tmp_path_factory):
    """gradio_client downloads every output file through a new folder in the temp dir and leaves
    that folder behind (about 180 a run in /tmp). Keep them in pytest's own temp dir, which pytest prunes."""
    original = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tmp"))
    yield
    tempfile.tempdir = original


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _patient_url_ok(url: str) -> bool:
    """Gradio's launch check gives the page 3 s; on a loaded 2-core machine the first render of
    the full gallery can take longer, which made the fixture flaky. Same check, 60 s."""
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.head(url, timeout=30).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


@pytest.fixture(scope="session")
def gallery(block_outbound_network):
    """The full app (all registered tabs) served on 127.0.0.1; yields its URL."""
    import gradio.networking

    import app

    gradio.networking.url_ok = _patient_url_ok

    app.launch(app.demo, server_name="127.0.0.1", server_port=free_port(),
               prevent_thread_lock=True, quiet=True)
    yield app.demo.local_url.rstrip("/")
    app.demo.close()


@pytest.fixture(scope="session")
def client(gallery):
    from gradio_client import Client

    # httpx's default 5 s timeout fails the config fetch of the full gallery on a busy 2-core machine
    return Client(gallery, verbose=False, download_files=str(ARTIFACTS / "client_downloads"),
                  httpx_kwargs={"timeout": 120})


@pytest.fixture(scope="session")
def playwright():
    """One Playwright driver per session (the sync API cannot be started twice in one process)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (see .ci/run)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright):
    """Debian's Chromium driven by Playwright (Playwright's own browser download is not possible here)."""
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, gallery):
    """A fresh page on the gallery; console errors are collected in page.console_errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    page.goto(gallery)
    # Generous: on a loaded 2-core machine the first render of the whole gallery can take a minute.
    page.wait_for_selector("button[role='tab']", timeout=120_000)
    # The tab bar renders before the Overview's content ("Loading..."): wait for the content too.
    page.get_by_text("Where each model is used").first.wait_for(timeout=120_000)
    yield page
    context.close()


def open_tab(page, title_fragment: str) -> None:
    """Click the tab whose header contains `title_fragment`, also when Gradio has moved it into
    the "…" overflow menu (the gallery has more tabs than fit on one row)."""
    if page.get_by_role("tab", name=title_fragment).count():
        page.get_by_role("tab", name=title_fragment).first.click()
    else:
        page.locator(".overflow-menu button").first.click()
        page.locator(".overflow-dropdown").get_by_text(title_fragment).first.click()
    page.wait_for_timeout(300)


def draw_stroke(page, points, steps: int = 10) -> None:
    """Drag the mouse through `points` (page coordinates), as a user drawing on a canvas."""
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


def plot_labels_over_figures(page, scope: str) -> list[str]:
    """Labels of the plots under `scope` whose floating badge overlaps the figure (its title)."""
    return page.evaluate("""scope => [...document.querySelectorAll(scope + ' .block')].flatMap(block => {
        const label = block.querySelector(':scope > label.float'), img = block.querySelector('.matplotlib img');
        if (!label || !img || label.offsetParent === null || img.offsetParent === null) return [];
        return label.getBoundingClientRect().bottom > img.getBoundingClientRect().top + 1 ? [label.innerText] : [];
    })""", scope)


def app_errors(page) -> list[str]:
    """The page's console errors, less the browser's request for a favicon the app does not serve
    and the requests a test cuts short by navigating away ("AbortError: signal is aborted")."""
    return [e for e in page.console_errors
            if "Error" in e and "favicon" not in e and "signal is aborted" not in e]


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
