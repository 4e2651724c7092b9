"""A class opening the shared link at once, measured at the server: ``students`` sessions that speak the
explorer's own websocket protocol (Streamlit's ``/_stcore/stream``, protobuf ``BackMsg``/``ForwardMsg``),
so the numbers are the server's, not those of 30 browsers on the same 2 cores.

    OMP_NUM_THREADS=1 python benchmarks/class_load.py [--students 30] [--n-points 1500]

Starts the app (``app/driver.py``), opens one session and waits for its first run (warm caches, the
memory of one session), then opens ``--students`` sessions together, each with its own angle in its URL,
and times each from its connection to the end of its first script run. Prints the median, p95 and worst
time, failures, and the server's resident memory after one session and after the class (issue target:
p95 <= 5 s for 30 at once on this 2-core machine, no failures, memory bounded).
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the app package, next to benchmarks/
from app.driver import serve  # noqa: E402

RUN_TIMEOUT_S = 300


async def first_run(url: str, query: str) -> float:
    """Seconds from opening a session with URL query ``query`` to the end of its first script run."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect

    start = time.perf_counter()
    async with connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                       max_size=None, open_timeout=RUN_TIMEOUT_S) as socket:
        request = BackMsg()
        request.rerun_script.query_string = query
        await socket.send(request.SerializeToString())
        async for raw in socket:
            message = ForwardMsg()
            message.ParseFromString(raw)
            if message.WhichOneof("type") == "script_finished":
                if message.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                    raise RuntimeError(f"the script ended with status {message.script_finished}")
                return time.perf_counter() - start
    raise RuntimeError("the server closed the session before the run finished")


async def a_class(url: str, queries: list) -> list:
    """Every query's first-run time (or the exception), all sessions opened together."""
    runs = [asyncio.wait_for(first_run(url, q), RUN_TIMEOUT_S) for q in queries]
    return await asyncio.gather(*runs, return_exceptions=True)


def server_rss_mb(port: str) -> float:
    """Resident memory of the streamlit process serving ``port`` (from /proc)."""
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmdline) and port.encode() in cmdline:
            status = (proc / "status").read_text()
            return int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--n-points", type=int, default=1500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, serve(Path(tmp) / "server.log") as url:
        port = url.rsplit(":", 1)[1]
        warm = asyncio.run(first_run(url, f"n_points={args.n_points}"))
        one = server_rss_mb(port)
        queries = [f"n_points={args.n_points}&angle={(37 * i) % 360}" for i in range(args.students)]
        results = asyncio.run(a_class(url, queries))
        after = server_rss_mb(port)
    times = sorted(r for r in results if isinstance(r, float))
    failures = [r for r in results if not isinstance(r, float)]
    p95 = times[min(len(times) - 1, int(0.95 * len(times)))] if times else float("nan")
    print(f"{args.students} sessions at once, {args.n_points} points each (first session alone: {warm:.2f} s)")
    print("| sessions | median s | p95 s | worst s | failures | server MB after 1 | after the class |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.students} | {statistics.median(times) if times else float('nan'):.2f} | {p95:.2f} "
          f"| {times[-1] if times else float('nan'):.2f} | {len(failures)} | {one:,.0f} | {after:,.0f} |")
    for failure in failures[:3]:
        print(f"failure: {type(failure).__name__}: {failure}")


if __name__ == "__main__":
    main()
