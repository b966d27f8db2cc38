"""Office → PDF: seconds a document (median, p90) and success counts against cold soffice and unoserver.

    .venv/bin/python benchmarks/bench_office.py [--quick] [--max-kb 256] [--limit 60] [--rounds 1]

Documents: every Office, ODF, RTF and HTML file of the development corpus
``../shared/realdocs-dev/files/{doc,docx,odt,rtf,xls,xlsx,ods,ppt,pptx,odp,html}``
(read in place; the benchmark notes it and measures nothing when absent)
of at most ``--max-kb`` kB (default 256 kB: 57 of the corpus's 63 such
files, which keeps the full run near 5 minutes on 2 cores), in name order.
``--quick`` takes the smallest docx, xlsx and pptx.

Candidates, each converting one document at a time:

* ours: ``dc.convert(doc, to="pdf", cache=False)`` on the embedded engine
  (its warm LibreOffice over UNO), one job per document, waited for; the
  office is started by a warm-up conversion before timing begins.
* cold soffice: ``soffice --headless --convert-to pdf --outdir D DOC``, a
  process per document with a private profile created before timing begins
  (https://help.libreoffice.org/latest/en-US/text/shared/guide/start_parameters.html).
* unoserver (https://github.com/unoconv/unoserver, from PyPI): one
  ``unoserver`` on 127.0.0.1 with its own LibreOffice profile, driven by its
  ``unoconvert`` client (a process per document) and by a direct XML-RPC
  ``convert`` call from this process (no client start-up). unoserver needs
  LibreOffice's Python UNO, so it runs in a venv of Debian's
  ``/usr/bin/python3`` with ``--system-site-packages`` (python3-uno),
  created once under ``benchmarks/.venv-unoserver``; if that cannot be
  done the peer is reported unavailable with the reason.

The candidates' order rotates from one document to the next (and reverses
every other round), so the shared machine's load falls on all alike. A
conversion succeeds only if it yields a non-empty PDF that pypdfium2 opens
with at least one page; page counts are compared with cold soffice's.
Timing figures are taken over the documents both candidates of a row
converted; with ``--rounds`` > 1 a document's time is its median over rounds.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks._harness import SHARED, Report, load, median, parse_args, percentile  # noqa: E402

RUNS = [[]]
QUICK_RUNS = [["--quick"]]
TIMEOUT = 900
CORPUS = SHARED / "realdocs-dev" / "files"
FORMATS = ("doc", "docx", "odt", "rtf", "xls", "xlsx", "ods", "ppt", "pptx", "odp", "html")
QUICK_FORMATS = ("docx", "xlsx", "pptx")
UNOSERVER_VENV = Path(__file__).resolve().parent / ".venv-unoserver"
UNO_PYTHON = "/usr/bin/python3"

SOFFICE, UNOCONVERT, UNO_RPC, OURS = "cold soffice", "unoconvert", "unoserver XML-RPC", "ours"


# -- the documents --------------------------------------------------------------------

def select_documents(max_kb: int, quick: bool) -> list[Path]:
    """The fixed selection: every Office/HTML/RTF file up to ``max_kb`` kB in name order (quick: 3 smallest)."""
    if quick:
        picked = []
        for fmt in QUICK_FORMATS:
            files = sorted((CORPUS / fmt).glob("*"), key=lambda p: (p.stat().st_size, p.name))
            picked += files[:1]
        return picked
    files = [p for fmt in FORMATS for p in (CORPUS / fmt).glob("*") if p.is_file()]
    return sorted((p for p in files if p.stat().st_size <= max_kb * 1024), key=lambda p: (p.parent.name, p.name))


def pdf_pages(path: Path) -> int:
    """Pages of a PDF as pypdfium2 sees them; 0 if missing, empty or unreadable."""
    import pypdfium2 as pdfium

    if not path.is_file() or path.stat().st_size == 0:
        return 0
    try:
        document = pdfium.PdfDocument(str(path))
    except Exception:  # noqa: BLE001  a damaged PDF is a failed conversion
        return 0
    try:
        return len(document)
    finally:
        document.close()


# -- processes -----------------------------------------------------------------------

def run_limited(args: list[str], limit: float, env: dict | None = None) -> tuple[int | None, str]:
    """Run a command in its own process group; (exit code or None on timeout, stderr tail).

    soffice forks (oosplash → soffice.bin), so the whole group is killed on
    timeout and whatever it left behind afterwards.
    """
    process = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env=env, start_new_session=True)
    try:
        _, err = process.communicate(timeout=limit)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process)
        err, code = b"", None
    _kill_group(process, quiet=True)
    lines = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    return code, (lines[-1] if lines else "")[-300:]  # a traceback's last line says what went wrong


def _kill_group(process: subprocess.Popen, quiet: bool = False) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    if not quiet:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _TimeoutTransport(xmlrpc.client.Transport):
    def __init__(self, timeout: float):
        super().__init__()
        self.timeout = timeout

    def make_connection(self, host):
        connection = super().make_connection(host)
        connection.timeout = self.timeout
        return connection


# -- unoserver ----------------------------------------------------------------------

def unoserver_venv(venv: Path = UNOSERVER_VENV) -> tuple[Path | None, str]:
    """A venv of Debian's Python with unoserver (created once); (venv, version) or (None, why not)."""
    if not Path(UNO_PYTHON).exists():
        return None, f"{UNO_PYTHON} is absent (unoserver needs LibreOffice's Python UNO)"
    check = [str(venv / "bin/python"), "-c", "import uno, unoserver, importlib.metadata as m; "
             "print(m.version('unoserver'))"]
    if (venv / "bin/unoserver").exists():
        done = subprocess.run(check, capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            return venv, done.stdout.strip()
        shutil.rmtree(venv, ignore_errors=True)  # a broken venv from an earlier attempt
    print(f"creating {venv} with unoserver from PyPI (once)", flush=True)
    steps = [[UNO_PYTHON, "-m", "venv", "--system-site-packages", str(venv)],
             [str(venv / "bin/python"), "-m", "pip", "install", "--quiet", "unoserver"], check]
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return None, f"`{' '.join(step[:4])}` failed: {exc}"
        if done.returncode != 0:
            lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip() and "WARNING" not in ln]
            return None, f"`{' '.join(step[:4])}` exited {done.returncode}: {(lines or ['?'])[-1][:300]}"
    return venv, done.stdout.strip()


class Unoserver:
    """One ``unoserver`` on loopback with its own LibreOffice profile, restarted if its office dies."""

    def __init__(self, venv: Path, work: Path, limit: float):
        self.venv, self.work, self.limit = venv, work, limit
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.start_seconds: list[float] = []
        self.log = work / "unoserver.log"

    def start(self) -> None:
        self.port, uno_port = free_port(), free_port()
        profile = self.work / f"unoserver-profile-{self.starts}"
        begin = time.perf_counter()
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.venv / "bin/unoserver"), "--interface", "127.0.0.1", "--uno-interface", "127.0.0.1",
                 "--port", str(self.port), "--uno-port", str(uno_port), "--user-installation", str(profile),
                 "--conversion-timeout", str(int(self.limit))],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                env={**os.environ, "TMPDIR": str(self.work)})
        self.starts += 1
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"unoserver exited at start (rc={self.process.returncode}): {self.log_tail()}")
            if self.healthy(timeout=5):
                self.start_seconds.append(time.perf_counter() - begin)
                return
            time.sleep(0.25)
        raise RuntimeError("unoserver did not answer within 120 s")

    def log_tail(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines() if self.log.exists() else []
        return " | ".join(lines[-2:])[-300:]

    def healthy(self, timeout: float = 15) -> bool:
        if self.process is None or self.process.poll() is not None:
            return False
        try:
            with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}", allow_none=True,
                                           transport=_TimeoutTransport(timeout)) as proxy:
                proxy.info()
            return True
        except Exception:  # noqa: BLE001  not up yet, or its office died
            return False

    def ensure(self) -> None:
        """A live server before a conversion is timed (a restart is not counted in anyone's time)."""
        if not self.healthy():
            self.stop()
            self.start()

    def convert_cli(self, source: Path, target: Path) -> str:
        code, err = run_limited([str(self.venv / "bin/unoconvert"), "--host", "127.0.0.1", "--port", str(self.port),
                                 "--convert-to", "pdf", str(source), str(target)], self.limit + 15)
        return "" if code == 0 else ("timeout" if code is None else f"exit {code}: {err}")

    def convert_rpc(self, source: Path, target: Path) -> str:
        try:
            with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}", allow_none=True,
                                           transport=_TimeoutTransport(self.limit + 15)) as proxy:
                proxy.convert(str(source), None, str(target), "pdf")
            return ""
        except Exception as exc:  # noqa: BLE001  the peer's failure is a result, not our crash
            return f"{type(exc).__name__}: {str(exc)[:200]}"

    def stop(self) -> None:
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=15)
            except (ProcessLookupError, PermissionError):
                pass
            except subprocess.TimeoutExpired:
                pass
            _kill_group(self.process)  # LibreOffice's oosplash outlives unoserver and ignores SIGTERM
            self.process = None


# -- the candidates ---------------------------------------------------------------------

def soffice_args(soffice: str, profile: Path, source: Path, outdir: Path) -> list[str]:
    return [soffice, "--headless", "--norestore", "--nologo", "--nolockcheck",
            f"-env:UserInstallation={profile.as_uri()}", "--convert-to", "pdf", "--outdir", str(outdir), str(source)]


def convert_ours(provider, source: Path, target: Path, limit: float) -> str:
    import docconvert_nb as dc

    try:
        job = dc.convert(source, to="pdf", provider=provider, cache=False, timeout=limit)
        job.wait(timeout=limit + 30)
    except dc.DocconvertError as exc:  # failed or timed out: counted as not converted
        return f"{type(exc).__name__}: {str(exc)[:200]}"
    target.write_bytes(job.outputs[0].read())
    return ""


def main(argv=None) -> int:
    args = parse_args(__doc__.splitlines()[0], argv, lambda p: (
        p.add_argument("--max-kb", type=int, default=256, help="largest document taken, in kB (default 256)"),
        p.add_argument("--limit", type=float, default=60.0, help="seconds allowed per conversion (default 60)"),
        p.add_argument("--rounds", type=int, default=1, help="conversions of each document per candidate"),
    ))
    report = Report("office", quick=args.quick)
    soffice = shutil.which("soffice")
    if not CORPUS.is_dir():
        return report.skip(f"{CORPUS} is absent: nothing to convert")
    if soffice is None:
        return report.skip("soffice (LibreOffice) is not installed: neither ours nor the peers can convert Office files")
    documents = select_documents(args.max_kb, args.quick)
    print(f"{len(documents)} documents (load {load()[0]})", flush=True)

    from docconvert_nb.engine import Engine, office_server
    from docconvert_nb.providers.embedded import EmbeddedProvider

    venv, uno_info = unoserver_venv()
    if venv is None:
        report.note(f"unoserver: unavailable ({uno_info}); not run")

    with tempfile.TemporaryDirectory(prefix="bench-office-") as tmp:
        work = Path(tmp)
        provider = EmbeddedProvider(Engine(work / "store", workers=1))
        profile = work / "soffice-profile"
        soffice_env = {**os.environ, "TMPDIR": str(work)}
        server = None
        try:
            # start-up costs, outside the per-document timings
            warm = work / "warmup"
            warm.mkdir()
            startup: dict[str, float] = {}
            begin = time.perf_counter()
            for sample in documents:  # the first document ours converts (a damaged one would not start the office)
                warm_error = convert_ours(provider, sample, warm / "ours.pdf", args.limit)
                if not warm_error:
                    break
            startup["ours_first_conversion_s"] = round(time.perf_counter() - begin, 2)
            begin = time.perf_counter()
            run_limited(soffice_args(soffice, profile, sample, warm), args.limit, soffice_env)
            startup["soffice_profile_and_first_conversion_s"] = round(time.perf_counter() - begin, 2)
            if warm_error:
                report.note(f"ours: no warm-up conversion succeeded ({warm_error})")
            if venv is not None:
                server = Unoserver(venv, work, args.limit)
                try:
                    server.start()
                    startup["unoserver_start_s"] = round(server.start_seconds[-1], 2)
                    server.convert_rpc(sample, warm / "uno.pdf")
                except Exception as exc:  # noqa: BLE001  the peer is unavailable, not our failure
                    report.note(f"unoserver: could not start ({exc}); not run")
                    server.stop()
                    server = None

            def step(name: str, source: Path, target: Path) -> str:
                if name == OURS:
                    return convert_ours(provider, source, target, args.limit)
                if name == SOFFICE:
                    code, err = run_limited(soffice_args(soffice, profile, source, target.parent), args.limit,
                                            soffice_env)
                    produced = target.parent / (source.stem + ".pdf")
                    if produced.exists():
                        produced.rename(target)
                    return "" if code == 0 else ("timeout" if code is None else f"exit {code}: {err}")
                if name == UNOCONVERT:
                    return server.convert_cli(source, target)
                return server.convert_rpc(source, target)

            names = [OURS, SOFFICE] + ([UNOCONVERT, UNO_RPC] if server is not None else [])
            per_doc: dict[str, dict[str, list]] = {}
            started = time.perf_counter()
            for number, source in enumerate(documents):
                runs = per_doc[f"{source.parent.name}/{source.name}"] = {name: [] for name in names}
                for index in range(args.rounds):
                    order = names[number % len(names):] + names[:number % len(names)]
                    for name in order if index % 2 == 0 else reversed(order):
                        outdir = work / "out" / f"{number}-{index}-{name.replace(' ', '_')}"
                        outdir.mkdir(parents=True)
                        target = outdir / (source.stem + ".pdf")
                        try:
                            if name in (UNOCONVERT, UNO_RPC):
                                server.ensure()
                        except (RuntimeError, OSError) as exc:  # its office died and would not come back
                            runs[name].append({"seconds": None, "pages": 0, "error": f"unoserver down: {exc}"})
                            continue
                        begin = time.perf_counter()
                        error = step(name, source, target)
                        seconds = time.perf_counter() - begin
                        pages = pdf_pages(target)
                        if not error and not pages:
                            error = "no PDF with pages"
                        runs[name].append({"seconds": round(seconds, 4), "pages": pages, "error": error})
                cells = "  ".join(f"{name} {median([r['seconds'] or 0 for r in runs[name]]):5.2f}s"
                                  f"{'' if runs[name][0]['pages'] else ' ✗'}" for name in names)
                print(f"  [{number + 1}/{len(documents)}] {source.name[:40]:<40} {cells}  (load {load()[0]})",
                      flush=True)
            spent = time.perf_counter() - started
        finally:
            if server is not None:
                server.stop()
            provider.close()
            office_server.shutdown()

    summarize(report, per_doc, names, documents, args, startup, spent, server, venv, uno_info)
    report.finish()
    return 0


def summarize(report, per_doc, names, documents, args, startup, spent, server, venv, uno_info) -> None:
    def ok(name: str, doc: str) -> bool:
        return all(run["pages"] and not run["error"] for run in per_doc[doc][name])

    def seconds(name: str, doc: str) -> float:
        return median([run["seconds"] for run in per_doc[doc][name]])

    total = len(documents)
    for peer in [n for n in names if n != OURS]:
        both = [doc for doc in per_doc if ok(peer, doc) and ok(OURS, doc)]
        for label, figure in (("median", median), ("p90", lambda v: percentile(v, 0.9))):
            report.row(f"Office → PDF: s/document, {label} ({len(both)} both converted)", peer,
                       figure([seconds(peer, d) for d in both]) if both else None,
                       figure([seconds(OURS, d) for d in both]) if both else None, unit="s")
    for peer in [n for n in names if n != OURS]:
        report.row(f"documents converted (of {total})", peer, sum(ok(peer, d) for d in per_doc),
                   sum(ok(OURS, d) for d in per_doc), higher_is_better=True)
    agreement = {}
    for name in [n for n in names if n != SOFFICE]:
        both = [doc for doc in per_doc if ok(name, doc) and ok(SOFFICE, doc)]
        same = sum(per_doc[doc][name][0]["pages"] == per_doc[doc][SOFFICE][0]["pages"] for doc in both)
        agreement[name] = (same, len(both))
    for name in [n for n in names if n not in (OURS, SOFFICE)]:
        (peer_same, peer_both), (ours_same, ours_both) = agreement[name], agreement[OURS]
        report.row("page count agrees with cold soffice (share of documents both converted)", name,
                   100 * peer_same / peer_both if peer_both else None,
                   100 * ours_same / ours_both if ours_both else None, unit="%", higher_is_better=True,
                   note=f"{name} {peer_same}/{peer_both}, ours {ours_same}/{ours_both}")
    if server is None:
        same, both = agreement[OURS]
        report.note(f"page count agrees with cold soffice: ours {same}/{both}")

    for name in names:
        failed = [doc for doc in per_doc if not ok(name, doc)]
        if failed:  # the tools' messages are under details.documents
            report.note(f"{name} did not convert ({len(failed)}): " + ", ".join(failed))
    selection = ("the smallest docx, xlsx and pptx" if args.quick else
                 f"every {'/'.join(FORMATS)} file up to {args.max_kb} kB")
    report.note(f"{total} documents of realdocs-dev ({selection}), one at a time, order rotated per document, "
                f"{args.rounds} round(s), {spent:.0f} s; limit {args.limit:g} s a conversion; "
                "start-up outside the timings: " + ", ".join(f"{k} {v}" for k, v in startup.items()))
    if server is not None:
        report.note(f"unoserver {uno_info} (venv of {UNO_PYTHON}); restarted {server.starts - 1} time(s) after its "
                    "LibreOffice died or stopped answering (outside the timings, before the next conversion)")
    report.details = {"documents": per_doc, "startup": startup, "max_kb": args.max_kb, "limit": args.limit,
                      "rounds": args.rounds, "unoserver": uno_info if venv is not None else None,
                      "unoserver_unavailable": None if venv is not None else uno_info}


if __name__ == "__main__":
    sys.exit(main())
