"""Office → PDF through the warm LibreOffice; every PDF is opened and its words checked."""

import io
import os
import signal
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.engine.office_server import get_server
from docconvert_nb.errors import JobFailed

pytestmark = [pytest.mark.tools, pytest.mark.slow]

RTF = rb"{\rtf1\ansi{\fonttbl\f0\fswiss Helvetica;}\f0\pard Rich text survives {\b bold} words.\par}"
HTML = b"<!doctype html><html><body><h1>Web page title</h1><p>Paragraph of hypertext.</p></body></html>"


def to_pdf(provider, data, name, **options):
    return dc.convert(data, to="pdf", provider=provider, name=name, **options).wait(timeout=180)


def pdf_words(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))


@pytest.mark.parametrize("name, make, words", [
    ("report.docx", lambda: samples.docx_document(["Alpha beta gamma delta."]), ["Quarterly report", "Alpha beta gamma delta."]),
    ("sheet.xlsx", lambda: samples.xlsx_document(), ["City Year Visitors", "Lisbon 2021 1250"]),
    ("slides.pptx", lambda: samples.pptx_document([("Roadmap", "Ship the engine")]), ["Roadmap", "Ship the engine"]),
    ("data.csv", lambda: b"Code,Amount\n007,1.50\n", ["Code Amount", "007 1.50"]),
    ("page.html", lambda: HTML, ["Web page title", "Paragraph of hypertext."]),
    ("letter.rtf", lambda: RTF, ["Rich text survives bold words."]),
])
def test_office_documents_become_pdfs_with_their_words(provider, name, make, words):
    (out,) = to_pdf(provider, make(), name).outputs
    text = pdf_words(out.read())
    for phrase in words:
        assert phrase in text
    assert out.metadata["pages"] >= 1 and out.metadata["office"] == "warm"


LEGACY_AND_OPEN = [  # (made from, converted to with LibreOffice itself, phrase to find in the PDF)
    ("report.docx", "odt", "Alpha beta gamma delta."),
    ("report.docx", "doc", "Alpha beta gamma delta."),
    ("sheet.xlsx", "ods", "Lisbon 2021 1250"),
    ("sheet.xlsx", "xls", "Lisbon 2021 1250"),
    ("slides.pptx", "odp", "Ship the engine"),
    ("slides.pptx", "ppt", "Ship the engine"),
]


@pytest.fixture(scope="module")
def legacy_and_open_documents(tmp_path_factory):
    """ODT/ODS/ODP and Word/Excel/PowerPoint 97 files, written by LibreOffice from our OOXML samples
    (there is no Python writer for the old binary formats)."""
    import subprocess

    from docconvert_nb.engine.office_server import SOFFICE

    folder = tmp_path_factory.mktemp("legacy")
    sources = {
        "report.docx": samples.docx_document(["Alpha beta gamma delta."]),
        "sheet.xlsx": samples.xlsx_document(),
        "slides.pptx": samples.pptx_document([("Roadmap", "Ship the engine")]),
    }
    for name, data in sources.items():
        (folder / name).write_bytes(data)
    profile = (folder / "profile").as_uri()
    for name, target, _ in LEGACY_AND_OPEN:
        subprocess.run([SOFFICE.require(), "--headless", "--norestore", f"-env:UserInstallation={profile}",
                        "--convert-to", target, "--outdir", str(folder), str(folder / name)],
                       check=True, capture_output=True, timeout=180, env={**os.environ, "TMPDIR": str(folder)})
    return folder


@pytest.mark.parametrize("made_from, fmt, phrase", LEGACY_AND_OPEN)
def test_opendocument_and_office_97_files_become_pdfs(provider, legacy_and_open_documents, made_from, fmt, phrase):
    path = legacy_and_open_documents / f"{Path(made_from).stem}.{fmt}"
    job = dc.convert(path, to="pdf", provider=provider).wait(timeout=180)
    assert job.source_format == fmt  # told apart by content (OLE2 streams, ODF mimetype)
    assert phrase in pdf_words(job.outputs[0].read())


def test_the_office_process_stays_warm_and_is_replaced_when_killed(provider):
    server = get_server()
    server.stop()  # start from cold so the first job pays the start-up
    starts = server.starts
    began = time.monotonic()
    to_pdf(provider, samples.docx_document(["First document."]), "one.docx")
    first_seconds = time.monotonic() - began
    pid = server.pid
    began = time.monotonic()
    second = to_pdf(provider, samples.docx_document(["Second document."]), "two.docx")
    second_seconds = time.monotonic() - began
    assert server.pid == pid and server.starts == starts + 1  # the same office served both
    # The engine fixture runs on a fake clock, so wall time is measured here; the first
    # job paid the office's start-up (seconds), the second only the conversion.
    assert second_seconds < first_seconds
    assert "Second document." in pdf_words(second.outputs[0].read())

    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    third = to_pdf(provider, samples.docx_document(["Third document."]), "three.docx")
    assert "Third document." in pdf_words(third.outputs[0].read())
    assert server.pid not in (None, pid) and server.starts == starts + 2


def test_a_conversion_over_its_time_limit_stops_the_office_and_the_next_job_works(provider):
    job = dc.convert(samples.docx_document(["Slow"]), to="pdf", provider=provider, name="slow.docx", timeout=0.001)
    with pytest.raises(JobFailed):
        job.wait(timeout=120)
    assert "took longer than" in job.message
    (out,) = to_pdf(provider, samples.docx_document(["Back to normal."]), "next.docx").outputs
    assert "Back to normal." in pdf_words(out.read())


def big_csv(rows: int) -> bytes:
    """A CSV whose PDF has hundreds of pages: seconds of work for LibreOffice."""
    return ("Code,Amount,Name\n" + "".join(f"{i},{i * 1.5},name {i}\n" for i in range(rows))).encode()


def wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_canceling_a_running_office_job_stops_the_office_and_the_next_job_works(provider):
    server = get_server()
    server.start()
    starts, conversions = server.starts, server.conversions
    job = dc.convert(big_csv(40000), to="pdf", provider=provider, name="big.csv")
    assert wait_until(lambda: job.status is dc.JobStatus.PROCESSING)
    job.cancel()
    assert job.status is dc.JobStatus.CANCELED
    # The office abandons the document: it is stopped instead of converting on for seconds.
    assert wait_until(lambda: server.pid is None, timeout=20)
    assert server.conversions == conversions
    (out,) = to_pdf(provider, samples.docx_document(["After the cancel."]), "after.docx").outputs
    assert "After the cancel." in pdf_words(out.read()) and server.starts == starts + 1


def test_a_job_canceled_while_waiting_for_the_office_never_reaches_it(provider):
    server = get_server()
    server.start()
    conversions = server.conversions
    with server._lock:  # another conversion holds the office
        job = dc.convert(samples.docx_document(["Never converted."]), to="pdf", provider=provider, name="queued.docx")
        assert wait_until(lambda: job.status is dc.JobStatus.PROCESSING)
        time.sleep(0.3)  # the job is now waiting for the office
        job.cancel()
        time.sleep(0.5)  # time for the worker to notice the cancel and give up
    assert job.status is dc.JobStatus.CANCELED
    time.sleep(0.5)
    assert server.conversions == conversions


def test_password_protected_docx(provider):
    locked = samples.encrypted_docx("s3cret", ["Confidential words."])
    job = dc.convert(locked, to="pdf", provider=provider, name="locked.docx")
    with pytest.raises(JobFailed):
        job.wait(timeout=120)
    assert "password-protected" in job.message and "s3cret" not in job.message
    wrong = dc.convert(locked, to="pdf", provider=provider, name="locked.docx", password="nope")
    with pytest.raises(JobFailed):
        wrong.wait(timeout=120)
    assert "password is wrong" in wrong.message
    (out,) = to_pdf(provider, locked, "locked.docx", password="s3cret").outputs
    assert "Confidential words." in pdf_words(out.read())


def test_cold_fallback_converts_too(provider):
    job = to_pdf(provider, samples.docx_document(["Cold start."]), "cold.docx", warm=False)
    assert "Cold start." in pdf_words(job.outputs[0].read()) and job.outputs[0].metadata["office"] == "cold"


def test_damaged_documents_fail_clearly(provider):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:  # a DOCX whose parts are garbage
        zf.writestr("[Content_Types].xml", "not xml at all")
        zf.writestr("word/document.xml", "\x00\x01garbage")
    job = dc.convert(buf.getvalue(), to="pdf", provider=provider, name="broken.docx")
    with pytest.raises(JobFailed):
        job.wait(timeout=120)
    assert "LibreOffice" in job.message
    # 0 bytes and truncated zips never reach LibreOffice: their jobs fail at once, saying why.
    for data, name, reason in [(b"", "empty.docx", r"the job for empty.docx failed: .* is empty \(0 bytes\)"),
                               (samples.docx_document()[:300], "cut.docx", "damaged or truncated")]:
        job = dc.convert(data, to="pdf", provider=provider, name=name)
        with pytest.raises(JobFailed, match=reason):
            job.wait(timeout=5)
        assert job.status is dc.JobStatus.FAILED and job.source_name == name
