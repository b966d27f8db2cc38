"""What every benchmark shares: interleaved timing, child peak memory, machine load, a table and a JSON file.

A benchmark builds a :class:`Report`, adds one row per headline figure with
the peer's value next to ours, and calls :meth:`Report.finish`, which prints
the table and writes ``benchmarks/results/NAME.json``::

    from benchmarks._harness import Report, interleave, parse_args

    args = parse_args("PDF pages to PNG against pdftoppm")
    report = Report("pages", quick=args.quick)
    times = interleave({"pdftoppm": run_peer, "ours": run_ours}, rounds=5)
    report.row("s/page", "pdftoppm", median(times["pdftoppm"]), median(times["ours"]), unit="s")
    report.finish()

The ratio of a row always reads "how many times better ours is": peer/ours
for figures where lower is better (seconds, bytes), ours/peer where higher
is better (pages per second). The machine is shared, so the load average is
recorded when the report starts and when it ends, figures are medians, and
the candidates of a comparison run alternately (ABBA order) rather than one
after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[1]
RESULTS = Path(__file__).resolve().parent / "results"

def _shared() -> Path:
    """The shared data folder: ../shared of the checkout (or of the folder holding a worktree)."""
    if os.environ.get("DOCCONVERT_SHARED"):
        return Path(os.environ["DOCCONVERT_SHARED"])
    for candidate in (ROOT.parent / "shared", ROOT.parent.parent / "shared"):
        if candidate.is_dir():
            return candidate
    return ROOT.parent / "shared"


SHARED = _shared()


# -- the machine ------------------------------------------------------------------------

def load() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(v, 2) for v in os.getloadavg()]


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_bytes": memory,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
    }


def describe_machine(info: Mapping[str, Any] | None = None) -> str:
    info = info or machine()
    memory = f", {info['memory_bytes'] / 2**30:.0f} GiB" if info.get("memory_bytes") else ""
    return f"{info['cores']} cores ({info['cpu']}){memory}, Python {info['python']}, {info['system']}"


# -- timing ----------------------------------------------------------------------------

def interleave(candidates: Mapping[str, Callable[[], Any]], rounds: int, *, warmup: int = 0,
               verbose: bool = True) -> dict[str, list[float]]:
    """Run each candidate ``rounds`` times, alternating ABBA, and return name → wall seconds per run.

    Alternating spreads the load of a shared machine over all candidates alike;
    ``warmup`` runs of each are made first and not counted.
    """
    names = list(candidates)
    for _ in range(warmup):
        for name in names:
            candidates[name]()
    times: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names if index % 2 == 0 else list(reversed(names))
        for name in order:
            start = time.perf_counter()
            candidates[name]()
            times[name].append(time.perf_counter() - start)
            if verbose:
                print(f"  round {index + 1}/{rounds}  {name:<24} {times[name][-1]:8.2f} s   (load {load()[0]})",
                      flush=True)
    return times


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` 0.9 → p90)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(fraction * len(ordered) + 0.5)) - 1))
    return ordered[rank]


@dataclass
class ChildRun:
    """A finished child process: wall time, CPU time and peak resident memory.

    ``peak_rss_bytes`` comes from ``wait4``, and Linux starts a child's ``ru_maxrss`` at its parent's
    resident size when it forks: it is a floor of this (small) runner's size, never less. A child that
    needs its own peak reads ``VmHWM`` itself (:func:`peak_rss_bytes`).
    """

    returncode: int
    seconds: float
    cpu_seconds: float
    peak_rss_bytes: int
    stdout: str = ""
    stderr: str = ""


def run_child(args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | os.PathLike | None = None,
               timeout: float = 600.0, check: bool = True, stdin: str | None = None) -> ChildRun:
    """Run ``args``, reaping it with ``os.wait4`` to read its own CPU time and peak RSS exactly."""
    import tempfile

    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(args, env=dict(env) if env is not None else None, cwd=cwd, stdout=out, stderr=err,
                                   stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, text=True)
        if stdin is not None:
            process.stdin.write(stdin)
            process.stdin.close()
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.kill()
                os.wait4(process.pid, 0)
                raise subprocess.TimeoutExpired(args, timeout)
            time.sleep(0.002)
        seconds = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        result = ChildRun(process.returncode, seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024,
                          out.read(), err.read())
    if check and result.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} exited {result.returncode}: {result.stderr.strip()[-2000:]}")
    return result


def python_env(**extra: str) -> dict[str, str]:
    """The environment for a Python child that imports this checkout's docconvert_nb first."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra)
    return env


# -- memory of this process ------------------------------------------------------------------

def rss_bytes() -> int:
    """This process's resident memory now."""
    return _status_field("VmRSS")


def reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark (Linux ``clear_refs`` 5); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_rss_bytes() -> int:
    """This process's peak resident memory since start or the last :func:`reset_peak_rss`."""
    return _status_field("VmHWM")


def _status_field(name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {name}")


def tiny_png() -> bytes:
    """An 8×8 grey PNG: a document whose conversion costs next to nothing (to time the machinery)."""
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (8, 8), 200).save(buf, "PNG")
    return buf.getvalue()


# -- the report -------------------------------------------------------------------------------

@dataclass
class Row:
    metric: str
    peer: str
    peer_value: float | None
    ours_value: float | None
    unit: str = ""
    higher_is_better: bool = False
    note: str = ""

    @property
    def ratio(self) -> float | None:
        """How many times better ours is (>1: ours wins)."""
        if self.peer_value is None or self.ours_value is None:
            return None
        if self.higher_is_better:
            return self.ours_value / self.peer_value if self.peer_value else None
        return self.peer_value / self.ours_value if self.ours_value else None

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "peer": self.peer, "peer_value": self.peer_value, "ours_value": self.ours_value,
                "unit": self.unit, "higher_is_better": self.higher_is_better, "ratio": self.ratio, "note": self.note}


@dataclass
class Report:
    """The rows of one benchmark, with when, where and under what load they were measured."""

    name: str
    quick: bool = False
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.time)
    load_start: list[float] = field(default_factory=load)

    def row(self, metric: str, peer: str, peer_value: float | None, ours_value: float | None, *, unit: str = "",
            higher_is_better: bool = False, note: str = "") -> Row:
        row = Row(metric, peer, _clean(peer_value), _clean(ours_value), unit, higher_is_better, note)
        self.rows.append(row)
        return row

    def note(self, text: str) -> None:
        """A line for the reader: a skipped peer, a caveat."""
        self.notes.append(text)
        print(f"note: {text}", flush=True)

    def skip(self, reason: str) -> int:
        """Finish with nothing measured (a tool or corpus is missing), saying why; returns exit code 0."""
        self.note(reason)
        self.finish()
        return 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.name,
            "date": datetime.fromtimestamp(self.started, timezone.utc).isoformat(timespec="seconds"),
            "seconds": round(time.time() - self.started, 1),
            "quick": self.quick,
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": machine(),
            "load_start": self.load_start,
            "load_end": load(),
            "rows": [row.to_dict() for row in self.rows],
            "notes": self.notes,
            "details": self.details,
        }

    def finish(self, directory: Path | None = None) -> Path:
        """Print the table and write ``NAME.json`` (``NAME.quick.json`` in quick mode); return its path."""
        data = self.to_dict()
        print()
        print(format_table(data["rows"], title=f"{self.name} (load {data['load_start'][0]} → {data['load_end'][0]})"))
        for text in self.notes:
            print(f"  - {text}")
        directory = directory or Path(os.environ.get("DOCCONVERT_BENCH_RESULTS") or RESULTS)
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.name}{'.quick' if self.quick else ''}.json"
        path.write_text(json.dumps(data, indent=2, default=str) + "\n")
        print(f"wrote {path}", flush=True)
        return path


def _clean(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if value != value else value  # NaN → None (JSON has no NaN)


def fmt(value: float | None, unit: str = "") -> str:
    """A figure with 3 significant digits and its unit; bytes in MB."""
    if value is None:
        return "—"
    if unit == "B":
        return f"{value / 1e6:.3g} MB" if abs(value) >= 1e6 else f"{value / 1e3:.3g} kB"
    if unit == "×":
        return f"{value:.3g}×"
    if unit == "s" and abs(value) < 0.1:
        return f"{value * 1000:.3g} ms"
    text = f"{value:.3g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return f"{text} {unit}".rstrip()


def format_table(rows: Sequence[Mapping[str, Any]], *, title: str = "", markdown: bool = False) -> str:
    """Rows (as :meth:`Row.to_dict` gives) as an aligned text table, or a Markdown one."""
    header = ["metric", "peer", "peer", "docconvert_nb", "ratio"]
    lines = []
    for row in rows:
        ratio = row.get("ratio")
        lines.append([
            row["metric"] + (f" ({row['note']})" if row.get("note") else ""),
            row["peer"], fmt(row.get("peer_value"), row.get("unit", "")), fmt(row.get("ours_value"), row.get("unit", "")),
            "—" if ratio is None else f"{ratio:.2f}×",
        ])
    if markdown:
        out = ["| " + " | ".join(header) + " |", "| " + " | ".join(["---"] * len(header)) + " |"]
        out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in line) + " |" for line in lines]
        return "\n".join(out)
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]
    out = [title] if title else []
    out.append("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)) for line in lines]
    return "\n".join(out)


def parse_args(description: str, argv: Sequence[str] | None = None,
               extra: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """The options every benchmark takes: ``--quick`` (tiny sizes, seconds, for smoke tests)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the benchmark runs, in seconds")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


__all__ = [
    "ChildRun", "Report", "Row", "RESULTS", "ROOT", "SHARED", "describe_machine", "fmt", "format_table", "interleave",
    "load", "machine", "median", "parse_args", "peak_rss_bytes", "percentile", "python_env",
    "reset_peak_rss", "rss_bytes", "run_child", "tiny_png",
]
