"""Static reprs: the same facts in text and HTML, well-formed, bounded, without secrets."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

import docconvert_nb as dc
from docconvert_nb.jobs import JobGroup
from docconvert_nb.notebook import WIDGET_MIME, mimebundle, static_bundle
from docconvert_nb.status import JobStatus
from docconvert_nb.testing import ScriptedProvider, pdf_output

from .helpers import image_bytes
from .test_notebook_widgets import complete, fail, scripted_job


def both(obj) -> tuple[str, str]:
    bundle = static_bundle(obj)
    ET.fromstring(bundle["text/html"])  # well-formed XML, one root
    return bundle["text/plain"], bundle["text/html"]


def test_completed_job_facts_in_text_and_html():
    job = scripted_job(name="invoice.png")
    complete(job, pdf_output("invoice.pdf", b"%PDF" + b"x" * 2044, pages=2), pdf_output("invoice.txt", b"hello"))
    for text in both(job):
        for fact in ("job-0001", "completed", "invoice.png", "pdf", "invoice.pdf", "2.0 kB", "invoice.txt", "5 B",
                     "Scripted service" if "<div" in text else "scripted"):
            assert fact in text, (fact, text[:300])


def test_failed_job_facts_in_text_and_html():
    job = scripted_job(name="scan.png")
    job.provider.report(job, JobStatus.PROCESSING, warnings=["resolution below 150 dpi"])
    fail(job, "page 1 is damaged")
    for text in both(job):
        for fact in ("job-0001", "failed", "scan.png", "page 1 is damaged", "resolution below 150 dpi"):
            assert fact in text, (fact, text[:300])


def test_running_job_says_the_snapshot_may_be_stale():
    job = scripted_job()
    job.provider.report(job, JobStatus.PROCESSING)
    text, html = both(job)
    assert "processing" in text and "processing" in html and "Snapshot taken at display time" in html


def test_markup_in_names_and_messages_is_escaped():
    job = scripted_job(name="<script>alert(1)</script> & co.png")
    fail(job, "bad <b>tag</b> & \"quotes\"")
    text, html = both(job)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&amp; co.png" in html
    assert "<b>tag</b>" not in html
    assert "<script>alert(1)</script> & co.png" in text  # text is shown as text


def test_no_secrets_in_any_repr():
    job = scripted_job(options={"api_key": "sk-VERYSECRET", "pages": "1-2"})
    fail(job, "GET https://api.example.com/v1/jobs?token=tok-SECRETVALUE&x=1 returned 500")
    bundle = static_bundle(job)
    for text in bundle.values():
        assert "sk-VERYSECRET" not in text and "tok-SECRETVALUE" not in text
        assert "token=***" in text


def test_long_lists_are_capped_and_say_so():
    job = scripted_job()
    complete(job, *[pdf_output(f"page-{i:03d}.pdf") for i in range(100)])
    fail_job = scripted_job()
    fail(fail_job, *[f"error {i}: " + "x" * 5000 for i in range(50)])
    text, html = both(job)
    for rendered in (text, html):
        assert "shown 20 of 100 outputs" in rendered and "page-019.pdf" in rendered and "page-020.pdf" not in rendered
    text, html = both(fail_job)
    assert "40 more error(s)" in text and "40 more error(s)" in html
    assert len(html) < 20_000 and len(text) < 10_000


def test_group_of_a_thousand_is_small_and_complete():
    provider = ScriptedProvider()
    group = JobGroup([scripted_job(provider, name=f"p{i:04d}.png") for i in range(1000)], name="batch")
    for job in group[:700]:
        complete(job)
    for job in group[700:712]:
        fail(job, f"broken page in {job.source_name}")
    text, html = both(group)
    for rendered in (text, html):
        assert "batch" in rendered
        assert "shown 20 of 1000 jobs" in rendered
        assert "p0000.png" in rendered and "p0999.png" not in rendered
        assert "broken page in p0700.png" in rendered  # failures are listed even beyond the first page
        assert "2 more failed job(s)" in rendered
    assert "712/1000 done · 71%" in text and "712/1000 done · 71%" in html
    assert "700 completed" in html and "12 failed" in html and "288 queued" in html
    assert "700 completed" in text and "12 failed" in text and "288 queued" in text
    assert len(html) < 60_000 and len(text) < 10_000


def test_outside_a_kernel_there_is_no_widget_and_include_exclude_work():
    job = scripted_job()
    bundle = mimebundle(job)
    assert set(bundle) == {"text/plain", "text/html"}
    assert set(mimebundle(job, include={"text/plain"})) == {"text/plain"}
    assert set(mimebundle(job, exclude={"text/html"})) == {"text/plain"}
    assert WIDGET_MIME not in bundle


def test_plain_ipython_displays_the_static_card(provider):
    from IPython.core.interactiveshell import InteractiveShell

    job = dc.convert(image_bytes(), to="pdf", provider=provider, name="red.png").wait(timeout=30)
    data, _metadata = InteractiveShell.instance().display_formatter.format(job)
    assert data["text/plain"].startswith(f"<Job {job.id} embedded: red.png → pdf completed")
    assert "red.pdf" in data["text/plain"] and "red.pdf" in data["text/html"]
    assert WIDGET_MIME not in data
    group = JobGroup([job], name="one")
    data, _metadata = InteractiveShell.instance().display_formatter.format(group)
    assert "1/1 done" in data["text/plain"] and "1 completed" in data["text/html"]


@pytest.mark.parametrize("status", [s for s in JobStatus])
def test_every_status_renders(status):
    job = scripted_job()
    job.status = status  # set directly: every state must render, reachable or not from here
    text, html = both(job)
    assert status.value in text and status.value in html and "var(--jp-" in html


def test_the_card_names_the_worker_a_provider_reports():
    job = scripted_job(name="scan.png")
    job.provider.report(job, JobStatus.PROCESSING, details={"worker": "tcp://127.0.0.1:40113", "attempts": 1})
    assert job.details == {"worker": "tcp://127.0.0.1:40113", "attempts": 1}
    for text in both(job):
        assert "worker" in text and "tcp://127.0.0.1:40113" in text
