"""``dc.doctor()``: which system tools the embedded engine finds, and how to install the rest."""

from __future__ import annotations

import html
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from . import tools

INSTALL = "sudo apt-get install -y --no-install-recommends"
FONT_FILES = {
    "fonts-dejavu-core": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "fonts-liberation": "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "fonts-wqy-zenhei": "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # Chinese, Japanese, Korean
}
#: What each tool is for, shown next to it.
USED_FOR = {
    "tesseract": "OCR, table recognition, OCR of DjVu pages",
    "ddjvu": "DjVu → PDF/images",
    "djvused": "DjVu page sizes and hidden text",
    "cjb2": "building DjVu samples (tests)",
    "djvm": "building DjVu samples (tests)",
    "soffice": "Office → PDF",
}


@dataclass
class Check:
    """One line of the report."""

    name: str
    found: bool
    version: str = ""
    path: str = ""
    package: str = ""
    used_for: str = ""
    note: str = ""

    @property
    def install(self) -> str:
        return "" if self.found or not self.package else f"{INSTALL} {self.package}"


@dataclass
class DoctorReport:
    """The result of :func:`doctor`: ``checks``, ``ok``, ``missing`` and the install command."""

    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.found for check in self.checks)

    @property
    def missing(self) -> list[Check]:
        return [check for check in self.checks if not check.found]

    @property
    def install_command(self) -> str:
        """One command installing every missing package, or "" when nothing is missing."""
        packages = []
        for check in self.missing:
            for package in check.package.split():
                if package not in packages:
                    packages.append(package)
        return f"{INSTALL} {' '.join(packages)}" if packages else ""

    def to_dict(self) -> dict:
        return {"ok": self.ok, "install_command": self.install_command,
                "checks": [dict(vars(c), install=c.install) for c in self.checks]}

    def __repr__(self) -> str:
        lines = ["docconvert_nb doctor: " + ("every tool found" if self.ok else f"{len(self.missing)} missing")]
        width = max(len(c.name) for c in self.checks) if self.checks else 10
        for c in self.checks:
            mark = "ok " if c.found else "MISSING"
            detail = f"{c.version}  {c.path}".strip() if c.found else f"install: {c.install}"
            note = f"  ({c.note})" if c.note else ""
            lines.append(f"  {mark:7} {c.name:<{width}}  {detail}{note}  — {c.used_for}")
        if not self.ok:
            lines.append(f"Install everything missing with:\n  {self.install_command}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = []
        for c in self.checks:
            status = ('<span style="color:#1a7f37">✓ found</span>' if c.found
                      else '<span style="color:#cf222e">✗ missing</span>')
            detail = (html.escape(c.version) if c.found else f"<code>{html.escape(c.install)}</code>")
            note = f"<br><small>{html.escape(c.note)}</small>" if c.note else ""
            rows.append(
                f"<tr><td><b>{html.escape(c.name)}</b></td><td>{status}</td><td>{detail}{note}</td>"
                f"<td><code>{html.escape(c.path)}</code></td><td>{html.escape(c.used_for)}</td></tr>"
            )
        footer = ("" if self.ok else
                  f"<p>Install everything missing with:<br><code>{html.escape(self.install_command)}</code></p>")
        title = "every tool found" if self.ok else f"{len(self.missing)} missing"
        return (f"<div><b>docconvert_nb doctor</b>: {html.escape(title)}<table>"
                "<tr><th>tool</th><th>status</th><th>version / install</th><th>path</th><th>used for</th></tr>"
                + "".join(rows) + f"</table>{footer}</div>")


def _version(path: str, args: tuple[str, ...]) -> str:
    try:
        proc = subprocess.run([path, *args], capture_output=True, timeout=30, env={"OMP_THREAD_LIMIT": "1",
                                                                                  "PATH": "/usr/bin:/bin"})
    except (OSError, subprocess.TimeoutExpired):
        return ""
    for line in (proc.stdout + proc.stderr).decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line and any(ch.isdigit() for ch in line):
            return line[:80]
    return ""


def _tool_check(tool: tools.Tool) -> Check:
    path = tool.path()
    version = _version(path, tool.version_args) if path else ""
    return Check(tool.name, bool(path), version, path or "", tool.debian_package, USED_FOR.get(tool.name, ""))


def doctor() -> DoctorReport:
    """Check every system tool the embedded engine uses; returns a report that prints and renders.

    Each line says whether the tool is found, its version and path, what it
    is for, and when missing the exact ``apt-get`` command that installs it.
    """
    from . import (
        converters,  # noqa: F401  (registers the tools)
        office_server,
    )
    from .converters import _tesseract

    report = DoctorReport()
    for name in ("tesseract", "ddjvu", "djvused", "cjb2", "djvm", "soffice"):
        tool = tools.TOOLS.get(name)
        if tool is not None:
            report.checks.append(_tool_check(tool))
    tesseract = next((c for c in report.checks if c.name == "tesseract"), None)
    if tesseract is not None and tesseract.found:
        report.checks.append(_languages_check(_tesseract))
    uno = office_server.uno_available()
    report.checks.append(Check(
        "python3-uno", uno, "import uno works" if uno else "", office_server.UNO_PYTHON if uno else "",
        "python3-uno", "warm LibreOffice (without it every document starts its own office)",
    ))
    report.checks.append(_sandbox_check())
    for package, path in FONT_FILES.items():
        found = Path(path).exists()
        report.checks.append(Check(package, found, Path(path).name if found else "", path if found else "",
                                   package, "legible text in rendered pages and PDFs"))
    return report


def _sandbox_check() -> Check:
    """Whether tools (LibreOffice above all) can be confined, and under which memory ceiling."""
    import resource

    from . import sandbox

    abi = sandbox.available()
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    ceiling = "" if hard == resource.RLIM_INFINITY else f"; address space capped at {hard // 2**20:,} MB (ulimit -v), tools fit inside it"
    if abi:
        network = "files and network" if abi >= 4 else "files (network rules need Linux ≥ 6.7)"
        return Check("landlock", True, f"ABI {abi}", "", "", "confining LibreOffice and the other tools",
                     f"documents cannot make them read other {network}{ceiling}")
    return Check("landlock", True, "not available", "", "", "confining LibreOffice and the other tools",
                 "this kernel has no Landlock (Linux ≥ 5.13): LibreOffice is kept offline by its settings "
                 f"alone, and remote_resources=True is refused{ceiling}")


def _languages_check(_tesseract) -> Check:
    try:
        languages = _tesseract.installed_languages(refresh=True)
    except Exception as exc:  # report, never raise, from the doctor
        return Check("tesseract languages", False, note=str(exc), package="tesseract-ocr-eng",
                     used_for="OCR languages")
    usable = [code for code in languages if code != "osd"]
    note = (f"add a language with: {INSTALL} {_tesseract.language_pack('deu')} (any code from `apt-cache search tesseract-ocr-`)")
    if "osd" not in languages:
        note += f"; orientation detection (rotate=True) needs {INSTALL} tesseract-ocr-osd"
    return Check("tesseract languages", "eng" in usable, ", ".join(languages), "", "tesseract-ocr-eng",
                 "OCR languages (lang=...)", note)
