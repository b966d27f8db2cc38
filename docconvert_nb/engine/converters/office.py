"""Office documents → PDF with LibreOffice, kept warm between jobs.

The default path sends the document to the process-wide warm office
(:mod:`..office_server`); without ``python3-uno`` (or with ``warm=False``)
each document gets a cold ``soffice --convert-to pdf`` in the job's folder.
"""

from __future__ import annotations

import atexit
import math
import shutil
import tempfile
import zipfile
from pathlib import Path

from ...errors import DocconvertError
from ...fileformats import LIBREOFFICE_EXTRA_FORMATS, OFFICE_FORMATS, SNIFF_BYTES, guess_note, is_password_protected
from .. import office_server, tools
from ..context import ConversionContext
from ..registry import Option, converter
from .pdf import open_pdf

#: Import filters chosen instead of LibreOffice's detection. HTML goes into a Writer document, not
#: Writer/Web: exported right after loading (as here and in ``soffice --convert-to``), Writer/Web's
#: browser-like layout is not settled yet, and headings went missing behind a blank first page.
IMPORT_FILTERS = {"html": "HTML (StarWriter)"}

PASSWORD = Option("password", str, None, "password of a protected document")
WARM = Option("warm", bool, True, "reuse the warm LibreOffice process (False: start one just for this document)")
TIMEOUT = Option("timeout", (int, float), None,
                 "seconds one conversion may take, up to 3600 (default: 20 s + 15 s per MB of input, at most the "
                 "engine's tool limit)", minimum=0.001, maximum=3600)


REMOTE = Option("remote_resources", bool, False,
                "let the document fetch the http(s) images and links it names (off: a document could reach "
                "any server; local files stay unreadable either way, which needs Landlock, Linux ≥ 5.13)")


@converter(sources=OFFICE_FORMATS | LIBREOFFICE_EXTRA_FORMATS, targets={"pdf"},
           options=[PASSWORD, WARM, TIMEOUT, REMOTE], tools=["soffice"])
def office_to_pdf(ctx: ConversionContext) -> None:
    """Convert a Word/Excel/PowerPoint/OpenDocument/RTF/CSV/HTML document to PDF with LibreOffice."""
    office_server.SOFFICE.require()
    check_document(ctx)
    if ctx.options["timeout"] is not None:
        timeout = float(ctx.options["timeout"])
        if not math.isfinite(timeout) or timeout <= 0:
            raise DocconvertError(f"timeout={ctx.options['timeout']!r}: give a positive number of seconds")
    else:  # the default grows with the input, so a small hostile file fails fast
        timeout = office_server.time_budget(ctx.input_path.stat().st_size, ctx.tool_timeout)
    target = ctx.workdir / "converted.pdf"
    ctx.progress(0.05)
    remote = ctx.options["remote_resources"]
    if remote and not (ctx.options["warm"] and office_server.uno_available()):
        raise DocconvertError("remote_resources=True needs the warm LibreOffice (python3-uno)")
    with ctx.input_path.open("rb") as fh:
        guessed = guess_note(fh.read(SNIFF_BYTES), ctx.source_name, ctx.source_format)
    try:
        target, reply, how = _convert(ctx, target, timeout, remote)
    except DocconvertError as exc:
        if guessed and not isinstance(exc, tools.ToolFailed):
            raise DocconvertError(f"{exc}. Note: {guessed}") from None
        raise
    if guessed:
        filter_name = reply.get("import_filter")
        ctx.warn(guessed + (f" (LibreOffice's import filter: {filter_name})" if filter_name else ""))
    if not target.exists() or target.stat().st_size == 0:
        raise DocconvertError("LibreOffice wrote no PDF (the document may be empty or damaged)")
    with open_pdf(target, forms=False) as pdf:
        pages = len(pdf)
    metadata = {"pages": pages, "office": how}
    if reply.get("filter"):
        metadata["filter"] = reply["filter"]
    if reply.get("import_filter"):
        metadata["import_filter"] = reply["import_filter"]
    ctx.add_output(target, metadata=metadata)


def _convert(ctx: ConversionContext, target: Path, timeout: float, remote: bool) -> tuple[Path, dict, str]:
    """(PDF, the warm office's reply, how) for the document: warm if possible, else cold.

    ``remote``: the warm office that may fetch remote images (never local files).
    """
    if ctx.options["warm"] and office_server.uno_available():
        try:
            reply = office_server.get_server(remote=remote).convert_to_pdf(
                ctx.input_path, target, password=ctx.options["password"], csv_options=csv_import_options(ctx),
                timeout=timeout, cancel=ctx.cancel_event, import_filter=IMPORT_FILTERS.get(ctx.source_format),
                main_thread=has_comments(ctx.input_path, ctx.source_format),
            )
            how = "warm"
        except office_server.DocumentKilledOffice as exc:
            target, reply, how = retry_cold_after_crash(ctx, timeout, exc), {}, "cold (retried)"
        except DocconvertError as exc:
            if ctx.options["password"] and not isinstance(exc, tools.ToolFailed) and _is_encrypted(ctx):
                raise DocconvertError("cannot open the password-protected document: the password is wrong") from None
            raise
    else:
        if ctx.options["password"]:
            raise DocconvertError("password= needs the warm LibreOffice (python3-uno); the cold fallback cannot pass it")
        target = convert_cold(ctx, timeout)
        reply, how = {}, "cold"
        if ctx.options["warm"]:
            ctx.warn("python3-uno is missing, so LibreOffice was started just for this document (slower). "
                     "Install it with: sudo apt-get install -y --no-install-recommends python3-uno")
    return target, reply, how


def has_comments(path: Path, fmt: str) -> bool:
    """Whether a Writer document carries comments (annotations), read cheaply before LibreOffice opens it.

    Writer lays out its comment sidebar from the event loop, building each comment's window from
    a .ui file Debian's ``-nogui`` packages lack: such documents convert on the office's main
    thread, where that never happens (``_office_bridge``). A document this misses and that
    crashes the office is retried cold.
    """
    try:
        if fmt == "docx":
            with zipfile.ZipFile(path) as zf:
                return any(name.startswith("word/comments") for name in zf.namelist())
        if fmt == "odt":
            with zipfile.ZipFile(path) as zf, zf.open("content.xml") as content:
                return _stream_contains(content, b"<office:annotation")
        if fmt in ("rtf", "html"):
            with open(path, "rb") as fh:
                return _stream_contains(fh, b"{\\*\\atnid" if fmt == "rtf" else b"<!--")
        if fmt == "doc":
            return _word97_has_comments(path)
    except (OSError, KeyError, zipfile.BadZipFile, ValueError):
        return True  # unsure: the safe way
    return False


def _stream_contains(stream, needle: bytes, block: int = 1 << 20) -> bool:
    tail = b""
    for chunk in iter(lambda: stream.read(block), b""):
        if needle in tail + chunk:
            return True
        tail = chunk[-len(needle):]
    return False


def _word97_has_comments(path: Path) -> bool:
    """[MS-DOC] 2.5.1 Fib: FibRgFcLcb97 (at byte 154 of the WordDocument stream) holds lcbPlcfandRef,
    the size of the comment references, as its tenth field: non-zero when there are comments."""
    import olefile

    with olefile.OleFileIO(str(path)) as ole:
        if not ole.exists("WordDocument"):
            return True
        fib = ole.openstream("WordDocument").read(200)
    return len(fib) < 194 or int.from_bytes(fib[190:194], "little") != 0


def retry_cold_after_crash(ctx: ConversionContext, timeout: float, crash: Exception) -> Path:
    """Convert again with a LibreOffice started just for this document, after it killed the warm one."""
    if ctx.options["password"]:
        raise DocconvertError(f"LibreOffice crashed on this document ({crash}); a retry with a fresh "
                              "LibreOffice cannot pass password=, so the document was not converted") from None
    if ctx.cancel_event is not None and ctx.cancel_event.is_set():
        raise DocconvertError("the job was canceled") from None
    try:
        target = convert_cold(ctx, timeout)
    except DocconvertError as exc:
        raise DocconvertError(f"LibreOffice crashed on this document ({crash}), and a retry with a fresh "
                              f"LibreOffice failed too: {exc}") from None
    ctx.warn(f"the warm LibreOffice crashed on this document ({crash}); it was converted again by a "
             "LibreOffice started just for it (slower). The warm one restarts for the next document.")
    return target


def check_document(ctx: ConversionContext) -> None:
    """Refuse empty files and password-protected documents without a password before bothering LibreOffice."""
    size = ctx.input_path.stat().st_size
    if size == 0:
        raise DocconvertError("the document is empty (0 bytes)")
    if _is_encrypted(ctx) and not ctx.options["password"]:
        raise DocconvertError("the document is password-protected; pass password=... to convert it")


def _is_encrypted(ctx: ConversionContext) -> bool:
    return is_password_protected(ctx.input_path)


def csv_import_options(ctx: ConversionContext) -> str | None:
    """LibreOffice CSV import options that keep every cell as written (``007`` stays ``007``).

    Tokens: comma, double quote, UTF-8 (76), from line 1, then each column's
    format as ``column/2`` (2 = text), so nothing is reinterpreted as a number or date.
    """
    if ctx.source_format != "csv":
        return None
    import csv

    with ctx.input_path.open(newline="", encoding="utf-8", errors="replace") as fh:
        columns = max((len(row) for _, row in zip(range(1000), csv.reader(fh))), default=1)
    formats = "/".join(f"{col}/2" for col in range(1, max(columns, 1) + 1))
    return f"44,34,76,1,{formats},0,true,false"


_cold_profile: Path | None = None


def _cold_profile_dir() -> Path:
    """One LibreOffice profile per Python process for cold conversions (creating one costs seconds)."""
    global _cold_profile
    if _cold_profile is None:
        profile = Path(tempfile.mkdtemp(prefix="docconvert-office-cold-"))
        office_server.write_offline_profile(profile)
        # A fresh profile makes LibreOffice restart itself once, which a confined office cannot do (its
        # first IPC pipe stays in /tmp): initialise it now, with no document, so no confinement is needed.
        try:
            tools.run([office_server.SOFFICE.require(), "--headless", "--norestore", "--terminate_after_init",
                       f"-env:UserInstallation={profile.as_uri()}"], cwd=profile, timeout=120,
                      memory_mb=office_server.OFFICE_MEMORY_MB, env={"TMPDIR": str(profile), "HOME": str(profile)})
        except tools.ToolFailed:
            pass  # the conversion itself reports what is wrong
        atexit.register(shutil.rmtree, profile, True)
        atexit.register(office_server.remove_stale_pipe, profile)
        _cold_profile = profile
    return _cold_profile


def convert_cold(ctx: ConversionContext, timeout: float) -> Path:
    """``soffice --convert-to pdf`` for this one document; returns the PDF's path."""
    outdir = ctx.workdir / "cold"
    outdir.mkdir(exist_ok=True)
    convert_to = "pdf"
    args = [office_server.SOFFICE.require(), "--headless", "--norestore", "--nologo", "--nolockcheck",
            f"-env:UserInstallation={_cold_profile_dir().as_uri()}"]
    if ctx.source_format == "csv":
        args.append(f"--infilter=Text - txt - csv (StarCalc):{csv_import_options(ctx)}")
    elif ctx.source_format in IMPORT_FILTERS:
        args.append(f"--infilter={IMPORT_FILTERS[ctx.source_format]}")
        convert_to = "pdf:writer_pdf_Export"
    args += ["--convert-to", convert_to, "--outdir", str(outdir), str(ctx.input_path)]
    try:
        # TMPDIR inside the job's folder: LibreOffice's pipe and temp files go where they are cleaned up.
        # Confined like the warm office: it reads the system, this one input, and writes its folders.
        ctx.run_tool(args, timeout=timeout, memory_mb=office_server.OFFICE_MEMORY_MB,
                     env={"TMPDIR": str(ctx.workdir), "HOME": str(_cold_profile_dir())},
                     confine=office_server.office_policy(_cold_profile_dir(), read_files=[ctx.input_path],
                                                         read_write=[ctx.workdir]))
    except tools.ToolFailed as exc:
        raise DocconvertError(f"LibreOffice could not convert the document ({exc})") from None
    finally:
        office_server.remove_stale_pipe(_cold_profile_dir())  # the confined office cannot
    produced = outdir / (ctx.input_path.stem + ".pdf")
    if not produced.exists():
        raise DocconvertError("LibreOffice could not convert the document (it wrote no PDF; damaged or unsupported?)")
    return produced
