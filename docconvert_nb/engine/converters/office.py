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
from pathlib import Path

from ...errors import DocconvertError
from ...fileformats import OFFICE_FORMATS, SNIFF_BYTES, is_encrypted_office
from .. import office_server, tools
from ..context import ConversionContext
from ..registry import Option, converter
from .pdf import open_pdf

PASSWORD = Option("password", str, None, "password of a protected document")
WARM = Option("warm", bool, True, "reuse the warm LibreOffice process (False: start one just for this document)")
TIMEOUT = Option("timeout", (int, float), None,
                 "seconds one conversion may take, up to 3600 (default: 20 s + 15 s per MB of input, at most the "
                 "engine's tool limit)", minimum=0.001, maximum=3600)


REMOTE = Option("remote_resources", bool, False,
                "let the document fetch the http(s) images and links it names (off: a document could reach "
                "any server; local files stay unreadable either way, which needs Landlock, Linux ≥ 5.13)")


@converter(sources=OFFICE_FORMATS, targets={"pdf"}, options=[PASSWORD, WARM, TIMEOUT, REMOTE], tools=["soffice"])
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
    if ctx.options["warm"] and office_server.uno_available():
        try:
            reply = office_server.get_server(remote=remote).convert_to_pdf(
                ctx.input_path, target, password=ctx.options["password"], csv_options=csv_import_options(ctx),
                timeout=timeout, cancel=ctx.cancel_event,
            )
        except DocconvertError as exc:
            if ctx.options["password"] and not isinstance(exc, tools.ToolFailed) and _is_encrypted(ctx):
                raise DocconvertError("cannot open the password-protected document: the password is wrong") from None
            raise
        how = "warm"
    else:
        if ctx.options["password"]:
            raise DocconvertError("password= needs the warm LibreOffice (python3-uno); the cold fallback cannot pass it")
        target = convert_cold(ctx, timeout)
        reply, how = {}, "cold"
        if ctx.options["warm"]:
            ctx.warn("python3-uno is missing, so LibreOffice was started just for this document (slower). "
                     "Install it with: sudo apt-get install -y --no-install-recommends python3-uno")
    if not target.exists() or target.stat().st_size == 0:
        raise DocconvertError("LibreOffice wrote no PDF (the document may be empty or damaged)")
    with open_pdf(target) as pdf:
        pages = len(pdf)
    metadata = {"pages": pages, "office": how}
    if reply.get("filter"):
        metadata["filter"] = reply["filter"]
    ctx.add_output(target, metadata=metadata)


def check_document(ctx: ConversionContext) -> None:
    """Refuse empty files and password-protected OOXML without a password before bothering LibreOffice."""
    size = ctx.input_path.stat().st_size
    if size == 0:
        raise DocconvertError("the document is empty (0 bytes)")
    if _is_encrypted(ctx) and not ctx.options["password"]:
        raise DocconvertError("the document is password-protected; pass password=... to convert it")


def _is_encrypted(ctx: ConversionContext) -> bool:
    with ctx.input_path.open("rb") as fh:
        head = fh.read(SNIFF_BYTES)
    return is_encrypted_office(head, ctx.input_path.read_bytes())


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
