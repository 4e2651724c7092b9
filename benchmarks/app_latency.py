"""How long the explorer takes to show a new picture after a widget moves (issue 4's 1 s target).

Drives ``app/main.py`` in-process with Streamlit's AppTest (no browser), on the target setting:
``--points`` (5,000) of a gallery shape through dgcnn tensor frames. For each kind of change it
times the full script run (everything the server does before the browser gets the new page):

* ``picture``: a slider that only changes the drawing (point size): every model output is cached;
* ``rotate``: the rotation angle: the model runs once more, on the newly transformed cloud;
* ``new cloud``: the seed: a new cloud, so the model runs twice (on x and on g x).

and, for the rotate case, the stages on their own (one model forward with its aux outputs, the
scene, the plotly figure as JSON). With ``--browser`` (pip playwright and /usr/bin/chromium) it also
starts ``streamlit run`` on 127.0.0.1 and times, in headless Chromium, a key press on the angle
slider until the page's sentinel reports the finished run and two animation frames have been drawn.
Medians over ``--repeats`` changes after one warm-up.

    OMP_NUM_THREADS=2 .venv/bin/python benchmarks/app_latency.py
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start)


def _median_ms(fn, repeats: int) -> float:
    return statistics.median(_timed(fn) for _ in range(repeats))


def script_runs(points: int, arch: str, repeats: int) -> dict:
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=300)
    for name, value in {"n_points": points, "arch": arch, "mode": "tensor_frames", "shape": "torus", "angle": 0}.items():
        at.query_params[name] = str(value)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    angles = iter(range(5, 360, 5))
    seeds = iter(range(1, 100))
    sizes = iter(list(range(2, 9)) * 10)

    def rotate():
        at.slider(key="angle").set_value(next(angles)).run()

    def picture():
        at.slider(key="point_size").set_value(next(sizes)).run()

    def new_cloud():
        at.number_input(key="seed").set_value(next(seeds)).run()

    rows = {}
    for name, fn in (("picture", picture), ("rotate", rotate), ("new cloud", new_cloud)):
        fn()  # warm-up: first use of a code path
        rows[name] = _median_ms(fn, repeats)
        assert not at.exception, [e.value for e in at.exception]
    return rows


def stages(points: int, arch: str, repeats: int) -> dict:
    from app import pipeline, render, scene
    from app.settings import Settings

    s = Settings(n_points=points, arch=arch, mode="tensor_frames", shape="torus", angle=40)
    cloud = pipeline.gallery_cloud.__wrapped__(s.shape, s.n_points, s.noise, s.seed)
    loaded = pipeline.shared_model.__wrapped__(s.arch, s.mode, s.frames)
    g = pipeline.transform_of(s)
    moved = pipeline.apply(g, cloud.pos)
    forward = _median_ms(lambda: pipeline.predict.__wrapped__("k", loaded.model, moved), repeats)  # uncached
    results = pipeline.run(cloud, g, loaded)
    built = scene.build_scene(results, s)
    return {
        "forward with aux": forward,
        "scene": _median_ms(lambda: scene.build_scene(results, s), repeats),
        "plotly figure to JSON": _median_ms(lambda: render.plotly_figure(built).to_json(), repeats),
    }


def browser_rotate(points: int, arch: str, repeats: int) -> float:
    """Median ms from an angle-slider key press to the finished run plus two drawn frames, in Chromium."""
    import os
    import signal
    import socket
    import subprocess

    from playwright.sync_api import sync_playwright

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app/main.py", "--server.port", str(port),
                               "--server.address", "127.0.0.1", "--server.headless", "true"],
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless=new", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
                "--enable-unsafe-swiftshader", "--disable-background-networking", "--no-first-run"])
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            for _ in range(60):
                try:
                    page.goto(f"http://127.0.0.1:{port}/?n_points={points}&arch={arch}&mode=tensor_frames&angle=0")
                    break
                except Exception:  # noqa: BLE001 - the server is still starting
                    time.sleep(1)
            page.wait_for_selector("#tfe-ready", state="attached", timeout=300_000)
            page.wait_for_function("() => document.querySelector('.js-plotly-plot canvas')", timeout=300_000)
            slider = page.get_by_role("slider", name="Angle (°)")
            times = []
            for _ in range(repeats + 1):
                before = int(page.get_attribute("#tfe-ready", "data-run"))
                slider.focus()
                start = time.perf_counter()
                page.keyboard.press("ArrowRight")
                page.wait_for_function(
                    f"() => +document.querySelector('#tfe-ready').dataset.run > {before} && "
                    "!document.querySelector('[data-testid=\"stStatusWidget\"]')?.innerText.includes('Running')",
                    timeout=120_000)
                page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
                times.append(1000 * (time.perf_counter() - start))
            browser.close()
        return statistics.median(times[1:])
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--points", type=int, default=5000)
    parser.add_argument("--arch", default="dgcnn")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--browser", action="store_true", help="also time it end to end in headless Chromium")
    args = parser.parse_args()
    import torch

    runs = script_runs(args.points, args.arch, args.repeats)
    parts = stages(args.points, args.arch, args.repeats)
    if args.browser:
        runs["rotate, in Chromium until drawn"] = browser_rotate(args.points, args.arch, args.repeats)
    print(f"{args.arch} tensor_frames, {args.points:,} points, torch {torch.__version__}, "
          f"{torch.get_num_threads()} thread(s), median of {args.repeats}")
    print("| change | ms | target |\n|---|---|---|")
    for name, ms in runs.items():
        what = name if "Chromium" in name else f"{name} (full script run)"
        print(f"| {what} | {ms:.0f} | <= 1000: {'met' if ms <= 1000 else 'MISSED'} |")
    for name, ms in parts.items():
        print(f"| rotate: {name} | {ms:.0f} | |")


if __name__ == "__main__":
    main()
