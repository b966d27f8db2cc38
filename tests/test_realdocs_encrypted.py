"""Password-protected Word/Excel 97, OpenDocument and OOXML: one clear message at once, and password= works."""

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc
from docconvert_nb import fileformats, samples
from docconvert_nb.engine import office_server
from docconvert_nb.errors import JobFailed

from .realdocs import realdoc

pytestmark = [pytest.mark.tools, pytest.mark.slow]

# Saves each document again with a password, in the running warm office (LibreOffice writes
# encrypted .doc/.xls/.odt; soffice --convert-to cannot pass a password).
SAVE_WITH_PASSWORD = r"""
import sys, uno
from com.sun.star.beans import PropertyValue
def pv(name, value):
    p = PropertyValue(); p.Name, p.Value = name, value; return p
local = uno.getComponentContext()
resolver = local.ServiceManager.createInstanceWithContext("com.sun.star.bridge.UnoUrlResolver", local)
ctx = resolver.resolve(f"uno:socket,host=127.0.0.1,port={sys.argv[1]};urp;StarOffice.ComponentContext")
desktop = ctx.ServiceManager.createInstanceWithContext("com.sun.star.frame.Desktop", ctx)
for spec in sys.argv[3:]:
    source, filter_name, target = spec.split("|")
    doc = desktop.loadComponentFromURL(uno.systemPathToFileUrl(source), "_blank", 0, (pv("Hidden", True),))
    password = (pv("Password", sys.argv[2]),) if sys.argv[2] != "-" else ()
    doc.storeToURL(uno.systemPathToFileUrl(target), (pv("FilterName", filter_name),) + password)
    doc.close(True)
"""
PASSWORD = "s3cret"


def save_in_the_office(server, password: str, jobs: list[tuple[Path, str, Path]]) -> None:
    """Save each ``(source, filter, target)`` through the running warm office.

    The office may read and write only its own profile (it is confined: see engine/sandbox.py),
    so the files pass through a folder there.
    """
    work = Path(tempfile.mkdtemp(dir=server._profile))
    try:
        script = work / "save.py"
        script.write_text(SAVE_WITH_PASSWORD)
        specs = []
        for n, (source, filter_name, target) in enumerate(jobs):
            staged = work / f"in-{n}{source.suffix}"
            shutil.copyfile(source, staged)
            specs.append(f"{staged}|{filter_name}|{work / f'out-{n}{target.suffix}'}")
        subprocess.run([office_server.UNO_PYTHON, str(script), str(server._port), password, *specs],
                       check=True, capture_output=True, timeout=120)
        for n, (_, _, target) in enumerate(jobs):
            shutil.copyfile(work / f"out-{n}{target.suffix}", target)
    finally:
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def protected(tmp_path_factory):
    folder = tmp_path_factory.mktemp("protected")
    (folder / "report.docx").write_bytes(samples.docx_document(["Confidential words."]))
    (folder / "sheet.xlsx").write_bytes(samples.xlsx_document())
    server = office_server.get_server()
    server.start()
    save_in_the_office(server, PASSWORD, [(folder / "report.docx", "MS Word 97", folder / "locked.doc"),
                                          (folder / "sheet.xlsx", "MS Excel 97", folder / "locked.xls"),
                                          (folder / "report.docx", "writer8", folder / "locked.odt")])
    return folder


def pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return " ".join(pdf[i].get_textpage().get_text_range() for i in range(len(pdf)))


@pytest.mark.parametrize("name, phrase", [("locked.doc", "Confidential words."), ("locked.xls", "Lisbon"),
                                          ("locked.odt", "Confidential words.")])
def test_protected_legacy_and_opendocument_files(provider, protected, name, phrase):
    path = protected / name
    assert fileformats.is_password_protected(path)
    began = time.monotonic()
    job = dc.convert(path, to="pdf", provider=provider)
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert time.monotonic() - began < 2  # told before LibreOffice is asked
    assert "password-protected; pass password=" in job.message
    wrong = dc.convert(path, to="pdf", provider=provider, password="nope")
    with pytest.raises(JobFailed):
        wrong.wait(timeout=120)
    assert "password is wrong" in wrong.message and "nope" not in wrong.message
    (out,) = dc.convert(path, to="pdf", provider=provider, password=PASSWORD).wait(timeout=120).outputs
    assert phrase in pdf_text(out.read())


def test_unprotected_files_are_not_called_protected(protected, tmp_path):
    server = office_server.get_server()
    server.start()
    plain = tmp_path / "plain.doc"
    save_in_the_office(server, "-", [(protected / "report.docx", "MS Word 97", plain),
                                     (protected / "sheet.xlsx", "MS Excel 97", tmp_path / "plain.xls")])
    for path in (plain, tmp_path / "plain.xls", protected / "report.docx"):
        assert not fileformats.is_password_protected(path)


def test_a_presentation_with_the_encrypted_current_user_token_is_protected(tmp_path):
    import olefile

    ppt = realdoc("ppt/tika__testPPT.ppt")
    copy = tmp_path / "locked.ppt"
    copy.write_bytes(ppt.read_bytes())
    assert not fileformats.is_password_protected(copy)
    with olefile.OleFileIO(str(copy), write_mode=True) as ole:
        atom = bytearray(ole.openstream("Current User").read())
        atom[12:16] = (0xF3D1C4DF).to_bytes(4, "little")  # [MS-PPT] 2.3.2: the encrypted document's token
        ole.write_stream("Current User", bytes(atom))
    assert fileformats.is_password_protected(copy)


@pytest.mark.parametrize("name", ["docx/tika__testWORD_protected_passtika.docx",
                                  "xlsx/tika__testEXCEL_protected_passtika.xlsx",
                                  "pptx/tika__testPPT_protected_passtika.pptx"])
def test_real_protected_ooxml_with_and_without_the_password(provider, name):
    path = realdoc(name)
    job = dc.convert(path, to="pdf", provider=provider)
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert "password-protected; pass password=" in job.message
    job = dc.convert(path, to="pdf", provider=provider, password="tika").wait(timeout=120)
    assert job.outputs[0].metadata["pages"] >= 1
