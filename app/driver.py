"""Drive the explorer in headless Chromium: the browser tests and ``benchmarks/browser_latency.py`` share it.

:func:`serve` starts ``streamlit run app/main.py`` on a free 127.0.0.1 port in its own process group and
stops it afterwards; pages are Debian's ``/usr/bin/chromium`` driven by pip playwright (never
``playwright install``). Every completed script run raises ``#tfe-ready``'s ``data-run``, which is how
a caller knows the page has finished reacting.
"""
from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--no-first-run",
        "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]
START_TIMEOUT_MS = 240_000
RUN_TIMEOUT_MS = 120_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_http(port: int, proc: subprocess.Popen, deadline_s: float) -> None:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError("streamlit did not start listening")


@contextlib.contextmanager
def serve(log: Path) -> Iterator[str]:
    """The explorer's URL while it runs (output to ``log``); stopped, process group and all, on exit."""
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.address", "127.0.0.1",
             "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_http(port, proc, 120)
        yield f"http://127.0.0.1:{port}"
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=10)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue


def run_id(page) -> int:
    """How many script runs this page's session has completed."""
    return int(page.get_attribute("#tfe-ready", "data-run"))


def wait_next_run(page, before: int) -> None:
    """Until a run after ``before`` has completed and nothing is running."""
    page.wait_for_function(
        f"() => {{ const e = document.querySelector('#tfe-ready'); return e && +e.dataset.run > {before}; }}",
        timeout=RUN_TIMEOUT_MS)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
                           " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText"
                           ".includes('Running')", timeout=RUN_TIMEOUT_MS)


@contextlib.contextmanager
def browser_page(url: str, width: int, height: int, color_scheme: str = "light"):
    """A fresh chromium page at ``url`` once the app's sentinel is there, its system colour preference
    ``color_scheme`` ("light" or "dark": the app's theme follows it); the browser closes afterwards."""
    from playwright import sync_api

    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height}, color_scheme=color_scheme)
            page.set_default_timeout(RUN_TIMEOUT_MS)  # a busy machine: clicks may wait for a slow rerun
            page.goto(url)
            page.wait_for_selector("#tfe-ready", state="attached", timeout=START_TIMEOUT_MS)
            yield page
        finally:
            browser.close()
