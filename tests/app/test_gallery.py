"""The gallery as users meet it: served over HTTP, in Chromium, and with networking off."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.conftest import ROOT, free_port, open_tab


def test_every_tab_renders_without_console_errors(page, artifacts):
    import app

    titles = ["Overview"] + [t.title for t in app.demo.gallery_tabs]
    for i, title in enumerate(titles):
        open_tab(page, title)
        page.wait_for_timeout(800)
        page.screenshot(path=str(artifacts / f"tab-{i}-{title.split()[-1].lower()}.png"), full_page=True)
        body = page.inner_text("body")
        assert "could not be built" not in body, f"tab {title} failed to build"
        assert "Error" not in page.locator(".toast-wrap").inner_text() if page.locator(".toast-wrap").count() else True
    assert page.console_errors == [], page.console_errors


def test_overview_lists_the_course_table_goals_and_shipped_models(page):
    text = page.inner_text("body")
    for phrase in ("Where each model is used", "Learning goals", "Shipped models",
                   "Time series and speech", "The intuition behind attention"):
        assert phrase in text
    # The table is generated from every card (the browser renders only the rows in view).
    import app
    from shared.checkpoints import all_cards
    tables = [c["props"]["value"] for c in app.demo.config["components"] if c.get("type") == "dataframe"]
    shown = {row[1] for table in tables for row in table["data"]}
    assert {card["name"] for card in all_cards()} <= shown
    assert all_cards()[0]["name"] in text


def test_overview_buttons_open_their_tabs(page):
    import app

    for tab in app.demo.gallery_tabs[:2]:
        page.get_by_role("button", name=f"Open {tab.title} →").first.click()
        # Waits for the tab header to become the selected one (fails after 20 s if it never does).
        page.wait_for_selector(f"button[role='tab'][data-tab-id='{tab.name}'][aria-selected='true']",
                               timeout=20_000)
        open_tab(page, "Overview")


def test_api_lists_named_endpoints_only(client):
    info = client.view_api(return_format="dict", print_info=False)
    names = list(info["named_endpoints"])
    assert not info["unnamed_endpoints"]
    for name in names:
        # Auto-generated names look like '/lambda' or '/fn_3': every public event names itself.
        assert name not in ("/lambda", "/predict") and not name.startswith("/lambda_"), names


def test_app_serves_with_networking_off_and_connects_nowhere(tmp_path):
    """Run the real CLI in a network namespace that has only loopback, auditing every connect."""
    port = free_port()
    log = tmp_path / "connects.jsonl"
    bootstrap = (
        "import sys, json, runpy\n"
        f"log = open({str(log)!r}, 'a')\n"
        "def audit(event, args):\n"
        "    if event == 'socket.connect':\n"
        "        log.write(json.dumps(str(args[1])) + '\\n'); log.flush()\n"
        "sys.addaudithook(audit)\n"
        f"sys.argv = ['app.py', '--port', '{port}']\n"
        "runpy.run_path('app.py', run_name='__main__')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADIO_", "HF_"))}
    isolated = _can_unshare()
    command = [sys.executable, "-c", bootstrap]
    if isolated:  # unshare and sh exec into python, so server.pid is the server inside the namespace
        command = ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *command]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert _wait_for_http(server, port, isolated, timeout=90) == 200
        time.sleep(3)  # background warm-up runs now: it must not reach out either
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode(errors="replace")
    attempts = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    outbound = [a for a in attempts if not a.startswith(("('127.0.0.1'", "('::1'", "('localhost'", "/"))]
    assert outbound == [], f"outbound connections attempted: {outbound}\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]


def _can_unshare() -> bool:
    try:
        return subprocess.run(["unshare", "--net", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _wait_for_http(server: subprocess.Popen, port: int, isolated: bool, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    probe = f"import urllib.request as u; print(u.urlopen('http://127.0.0.1:{port}/', timeout=2).status)"
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"server exited: {server.stdout.read().decode()[-3000:]}")
        # Ask from inside the server's namespace when it has one (its loopback is its own).
        command = [sys.executable, "-c", probe]
        if isolated:
            command = ["nsenter", "--target", str(server.pid), "--net", *command]
        answer = subprocess.run(command, capture_output=True, text=True, timeout=20).stdout.strip()
        if answer.isdigit():
            return int(answer)
        time.sleep(0.5)
    raise AssertionError("server did not answer in time")


def test_overview_starts_with_a_path_through_the_module(page):
    """Issue 19: "Start here" comes before the reference lists, one deep link per step, in the module's order."""
    page.wait_for_selector("#start-here a", timeout=20_000)
    text = page.inner_text("body")
    assert text.index("Start here") < text.index("Where each model is used") < text.index("Learning goals")
    hrefs = page.eval_on_selector_all("#start-here a", "links => links.map(a => a.getAttribute('href'))")
    tabs = [h.split("tab=")[1].split("&")[0] for h in hrefs]
    assert tabs[:3] == ["forecast", "memory", "transformer"] and "cnn" in tabs, hrefs
