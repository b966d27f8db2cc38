"""A small hostile document fails fast instead of holding the one office every job shares."""

from __future__ import annotations

import time

import pytest

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.engine import office_server
from docconvert_nb.engine.office_server import OfficeServer, ToolFailed
from docconvert_nb.errors import JobFailed

from . import safety_corpus as corpus

pytestmark = [pytest.mark.tools]


def _needs_office():
    if office_server.soffice_binary() is None or not office_server.uno_available():
        pytest.skip("LibreOffice with python3-uno is not installed")


def test_the_time_budget_grows_with_the_input_within_the_ceiling():
    assert office_server.time_budget(1_000) == pytest.approx(20.015)
    assert office_server.time_budget(2_000_000) == pytest.approx(50.0)
    assert office_server.time_budget(50_000_000) == 120.0
    assert office_server.time_budget(50_000_000, ceiling=30) == 30.0
    assert office_server.memory_budget_mb(2_000_000) == 1024 + 128


@pytest.mark.slow
@pytest.mark.parametrize("name, make", [("nested.docx", corpus.nested_tables_docx),
                                        ("rows.xlsx", corpus.million_rows_xlsx)])
def test_a_small_hostile_document_fails_within_its_budget_and_the_next_job_runs(provider, monkeypatch, name, make):
    """Both run for minutes unbounded; the default budget (20 s for them) is cut to 6 s to keep the test short."""
    _needs_office()
    monkeypatch.setattr(office_server, "TIME_BUDGET_BASE", 6.0)
    data = make()
    assert len(data) < 2000
    office_server.get_server().start()  # the office's start is not the document's time
    started = time.monotonic()
    job = dc.convert(data, to="pdf", provider=provider, name=name)
    with pytest.raises(JobFailed, match=r"took longer than 6 s"):
        job.wait(timeout=120)
    assert time.monotonic() - started < 20
    ok = dc.convert(samples.docx_document(["After the hostile one."]), to="pdf", provider=provider,
                    name="next.docx").wait(timeout=120)
    assert ok.outputs[0].metadata["pages"] >= 1


@pytest.mark.slow
def test_the_office_is_stopped_past_its_memory_budget(tmp_path):
    _needs_office()
    source = tmp_path / "letter.docx"
    source.write_bytes(samples.docx_document(["Some words."]))
    tight = OfficeServer(rss_budget_mb=20)  # any office is larger: the watchdog must stop it
    try:
        with pytest.raises(ToolFailed, match=r"more than 2\d MB of memory"):
            tight.convert_to_pdf(source, tmp_path / "out.pdf", timeout=60)
        assert not tight.alive()
        tight.rss_budget_mb = office_server.RSS_BUDGET_MB
        tight.convert_to_pdf(source, tmp_path / "out.pdf", timeout=60)
        assert 50 < tight.peak_rss_mb < office_server.RSS_BUDGET_MB
    finally:
        tight.stop()
