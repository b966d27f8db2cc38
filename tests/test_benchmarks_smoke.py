"""The benchmarks still run: each in --quick mode (tiny sizes), and the runner that finds them all."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import __main__ as runner
from benchmarks._harness import SHARED, Report, format_table, interleave

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bench_pages", "bench_large_results", "bench_ocr", "bench_tracker", "bench_office",
                                  "bench_group"])
def test_benchmark_runs_in_quick_mode_and_writes_its_rows(tmp_path, name):
    if name == "bench_office" and not ((SHARED / "realdocs-dev").is_dir() and shutil.which("soffice")):
        pytest.skip("bench_office needs ../shared/realdocs-dev and LibreOffice")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT), "DOCCONVERT_BENCH_RESULTS": str(tmp_path)}
    done = subprocess.run([sys.executable, f"benchmarks/{name}.py", "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    (result,) = tmp_path.glob("*.quick.json")
    data = json.loads(result.read_text())
    assert data["quick"] is True and len(data["load_start"]) == 3 and data["machine"]["cores"]
    assert data["rows"], data
    measured = [row for row in data["rows"] if row["ours_value"] is not None]
    assert measured and all(row["metric"] and row["peer"] for row in data["rows"])
    assert "ratio" in done.stdout


def test_the_runner_finds_every_bench_file_and_how_to_run_it(tmp_path):
    names = [path.stem for path in runner.discover()]
    assert {"bench_pages", "bench_large_results", "bench_ocr", "bench_tracker", "bench_office"} <= set(names)
    (tmp_path / "bench_plain.py").write_text("print('hi')\n")
    (tmp_path / "bench_declared.py").write_text("RUNS = [['a'], ['b', '--x']]\nQUICK_RUNS = [['a', '--n', 1]]\n")
    (tmp_path / "bench_flag.py").write_text("import argparse\n# accepts --quick\n")
    assert runner.runs_for(tmp_path / "bench_plain.py", quick=False) == [[]]
    assert runner.runs_for(tmp_path / "bench_plain.py", quick=True) == [[]]
    assert runner.runs_for(tmp_path / "bench_flag.py", quick=True) == [["--quick"]]
    assert runner.runs_for(tmp_path / "bench_declared.py", quick=False) == [["a"], ["b", "--x"]]
    assert runner.runs_for(tmp_path / "bench_declared.py", quick=True) == [["a", "--n", "1"]]


def test_the_readme_section_is_replaced_in_place(tmp_path, monkeypatch):
    report = Report("demo")
    report.row("s/page", "tool", 2.0, 1.0, unit="s")
    report.row("pages/s", "tool", 1.0, 3.0, unit="pages/s", higher_is_better=True)
    data = {**report.to_dict(), "_file": "demo.json"}
    runs = [{"benchmark": "bench_demo", "command": "bench_demo.py", "exit": 0, "seconds": 1.0},
            {"benchmark": "bench_quiet", "command": "bench_quiet.py", "exit": 0, "seconds": 2.0},
            {"benchmark": "bench_broken", "command": "bench_broken.py", "exit": 1, "seconds": 3.0}]
    section = runner.markdown_section([data], runs, "python -m benchmarks", 0.0)
    assert "| s/page | tool | 2 s | 1 s | 2.00× |" in section
    assert "3.00×" in section and "bench_quiet.py` ran" in section and "`bench_broken.py` (1)" in section
    readme = tmp_path / "README.md"
    readme.write_text(f"# Benchmarks\n\nintro\n\n{runner.START}\nold\n{runner.END}\n\nafter\n")
    monkeypatch.setattr(runner, "README", readme)
    runner.update_readme(section)
    text = readme.read_text()
    assert "old" not in text and "intro" in text and "after" in text and text.count(runner.START) == 1


def test_ratios_read_as_how_many_times_better_ours_is():
    report = Report("demo")
    slower = report.row("s", "peer", 1.0, 2.0, unit="s")
    faster = report.row("pages/s", "peer", 1.0, 4.0, higher_is_better=True)
    missing = report.row("x", "peer", None, 1.0)
    assert slower.ratio == 0.5 and faster.ratio == 4.0 and missing.ratio is None
    assert "0.50×" in format_table([slower.to_dict()])


def test_interleaving_alternates_the_order():
    calls = []
    times = interleave({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=4)
    assert calls == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert [len(v) for v in times.values()] == [4, 4]
