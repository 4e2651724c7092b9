"""Smoke test of ``tensorframes bench``: it runs, prints one table and writes every row (never timed)."""
import contextlib
import io
import json

import pytest
import torch

from tensorframes_core import bench


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "bench.json"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = bench.main(["--quick", "--device", "cpu", "--json", str(path)])
    return code, out.getvalue(), json.loads(path.read_text())


def test_quick_run_prints_one_table_and_writes_json(quick_run):
    code, printed, result = quick_run
    assert code == 0
    assert printed.startswith("device: ")
    assert printed.count("| section |") == 1
    rows, meta = result["rows"], result["meta"]
    assert meta["profile"]["name"] == "quick" and meta["torch"] == torch.__version__
    assert "--quick" in meta["command"]
    errors = [r for r in rows if r["note"].startswith("error")]
    assert not errors, errors
    names = {(r["section"], r["name"]) for r in rows}
    for section in ("s1", "s2"):
        for arch in bench.ARCHS:
            for mode, frames in bench.VARIANTS:
                for step in ("train", "infer"):
                    assert (section, f"{step} {arch} {mode}/{frames}") in names
    assert {r["section"] for r in rows} == set(bench.SECTIONS)
    s3 = [r for r in rows if r["section"] == "s3"]
    assert len(s3) == 1 and s3[0]["ms"] is None and "GPU only" in s3[0]["note"]
    timed = [r for r in rows if r["section"] != "s3" and not r["note"].startswith("skipped")]
    assert all(r["ms"] is not None and r["ms"] >= 0 for r in timed)
    baselines = [r for r in rows if r["section"] == "s1" and "baseline/" in r["name"]]
    assert all(r["ratio"] == pytest.approx(1.0) and r["vs"] == "baseline" for r in baselines)
    peer = [r["name"] for r in rows if r["section"] == "peer"]
    assert any("e3nn" in name for name in peer)


def test_table_lists_every_row(quick_run):
    _, printed, result = quick_run
    table = bench.format_table([bench.Row(**r) for r in result["rows"]])
    assert table in printed
    lines = table.splitlines()
    assert len(lines) == len(result["rows"]) + 2  # header and rule
    assert lines[0].startswith("| section | name")
    assert len({line.count("|") for line in lines}) == 1  # one table, same columns everywhere


def test_peer_row_is_skipped_without_e3nn(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_e3nn(name, *args, **kwargs):
        if name == "e3nn" or name.startswith("e3nn."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_e3nn)
    timer = bench.Timer(torch.device("cpu"), repeats=1, warmup=0)
    rows = bench.peer_rows(1, 40, torch.device("cpu"), timer)
    skipped = [r for r in rows if "e3nn" in r.name]
    assert len(skipped) == 2 and all(r.ms is None and r.note.startswith("skipped") for r in skipped)


def test_bad_arguments_are_rejected():
    with pytest.raises(SystemExit):
        bench.parse_args(["--only", "s9"])
