"""Calling Tesseract: languages, one page through its renderers, word boxes.

Tesseract runs single-threaded (``OMP_THREAD_LIMIT=1``): on a shared machine
its OpenMP threads spin against each other and a page takes 8× longer. The
engine gets parallelism from several worker processes instead.
"""

from __future__ import annotations

import csv
import io
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ...errors import DocconvertError
from .. import tools
from ..tools import Tool, register_tool

TESSERACT = register_tool(Tool("tesseract", "tesseract", "tesseract-ocr"))
TESSERACT_ENV = {"OMP_THREAD_LIMIT": "1"}
#: Tesseract's page segmentation modes (``--psm``); 0 is orientation detection only.
PSM_CHOICES = tuple(range(1, 14))

_languages: tuple[str, ...] | None = None
_languages_lock = threading.Lock()


def installed_languages(refresh: bool = False) -> tuple[str, ...]:
    """Language packs Tesseract can use (``tesseract --list-langs``), cached per process."""
    global _languages
    with _languages_lock:
        if _languages is None or refresh:
            TESSERACT.require()
            proc = tools.run([TESSERACT.binary, "--list-langs"], cwd="/", timeout=30, env=TESSERACT_ENV)
            lines = proc.stdout.decode("utf-8", "replace").splitlines()
            _languages = tuple(sorted(line.strip() for line in lines[1:] if line.strip()))
        return _languages


def language_pack(lang: str) -> str:
    """Debian package holding Tesseract's data for ``lang`` (``deu`` → ``tesseract-ocr-deu``)."""
    return "tesseract-ocr-" + lang.lower().replace("_", "-")


def check_languages(lang: str) -> str:
    """Validate ``"eng+deu"`` against the installed packs; raise a message that says how to add one."""
    wanted = [part.strip() for part in str(lang).split("+") if part.strip()]
    if not wanted:
        raise DocconvertError("lang is empty: give Tesseract language codes such as 'eng' or 'eng+deu'")
    have = installed_languages()
    missing = [code for code in wanted if code not in have]
    if missing:
        have = installed_languages(refresh=True)
        missing = [code for code in wanted if code not in have]
    if missing:
        usable = ", ".join(code for code in have if code != "osd") or "none"
        packages = " ".join(language_pack(code) for code in missing)
        raise DocconvertError(
            f"Tesseract has no language data for {', '.join(missing)}; installed: {usable}. "
            f"Install with: sudo apt-get install -y --no-install-recommends {packages}"
        )
    return "+".join(wanted)


def run_page(
    ctx,
    image: Path,
    outbase: Path,
    renderers: Iterable[str],
    *,
    lang: str,
    psm: int = 3,
    dpi: float | None = None,
) -> dict[str, Path]:
    """OCR one page image with every renderer at once; returns renderer → output file."""
    renderers = list(dict.fromkeys(renderers))
    args = [TESSERACT.require(), str(image), str(outbase), "-l", lang, "--psm", str(psm)]
    if dpi:
        args += ["--dpi", str(int(round(dpi)))]
    ctx.run_tool(args + renderers, env=TESSERACT_ENV)
    suffix = {"txt": ".txt", "hocr": ".hocr", "tsv": ".tsv", "pdf": ".pdf"}
    produced = {}
    for renderer in renderers:
        path = outbase.with_name(outbase.name + suffix[renderer])
        if not path.exists():
            raise DocconvertError(f"tesseract did not write its {renderer} output")
        produced[renderer] = path
    return produced


@dataclass(frozen=True)
class Word:
    """One recognised word: its text, confidence (0–100) and box in pixels (top-left origin)."""

    page: int
    block: int
    paragraph: int
    line: int
    text: str
    confidence: float
    left: int
    top: int
    width: int
    height: int


TSV_COLUMNS = ["level", "page_num", "block_num", "par_num", "line_num", "word_num",
               "left", "top", "width", "height", "conf", "text"]


def parse_tsv(text: str, page: int = 1) -> list[Word]:
    """The words of a Tesseract TSV (level 5 rows with text), for page number ``page``."""
    words = []
    reader = csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE)
    for row in reader:
        if row.get("level") != "5" or not (row.get("text") or "").strip():
            continue
        try:
            confidence = float(row["conf"])
        except (TypeError, ValueError):
            continue
        if confidence < 0:
            continue
        words.append(
            Word(page, int(row["block_num"]), int(row["par_num"]), int(row["line_num"]), row["text"].strip(),
                 confidence, int(row["left"]), int(row["top"]), int(row["width"]), int(row["height"]))
        )
    return words


def osd_rotation(ctx, image: Path) -> int | None:
    """Degrees (0/90/180/270) Tesseract's orientation detection says to rotate clockwise, or None."""
    if "osd" not in installed_languages():
        return None
    try:
        proc = ctx.run_tool([TESSERACT.require(), str(image), "-", "--psm", "0"], env=TESSERACT_ENV)
    except tools.ToolFailed:
        return None  # too little text to tell; OCR the page as it is
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        if line.startswith("Rotate:"):
            try:
                return int(line.split(":", 1)[1]) % 360
            except ValueError:
                return None
    return None
