"""Run every benchmark, one after the other, and keep the latest table in benchmarks/README.md.

    .venv/bin/python -m benchmarks                 # all of them (under 20 minutes on 2 cores)
    .venv/bin/python -m benchmarks --quick         # tiny sizes: does each still run? (seconds each)
    .venv/bin/python -m benchmarks ocr pages       # only bench_ocr.py and bench_pages.py
    .venv/bin/python -m benchmarks --list

Every ``benchmarks/bench_*.py`` is found and run as its own process (so one
benchmark's memory or crash never touches another's figures), from the
repository root with it first on ``PYTHONPATH``. A benchmark says how it is
run with module-level literals the runner reads without importing it::

    RUNS = [["robustness"], ["icdar", "--mode", "pdf"]]   # one process per argument list
    QUICK_RUNS = [["robustness", "--limit", "2"]]          # the same for --quick
    TIMEOUT = 400                                          # seconds per process

Without them it is run once with no arguments (with ``--quick`` in quick mode
when its source mentions that flag). Each benchmark writes its JSON to
``benchmarks/results/``; after a full run the tables of every JSON written
in that run (those of :mod:`benchmarks._harness` shape) replace the results
section of ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from ._harness import RESULTS, ROOT, describe_machine, format_table, load, machine, python_env

HERE = Path(__file__).resolve().parent
README = HERE / "README.md"
START, END = "<!-- results:start -->", "<!-- results:end -->"
DEFAULT_TIMEOUT = 600.0

#: How to run benchmarks written before this runner, until they declare RUNS themselves.
KNOWN_RUNS: dict[str, dict[str, list[list[str]]]] = {
    "bench_tables": {
        "RUNS": [["robustness"], ["icdar", "--mode", "pdf"], ["icdar", "--mode", "png"]],
        "QUICK_RUNS": [["robustness", "--limit", "2"]],
    },
    "bench_dask": {"QUICK_RUNS": [["--jobs", "100"]]},
}


def discover(directory: Path = HERE) -> list[Path]:
    return sorted(directory.glob("bench_*.py"))


def declared(path: Path) -> dict[str, object]:
    """The RUNS / QUICK_RUNS / TIMEOUT literals of a benchmark file (without importing it)."""
    found: dict[str, object] = dict(KNOWN_RUNS.get(path.stem, {}))
    try:
        tree = ast.parse(path.read_text(), str(path))
    except SyntaxError:
        return found
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        for target in targets:
            if isinstance(target, ast.Name) and target.id in ("RUNS", "QUICK_RUNS", "TIMEOUT") and node.value is not None:
                try:
                    found[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass
    return found


def runs_for(path: Path, quick: bool) -> list[list[str]]:
    spec = declared(path)
    if quick:
        if "QUICK_RUNS" in spec:
            return [list(map(str, run)) for run in spec["QUICK_RUNS"]]
        if "RUNS" in spec:
            return [[*map(str, run), "--quick"] for run in spec["RUNS"]][:1]
        return [["--quick"]] if "--quick" in path.read_text() else [[]]
    return [list(map(str, run)) for run in spec.get("RUNS", [[]])]


def run_one(path: Path, argv: list[str], timeout: float, log) -> tuple[int | str, float]:
    """Run one benchmark process, echoing its output; (exit code or 'timeout', seconds)."""
    command = [sys.executable, str(path.relative_to(ROOT)), *argv]
    banner = f"\n=== {' '.join(command[1:])}   (load {load()[0]}) ==="
    print(banner, flush=True)
    log.write(banner + "\n")
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=python_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, bufsize=1, start_new_session=True)
    deadline = start + timeout
    code: int | str
    try:
        for line in process.stdout:
            sys.stdout.write(line)
            log.write(line)
            if time.perf_counter() > deadline:
                raise subprocess.TimeoutExpired(command, timeout)
        code = process.wait(timeout=max(1.0, deadline - time.perf_counter()))
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)  # the benchmark's own process group: it and the tools it started
        process.wait()
        code = "timeout"
    seconds = time.perf_counter() - start
    print(f"=== {path.stem}: exit {code} after {seconds:.0f} s", flush=True)
    return code, seconds


def results_since(started: float, quick: bool) -> list[dict]:
    found = []
    for path in sorted(RESULTS.glob("*.json")):
        if path.name.startswith("summary.") or path.stat().st_mtime < started or path.name.endswith(".quick.json") != quick:
            continue
        try:
            data = json.loads(path.read_text())
        except ValueError:
            continue
        if isinstance(data, dict):
            data.setdefault("benchmark", path.stem)
            data["_file"] = path.name
            found.append(data)
    return found


def markdown_section(results: list[dict], runs: list[dict], command: str, started: float) -> str:
    when = datetime.fromtimestamp(started, timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    total = sum(r["seconds"] for r in runs)
    lines = [
        START,
        f"Latest full run: **{when}**, `{command}`, {total / 60:.1f} min in all.",
        f"Machine: {describe_machine(machine())}; shared with other users, so each table gives the load average "
        "(1 min) when it started and ended.",
        "Ratio: how many times better docconvert_nb is than the peer (above 1: ours wins).",
        "",
    ]
    for data in results:
        load_text = ""
        if data.get("load_start") and data.get("load_end"):
            load_text = f" — load {data['load_start'][0]} → {data['load_end'][0]}"
        lines.append(f"### {data['benchmark']}{load_text}")
        lines.append("")
        if isinstance(data.get("rows"), list) and data["rows"] and isinstance(data["rows"][0], dict) \
                and "metric" in data["rows"][0]:
            lines.append(format_table(data["rows"], markdown=True))
        else:
            lines.append(f"(figures in `results/{data['_file']}`; this benchmark does not write harness rows yet)")
        for text in data.get("notes") or []:
            lines.append(f"- {text}")
        lines.append("")
    reported = {data["benchmark"] for data in results} | {Path(data["_file"]).stem.split(".")[0] for data in results}
    for run in runs:
        if run["exit"] == 0 and run["benchmark"].removeprefix("bench_") not in reported \
                and run["benchmark"] not in reported:
            lines.append(f"- `{run['command']}` ran ({run['seconds']:.0f} s) but wrote no JSON; "
                         "its figures are in `results/run.log`")
    if lines[-1]:
        lines.append("")
    failed = [r for r in runs if r["exit"] != 0]
    if failed:
        lines.append("Did not finish: " + ", ".join(f"`{r['command']}` ({r['exit']})" for r in failed))
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


def update_readme(section: str) -> None:
    text = README.read_text() if README.exists() else "# Benchmarks\n\n"
    if START in text and END in text:
        head, rest = text.split(START, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip() + "\n\n## Latest results\n\n" + section + "\n"
    README.write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the benchmarks in benchmarks/bench_*.py")
    parser.add_argument("names", nargs="*", help="only these (e.g. 'ocr' for bench_ocr.py)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes; README untouched")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and how each is run")
    parser.add_argument("--timeout", type=float, help="seconds per benchmark process (default: its TIMEOUT or 600)")
    args = parser.parse_args(argv)

    paths = discover()
    if args.names:
        wanted = {n.removeprefix("bench_").removesuffix(".py") for n in args.names}
        unknown = wanted - {p.stem.removeprefix("bench_") for p in paths}
        if unknown:
            parser.error(f"no benchmark {', '.join(sorted(unknown))}; have {', '.join(p.stem for p in paths)}")
        paths = [p for p in paths if p.stem.removeprefix("bench_") in wanted]
    if args.list:
        for path in paths:
            for run in runs_for(path, args.quick):
                print(f"{path.stem:<24} {' '.join(run)}")
        return 0

    started = time.time()
    RESULTS.mkdir(parents=True, exist_ok=True)
    runs = []
    with (RESULTS / ("run.quick.log" if args.quick else "run.log")).open("w") as log:
        for path in paths:
            timeout = args.timeout or float(declared(path).get("TIMEOUT", DEFAULT_TIMEOUT))
            for run in runs_for(path, args.quick):
                code, seconds = run_one(path, run, timeout, log)
                runs.append({"benchmark": path.stem, "command": " ".join([path.name, *run]), "exit": code,
                             "seconds": round(seconds, 1)})
    results = results_since(started, args.quick)
    command = "python -m benchmarks" + (" " + " ".join(argv or sys.argv[1:]) if (argv or sys.argv[1:]) else "")
    summary = {"date": datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="seconds"),
               "command": command, "machine": machine(), "quick": args.quick, "runs": runs,
               "results": [r["_file"] for r in results]}
    (RESULTS / ("summary.quick.json" if args.quick else "summary.json")).write_text(json.dumps(summary, indent=2) + "\n")
    print()
    for r in runs:
        print(f"{r['command']:<48} exit {r['exit']!s:<8} {r['seconds']:7.0f} s")
    print(f"{'total':<48} {'':13} {sum(r['seconds'] for r in runs):7.0f} s")
    if not args.quick and not args.names:
        update_readme(markdown_section(results, runs, command, started))
        print(f"updated {README.relative_to(ROOT)}")
    return 0 if all(r["exit"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
