"""``docconvert-nb``: the same conversions from a shell.

    docconvert-nb convert scans/*.png --to pdf -o out/
    docconvert-nb ocr "page 1.tiff" --format pdf
    docconvert-nb table invoice.png -o tables/
    docconvert-nb jobs list | jobs status ID | jobs delete ID
    docconvert-nb formats --task ocr
    docconvert-nb doctor
    docconvert-nb simulate aspose --port 8080

Results (the paths written) go to stdout, one per line; progress and errors
go to stderr, so ``docconvert-nb convert ... | xargs ...`` sees only paths.
Exit codes are listed in :data:`EPILOG`.
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import sys
import threading
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TextIO

EXIT_OK = 0
EXIT_JOB_FAILED = 1
EXIT_USAGE = 2
EXIT_TOOL_MISSING = 3
EXIT_INTERRUPTED = 130

EPILOG = """\
exit codes:
  0  every job completed and its outputs were written
  1  some job failed (its error is printed on stderr), or a job id is unknown
  2  usage error: bad arguments, unknown provider or target format
  3  a required system tool is missing (Tesseract, LibreOffice, djvulibre);
     `docconvert-nb doctor` prints the command that installs it
  130 interrupted (Ctrl-C); running jobs are canceled

Jobs run on the embedded engine unless --provider names a cloud service.
The engine keeps results for 24 h in $DOCCONVERT_NB_HOME (default
~/.cache/docconvert_nb); `docconvert-nb jobs` lists them.
"""

OCR_FORMATS = {"text": "txt", "txt": "txt", "hocr": "hocr", "tsv": "tsv", "pdf": "pdf"}
#: How ToolMissing reads once it is a job's error message (see errors.ToolMissing).
TOOL_MISSING_MARK = "is not installed. Install it with:"


class UsageProblem(Exception):
    """Found after parsing (unknown provider, unknown format): exit code 2."""


# -- parser ----------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="docconvert-nb",
        description="Convert documents, OCR scans and read tables on the embedded engine or a cloud service.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from ._version import __version__

    parser.add_argument("--version", action="version", version=f"docconvert-nb {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="log details, with tracebacks, of what the library does")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def job_command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, epilog=EPILOG,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("files", nargs="+", metavar="FILE", help="files, folders or quoted glob patterns")
        sub.add_argument("-o", "--output-dir", default=".", metavar="OUTDIR",
                         help="folder the outputs are written to (default: the current directory)")
        sub.add_argument("--provider", metavar="NAME",
                         help="embedded (default), aspose, onlineconvert, convertapi or groupdocs")
        sub.add_argument("--opt", action="append", default=[], metavar="KEY=VALUE",
                         help="a converter option, repeatable: --opt dpi=200")
        sub.add_argument("--dask-scheduler", metavar="ADDRESS",
                         help="run on this Dask scheduler (implies --provider dask; "
                              "default: $DOCCONVERT_NB_DASK_SCHEDULER)")
        sub.add_argument("--timeout", type=float, metavar="SECONDS", help="give up waiting after SECONDS")
        sub.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
        return sub

    convert = job_command("convert", "Convert documents to another format.")
    convert.add_argument("--to", required=True, metavar="FMT", help="target format: pdf, png, jpeg, tiff...")
    convert.set_defaults(handler=cmd_convert)

    ocr = job_command("ocr", "Recognize the text of images, PDFs or DjVu files (needs Tesseract).")
    ocr.add_argument("--lang", default="eng", help="Tesseract language code(s), e.g. eng+deu (default eng)")
    ocr.add_argument("--format", default="text", choices=sorted(OCR_FORMATS),
                     help="text (default), hocr, tsv or pdf (searchable)")
    ocr.set_defaults(handler=cmd_ocr)

    table = job_command("table", "Recognize the tables of images or PDF pages (needs Tesseract).")
    table.add_argument("--format", default="csv", choices=("csv", "xlsx"), help="csv (default) or xlsx")
    table.set_defaults(handler=cmd_table)

    jobs = commands.add_parser("jobs", help="List, inspect or delete the embedded engine's jobs.",
                               description="The embedded engine's jobs (kept 24 h, across processes).")
    jobs_commands = jobs.add_subparsers(dest="jobs_command", metavar="ACTION")
    jobs_list = jobs_commands.add_parser("list", help="every job in the store (the default)")
    jobs_list.add_argument("--json", action="store_true", help="print JSON instead of a table")
    jobs_status = jobs_commands.add_parser(
        "status", help="one job's state, outputs and errors (exit 1 when it failed or is gone)")
    jobs_status.add_argument("id", help="the job id (a unique prefix is enough)")
    jobs_status.add_argument("--json", action="store_true", help="print JSON")
    jobs_delete = jobs_commands.add_parser("delete", help="delete a job and its files")
    jobs_delete.add_argument("id", help="the job id (a unique prefix is enough)")
    jobs.set_defaults(handler=cmd_jobs, jobs_command=None, json=False)

    formats = commands.add_parser("formats", help="The conversions a provider offers.")
    formats.add_argument("--provider", metavar="NAME", help="default: the embedded engine")
    formats.add_argument("--task", choices=("convert", "ocr", "tables"), help="only this task")
    formats.set_defaults(handler=cmd_formats)

    doctor = commands.add_parser("doctor", help="Which system tools the engine finds (exit 3 if some are missing).")
    doctor.set_defaults(handler=cmd_doctor)

    simulate = commands.add_parser("simulate", help="Run a local simulator of a cloud service until Ctrl-C.")
    simulate.add_argument("provider", help="aspose, onlineconvert, convertapi or groupdocs")
    simulate.add_argument("--port", type=int, default=0, help="port to listen on (default: a free one)")
    simulate.add_argument("--queued", type=float, help="seconds a job stays queued")
    simulate.add_argument("--processing", type=float, help="minimum seconds of processing")
    simulate.set_defaults(handler=cmd_simulate)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (see :data:`EPILOG`)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits on --help (0) and on usage errors (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    from .errors import DocconvertError

    restore_logging = configure_logging(args.verbose)
    try:
        return args.handler(args)
    except UsageProblem as exc:
        parser.print_usage(sys.stderr)
        _error(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
    except (DocconvertError, OSError) as exc:
        _error(_one_line(exc))
        return EXIT_JOB_FAILED
    finally:
        restore_logging()


class _OneLineFormatter(logging.Formatter):
    """Log records as one line: the failed job is reported by us, its traceback is noise."""

    def format(self, record: logging.LogRecord) -> str:
        return f"docconvert-nb: {record.levelname.lower()}: {' '.join(record.getMessage().split())}"


def configure_logging(verbose: bool):
    """The library's warnings on stderr as single lines; everything, with tracebacks, with -v.

    Returns a function restoring the logger as it was (for callers of main() in-process).
    """
    logger = logging.getLogger("docconvert_nb")
    before = (logger.level, list(logger.handlers), logger.propagate)
    handler = logging.StreamHandler(sys.stderr)
    if verbose:
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
        logger.setLevel(logging.DEBUG)
    else:
        handler.setFormatter(_OneLineFormatter())
        logger.setLevel(logging.WARNING)
    logger.handlers[:] = [handler]
    logger.propagate = False

    def restore() -> None:
        logger.setLevel(before[0])
        logger.handlers[:] = before[1]
        logger.propagate = before[2]

    return restore


def _error(message: str) -> None:
    print(f"docconvert-nb: error: {message}", file=sys.stderr, flush=True)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


# -- convert / ocr / table ----------------------------------------------------------------
def cmd_convert(args) -> int:
    return run_jobs(args, "convert", args.to, {})


def cmd_ocr(args) -> int:
    return run_jobs(args, "ocr", OCR_FORMATS[args.format], {"lang": args.lang})


def cmd_table(args) -> int:
    return run_jobs(args, "tables", args.format, {})


def parse_options(pairs: list[str]) -> dict[str, str]:
    """``["dpi=200"]`` → ``{"dpi": "200"}``; values stay strings (the engine coerces them)."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageProblem(f"--opt expects KEY=VALUE, got {pair!r}")
        options[key.strip()] = value
    return options


def expand_files(files: list[str]) -> list[Path]:
    """Folders become their files and (quoted) glob patterns their matches; other paths pass as given."""
    from .api import expand

    documents: list[Path] = []
    for name in files:
        path = Path(name).expanduser()
        if path.is_dir() or (glob.has_magic(name) and not path.exists()):
            matches = expand(name)
            if not matches:
                raise UsageProblem(f"no file matches {name!r}")
            documents.extend(matches)
        else:
            documents.append(path)
    return documents


def _resolve_provider(name: str | None):
    from . import providers
    from .errors import DocconvertError

    try:
        return providers.get(name)
    except DocconvertError as exc:
        raise UsageProblem(_one_line(exc)) from None


def _check_target(provider, task: str, target: str) -> str:
    """The canonical target format; an unknown one is a usage error (exit 2) rather than N failed jobs."""
    from .fileformats import normalize

    target = normalize(target)
    try:
        known = {cap.target for cap in provider.capabilities() if cap.task == task}
    except Exception:  # a provider that cannot list offline: let the jobs say it
        return target
    if known and target not in known:
        raise UsageProblem(
            f"{provider.name} cannot {task} to {target!r}; targets: {', '.join(sorted(known))}"
        )
    return target


def run_jobs(args, task: str, target: str, options: dict) -> int:
    """Submit one job per file, follow them on stderr, print the written paths; returns the exit code."""
    from .api import convert_many

    options = {**options, **parse_options(args.opt)}
    if args.dask_scheduler:
        from .providers.dask import use_scheduler

        use_scheduler(args.dask_scheduler)
        args.provider = args.provider or "dask"
    provider = _resolve_provider(args.provider)
    target = _check_target(provider, task, target)
    documents = expand_files(args.files)
    group = convert_many(documents, target, task=task, provider=provider, save_to=args.output_dir, **options)
    progress = None if args.quiet else Progress(sys.stderr)
    if progress:
        progress.follow(group)
    try:
        group.wait(args.timeout)
    except KeyboardInterrupt:
        group.cancel()
        raise
    except Exception as exc:  # JobTimeout: the jobs die with this process, so cancel them
        group.cancel()
        if progress:
            progress.close()
        _error(_one_line(exc))
        return EXIT_JOB_FAILED
    if progress:
        progress.close()
    return report(group)


def shown(value) -> str:
    """``value`` as text safe for a terminal and for one-item-per-line output.

    Control characters (ESC sequences, newlines, carriage returns, C1 codes) and the lone
    surrogates of undecodable file names are written as Python escapes (``\\x1b``, ``\\n``).
    """
    text = str(value)
    if not any(_unsafe(ch) for ch in text):
        return text
    return "".join(_escaped(ch) if _unsafe(ch) else ch for ch in text)


_CONTROL = frozenset(chr(c) for c in [*range(0x20), *range(0x7f, 0xa0), 0x2028, 0x2029])


def _unsafe(ch: str) -> bool:
    return ch in _CONTROL or "\udc80" <= ch <= "\udcff"


def _escaped(ch: str) -> str:
    if "\udc80" <= ch <= "\udcff":  # the byte Python could not decode
        return f"\\x{ord(ch) - 0xdc00:02x}"
    return ch.encode("unicode_escape").decode("ascii")


def report(group) -> int:
    """Print the written paths (stdout) and every failure (stderr); the exit code for the group."""
    failures: list[str] = []
    for job in group:
        for warning in job.warnings:
            print(f"docconvert-nb: warning: {shown(job.source_name)}: {shown(warning)}", file=sys.stderr)
        if job.ok and len(job.saved) == len(job.outputs):
            for path in job.saved:
                print(shown(path), flush=True)
        else:
            detail = "; ".join(job.errors) or job.message
            if job.ok:
                detail = "outputs could not be written"
            failures.append(detail)
            _error(f"{job.source_name} → {job.target}: {job.status.value}: {detail}")
    if any(TOOL_MISSING_MARK in failure for failure in failures):
        return EXIT_TOOL_MISSING
    return EXIT_JOB_FAILED if failures else EXIT_OK


class Progress:
    """Job state changes on stderr: one line per change, or a bar redrawn in place on a terminal."""

    BAR_WIDTH = 24

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.tty = stream.isatty()
        self._seen: dict[int, str] = {}
        self._lock = threading.Lock()
        self._group = None

    def follow(self, group) -> None:
        self._group = group
        group.on_change(lambda _group, job: self.update(job))
        for job in group:
            self.update(job)
            job.add_done_callback(self.update)

    def update(self, job) -> None:
        if job.status.is_terminal and not job.finished:
            return  # shown by the done callback, once its outputs are saved
        with self._lock:
            state = job.status.value
            if self._seen.get(job.number) == state:
                return
            self._seen[job.number] = state
            if self.tty:
                self._draw_bar()
            else:
                detail = f" — {job.errors[-1]}" if job.errors and job.status.is_terminal and not job.ok else ""
                self.stream.write(f"{job.source_name} → {job.target}: {state}{detail}\n")
            self.stream.flush()

    def _draw_bar(self) -> None:
        group = self._group
        total = len(group) or 1
        done = sum(job.finished for job in group)
        filled = int(self.BAR_WIDTH * done / total)
        failed = len(group.failed)
        tail = f", {failed} failed" if failed else ""
        self.stream.write(f"\r[{'#' * filled}{'.' * (self.BAR_WIDTH - filled)}] {done}/{len(group)} done{tail}")

    def close(self) -> None:
        with self._lock:
            if self.tty and self._seen:
                self._draw_bar()
                self.stream.write("\n")
                self.stream.flush()
            self._seen = {key: "closed" for key in self._seen}  # late callbacks print nothing more


# -- jobs -----------------------------------------------------------------------------------
def _engine():
    from . import providers

    return providers.get("embedded").engine


def _find_record(engine, job_id: str):
    """The record whose id is ``job_id`` or starts with it."""
    from .errors import JobNotFound

    if not job_id.strip():  # "" is a prefix of every id
        raise UsageProblem("give a job id (or a unique prefix of one), not an empty string")
    matches = [record for record in engine.jobs() if record.id.startswith(job_id)]
    exact = [record for record in matches if record.id == job_id]
    if exact:
        return exact[0]
    if not matches:
        raise JobNotFound(f"no job {job_id} in {engine.store.root}")
    if len(matches) > 1:
        raise UsageProblem(f"{job_id!r} matches {len(matches)} jobs; give more of the id")
    return matches[0]


def _when(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S") if seconds else "-"


def cmd_jobs(args) -> int:
    engine = _engine()
    action = args.jobs_command or "list"
    if action == "list":
        records = engine.jobs()
        if args.json:
            print(json.dumps([asdict(record) for record in records], indent=2, default=str))
            return EXIT_OK
        if not records:
            print(f"no jobs in {engine.store.root}", file=sys.stderr)
            return EXIT_OK
        print(f"{'ID':36}  {'STATUS':10}  {'TASK':8}  {'SUBMITTED':19}  SOURCE → TARGET")
        for record in records:
            print(f"{record.id:36}  {record.status:10}  {record.task:8}  {_when(record.submitted_at)}  "
                  f"{shown(record.source_name)} → {record.target}")
        return EXIT_OK
    record = _find_record(engine, args.id)
    if action == "delete":
        engine.delete(record.id)
        print(f"deleted {record.id}")
        return EXIT_OK
    status = engine.get(record.id).job_status
    if args.json:
        print(json.dumps(asdict(record), indent=2, default=str))
    else:
        print(_describe_record(engine, record))
    healthy = not status.is_terminal or status.value == "completed"
    return EXIT_OK if healthy else EXIT_JOB_FAILED


def _describe_record(engine, record) -> str:
    lines = [
        f"job {record.id}",
        f"  status:    {record.status} — {record.message}",
        f"  task:      {record.task} {shown(record.source_name)} ({record.source_format}) → {record.target}",
        f"  submitted: {_when(record.submitted_at)}   finished: {_when(record.finished_at)}",
    ]
    if record.options:
        lines.append("  options:   " + ", ".join(f"{k}={v}" for k, v in record.options.items()))
    gone = record.job_status.is_gone
    for output in record.outputs:
        where = "(gone)" if gone else str(engine.store.output_dir(record.id) / output.name)
        lines.append(f"  output:    {output.name} {output.content_type} {output.size} bytes  {where}")
    lines += [f"  error:     {shown(error)}" for error in record.errors]
    lines += [f"  warning:   {warning}" for warning in record.warnings]
    return "\n".join(lines)


# -- formats, doctor, simulate ----------------------------------------------------------------
def cmd_formats(args) -> int:
    from .api import formats

    provider = _resolve_provider(args.provider)
    table = formats(provider=provider, task=args.task)
    if table.empty:
        print(f"{provider.name} offers no {args.task or ''} conversion".replace("  ", " "), file=sys.stderr)
        return EXIT_OK
    for (task, source), rows in table.groupby(["task", "source"], sort=True):
        print(f"{task:8} {source:6} → {' '.join(sorted(rows['target']))}")
    return EXIT_OK


def cmd_doctor(args) -> int:
    from .engine.doctor import doctor

    report = doctor()
    print(repr(report))
    return EXIT_OK if report.ok else EXIT_TOOL_MISSING


def cmd_simulate(args) -> int:
    from .simulators.__main__ import main as simulate_main

    argv = [args.provider, "--port", str(args.port)]
    if args.queued is not None:
        argv += ["--queued", str(args.queued)]
    if args.processing is not None:
        argv += ["--processing", str(args.processing)]
    try:
        return simulate_main(argv)
    except SystemExit as exc:  # its own argparse: an unknown simulator
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
