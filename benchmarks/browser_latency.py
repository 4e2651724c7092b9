"""The explorer's speed as a student feels it: from the key press (or the page load) to the end of the
script run, measured in headless Chromium against a local server (``app/driver.py``).

    OMP_NUM_THREADS=1 python benchmarks/browser_latency.py [--repeats 5]

Prints one row per case with the median and the worst of ``--repeats`` tries and the issue's target:
a slider step at 1,500 and 5,000 points (DGCNN with tensor frames, plotly), a change that only touches
the picture (point size), the first load of a fresh page on a warm server, and the first Charts toggle
(the chair at 5,000 points; it shows a spinner). Needs /usr/bin/chromium and pip playwright.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the app package, next to benchmarks/
from app.driver import RUN_TIMEOUT_MS, browser_page, run_id, serve, wait_next_run  # noqa: E402

SLIDER = "?arch=dgcnn&mode=tensor_frames&shape=chair&angle=0&n_points={n}"


def _step(page, slider: str, key: str = "ArrowRight") -> float:
    """Seconds from pressing ``key`` on the slider called ``slider`` to the end of the run it starts."""
    handle = page.get_by_role("slider", name=slider)
    handle.focus()
    before = run_id(page)
    start = time.perf_counter()
    page.keyboard.press(key)
    wait_next_run(page, before)
    return time.perf_counter() - start


def slider_steps(url: str, n: int, slider: str, repeats: int) -> list:
    with browser_page(url + SLIDER.format(n=n), 1500, 1000) as page:
        page.locator(".js-plotly-plot").first.wait_for(timeout=RUN_TIMEOUT_MS)
        _step(page, slider)  # the first step fills the caches for this state
        return [_step(page, slider) for _ in range(repeats)]


def first_loads(url: str, repeats: int) -> list:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        with browser_page(url, 1500, 1000) as page:
            page.locator(".js-plotly-plot").first.wait_for(timeout=RUN_TIMEOUT_MS)
            times.append(time.perf_counter() - start)
    return times


def first_charts(url: str, repeats: int) -> list:
    times = []
    for seed in range(repeats):  # a new seed each time: a first toggle, not a cached one
        with browser_page(url + SLIDER.format(n=5000) + f"&seed={seed + 1}", 1500, 1000) as page:
            page.get_by_role("tab", name="Charts").click()
            before = run_id(page)
            start = time.perf_counter()
            page.get_by_text("Compute the comparison charts").click()
            wait_next_run(page, before)
            page.locator(".js-plotly-plot").nth(1).wait_for(timeout=RUN_TIMEOUT_MS)
            times.append(time.perf_counter() - start)
    return times


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "server.log") as url:
        first_loads(url, 1)  # warm the server: models and caches
        rows = [
            ("slider step (angle), 1,500 points", slider_steps(url, 1500, "Angle (°)", args.repeats), 0.5),
            ("slider step (angle), 5,000 points", slider_steps(url, 5000, "Angle (°)", args.repeats), 1.0),
            ("picture only (point size), 1,500 points", slider_steps(url, 1500, "Point size", args.repeats), 0.3),
            ("first load of a new page (warm server)", first_loads(url, args.repeats), 5.0),
            ("first Charts toggle, chair, 5,000 points", first_charts(url, max(1, args.repeats // 2)), 5.0),
        ]
    print("| case | median s | worst s | target s | met |\n|---|---|---|---|---|")
    for label, times, target in rows:
        med, worst = statistics.median(times), max(times)
        print(f"| {label} | {med:.2f} | {worst:.2f} | <= {target:g} | {'yes' if med <= target else 'no'} |")


if __name__ == "__main__":
    main()
