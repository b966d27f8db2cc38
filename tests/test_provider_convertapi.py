"""The ConvertAPI adapter end to end against its simulator: async polling rules, semi-async ids, retention."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid

import pypdfium2 as pdfium
import pytest
import requests
from PIL import Image

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.errors import AuthenticationError, JobExpired, JobFailed, OutputUnavailable
from docconvert_nb.providers.convertapi import ConvertAPI
from docconvert_nb.status import JobStatus

from .helpers import image_bytes, near, open_image

POLL = 0.3


@pytest.fixture
def sim():
    with dc.simulate("convertapi") as simulator:
        yield simulator


def polling(sim, **options) -> ConvertAPI:
    """An adapter that polls (no webhook), with a short poll interval for tests."""
    options.setdefault("poll_interval", POLL)
    return ConvertAPI(sim.credentials["secret"], base_url=sim.base_url, webhook=False, **options)


def two_page_pdf(colors=((200, 30, 30), (30, 30, 200))) -> bytes:
    pages = [Image.new("RGB", (200, 120), c) for c in colors]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=72)
    return buf.getvalue()


def job_polls(sim, job_id):
    return [r for r in sim.requests_seen if r.method == "GET" and r.path == f"/job/{job_id}"]


# -- end to end on real documents -------------------------------------------------------------

def test_image_to_pdf_async_end_to_end(sim, tmp_path):
    provider = polling(sim)
    job = dc.convert(image_bytes("PNG", size=(200, 100), color=(10, 120, 200)), "pdf", provider=provider,
                     name="blue.png", save_to=tmp_path).wait(timeout=60)
    assert job.status == JobStatus.COMPLETED
    [output] = job.outputs
    assert output.name == "blue.pdf" and output.content_type == "application/pdf"
    assert output.metadata["url"].startswith(sim.base_url + "/d/") and output.metadata["conversion_cost"] == 1
    page = pdfium.PdfDocument(str(tmp_path / "blue.pdf"))[0].render(scale=0.5).to_pil().convert("RGB")
    assert near(page.getpixel((page.width // 2, page.height // 2)), (10, 120, 200), 12)
    # The wire: one multipart POST with Async and the adapter's own UUID as JobId, credentials as Bearer only.
    [post] = [r for r in sim.requests_seen if r.method == "POST"]
    assert post.path == "/convert/png/to/pdf" and "secret" not in post.query.lower()
    assert uuid.UUID(job.id).version == 4 and job.id in sim.jobs and sim.jobs[job.id].store_file
    assert all(r.status in (200, 202) for r in job_polls(sim, job.id))
    provider.close()


def test_pdf_pages_to_png_images(sim):
    provider = polling(sim)
    job = dc.convert(two_page_pdf(), "png", provider=provider, name="deck.pdf", dpi=72).wait(timeout=60)
    names = [o.name for o in job.outputs]
    assert names == ["deck-p1.png", "deck-p2.png"]
    first, second = (open_image(o.read()) for o in job.outputs)
    assert near(first.convert("RGB").getpixel((100, 60)), (200, 30, 30), 12)
    assert near(second.convert("RGB").getpixel((100, 60)), (30, 30, 200), 12)
    assert sim.engine.get(sim.jobs[job.id].engine_id).options["dpi"] == 72  # ImageResolution reached the engine
    provider.close()


@pytest.mark.tools
@pytest.mark.slow
def test_docx_to_pdf_keeps_the_words(sim):
    provider = polling(sim)
    docx = samples.docx_document(["Semi asynchronous conversions are idempotent."])
    job = dc.convert(docx, "pdf", provider=provider, name="report.docx").wait(timeout=240)
    pdf = pdfium.PdfDocument(job.outputs[0].read())
    text = " ".join(pdf[0].get_textpage().get_text_range().split())
    assert "Quarterly report" in text and "Semi asynchronous conversions are idempotent." in text
    provider.close()


def test_sync_mode_converts_in_one_request_with_inline_data(sim):
    provider = polling(sim, sync=True, store_file=False)
    job = dc.convert(image_bytes("JPEG", color=(0, 160, 0)), "pdf", provider=provider, name="g.jpg").wait(timeout=60)
    assert job.status == JobStatus.COMPLETED
    assert job.outputs[0].read().startswith(b"%PDF") and "url" not in job.outputs[0].metadata
    assert [(r.method, r.path) for r in sim.requests_seen] == [("POST", "/convert/jpg/to/pdf")]
    assert job.id in sim.jobs  # semi-async: registered under the client's JobId, pollable later
    assert requests.get(f"{sim.base_url}/job/{job.id}", timeout=5).status_code == 200
    provider.close()


# -- the polling rules -----------------------------------------------------------------------------

def test_polls_never_overlap_and_keep_the_interval(sim):
    sim.durations["processing"] = 1.5
    provider = polling(sim)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="slow.png").wait(timeout=60)
    polls = job_polls(sim, job.id)
    assert len(polls) >= 3 and [p.status for p in polls][-1] == 200
    assert all(p.status == 202 for p in polls[:-1])
    for before, after in zip(polls, polls[1:]):
        assert after.at >= before.ended  # never two open polls
        assert after.at - before.ended >= POLL * 0.95  # the delay is honoured
    provider.close()


def test_concurrent_status_calls_send_one_poll(sim):
    provider = polling(sim, poll_interval=0.0)
    sim.durations["processing"] = 30
    job_id = provider.submit(dc.documents.ConversionRequest(
        dc.documents.Source(name="a.png", format="png", data=image_bytes("PNG")), "pdf"))
    sim.faults.delay(0.5, path=f"/job/{job_id}", times=1)
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(provider.status(job_id))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(str(a.status) for a in answers) == ["None", "processing"]
    assert len(job_polls(sim, job_id)) == 1
    provider.close()


def test_simulator_answers_503_to_a_concurrent_poll(sim):
    sim.poll_hold = 0.6
    sim.durations["processing"] = 30
    job_id = requests.post(f"{sim.base_url}/convert/png/to/pdf", data={"Async": "true", "Secret": sim.credentials["secret"]},
                           files={"File": ("a.png", image_bytes("PNG"))}, timeout=10).json()["JobId"]
    assert requests.get(f"{sim.base_url}/job/{job_id}", timeout=5).status_code == 202  # the first poll is not held
    codes = []
    threads = [threading.Thread(target=lambda: codes.append(requests.get(f"{sim.base_url}/job/{job_id}", timeout=5)
                                                            .status_code)) for _ in range(2)]
    threads[0].start()
    threading.Event().wait(0.2)
    threads[1].start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [202, 503]


def test_a_forced_503_is_no_news_and_polling_goes_on(sim):
    sim.faults.fail(503, path="/job/", times=1)
    provider = polling(sim)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png").wait(timeout=60)
    statuses = [p.status for p in job_polls(sim, job.id)]
    assert statuses[0] == 503 and statuses[-1] == 200
    assert job.status == JobStatus.COMPLETED
    provider.close()


def test_a_forced_5xx_fails_the_job_with_the_service_message(sim):
    body = json.dumps({"Code": 5001, "Message": "Conversion failed: the converter crashed"})
    sim.faults.fail(500, path="/job/", times=1, body=body)
    provider = polling(sim)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png")
    with pytest.raises(JobFailed, match="the converter crashed"):
        job.wait(timeout=60)
    assert job.status == JobStatus.FAILED and "code 5001" in job.errors[0]
    provider.close()


def test_a_damaged_file_fails_with_code_5001(sim):
    broken = image_bytes("PNG")[:60]  # a PNG signature and header, then nothing
    provider = polling(sim)
    job = dc.convert(broken, "pdf", provider=provider, name="broken.png")
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert "code 5001" in job.errors[0]
    provider.close()


# -- semi-async: a dropped connection does not convert twice ------------------------------------

@pytest.mark.parametrize("sync", [False, True], ids=["async", "sync"])
def test_repeated_submission_after_a_dropped_answer_converts_once(sim, sync):
    sim.delay_answers(1.5)  # the first POST's work is done, its answer comes after the client gave up
    provider = polling(sim, sync=sync, timeout=(5.0, 0.6))
    job = dc.convert(image_bytes("PNG", color=(0, 0, 0)), "pdf", provider=provider, name="once.png").wait(timeout=60)
    posts = [r for r in sim.requests_seen if r.method == "POST"]
    assert len(posts) == 2  # the adapter sent the same submission again...
    assert sim.jobs[job.id].submissions == 2 and sim.conversions() == 1  # ...and it ran once
    assert job.outputs[0].read().startswith(b"%PDF")
    provider.close()


def test_post_is_not_repeated_after_a_refusal(sim):
    provider = polling(sim)
    sim.faults.fail(400, path="/convert/", times=1, body=json.dumps({"Code": 4000, "Message": "bad"}))
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png")
    with pytest.raises(JobFailed, match="bad"):
        job.wait(timeout=30)
    assert len([r for r in sim.requests_seen if r.method == "POST"]) == 1
    provider.close()


# -- delete and retention ---------------------------------------------------------------------------

def test_delete_then_poll_shows_deleted_not_failed(sim):
    provider = polling(sim)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png").wait(timeout=60)
    output = job.outputs[0]
    url = output.metadata["url"]
    job.delete()
    assert job.status == JobStatus.DELETED
    assert requests.get(f"{sim.base_url}/job/{job.id}", timeout=5).status_code == 404
    assert requests.get(url, timeout=5).status_code == 404
    assert job.refresh().status == JobStatus.DELETED
    with pytest.raises(OutputUnavailable):
        output.read()
    # Another client that did not delete it reads the 404 as "gone", not as a failure.
    other = polling(sim)
    assert other.status(job.id).status == JobStatus.EXPIRED
    provider.close()
    other.close()


def test_results_expire_after_two_hours(sim):
    provider = polling(sim)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png").wait(timeout=60)
    sim.clock.advance(2 * 3600 + 1)
    time.sleep(POLL)  # the adapter keeps its interval between polls, manual refreshes included
    assert job.refresh().status == JobStatus.EXPIRED
    assert "2 h" in job.message
    with pytest.raises(JobExpired):
        job.raise_for_status()
    provider.close()


# -- credentials -------------------------------------------------------------------------------------

def test_credentials_from_the_environment_go_in_the_bearer_header(sim, monkeypatch):
    monkeypatch.delenv("CONVERTAPI_SECRET", raising=False)
    monkeypatch.setenv("CONVERTAPI_TOKEN", sim.credentials["token"])
    provider = ConvertAPI(base_url=sim.base_url, webhook=False, poll_interval=POLL)
    assert provider.configured
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png").wait(timeout=60)
    assert job.ok and all(sim.credentials["token"] not in r.query for r in sim.requests_seen)
    provider.close()


def test_a_wrong_secret_fails_the_job_without_showing_it(sim):
    provider = ConvertAPI("not-the-right-secret", base_url=sim.base_url, webhook=False)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png")
    with pytest.raises(JobFailed, match="401"):
        job.wait(timeout=30)
    assert "not-the-right-secret" not in repr(job) + json.dumps(job.to_dict()) + repr(provider)
    provider.close()


def test_missing_credentials_are_reported_before_submitting(sim, monkeypatch):
    monkeypatch.delenv("CONVERTAPI_SECRET", raising=False)
    monkeypatch.delenv("CONVERTAPI_TOKEN", raising=False)
    provider = ConvertAPI(base_url=sim.base_url)
    assert not provider.configured
    with pytest.raises(AuthenticationError, match="CONVERTAPI_SECRET"):
        dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png")


def test_simulator_reads_parameters_from_every_place(sim):
    secret = sim.credentials["secret"]
    data = image_bytes("PNG")
    # Secret in the query, file as an octet-stream body named with RFC 5987.
    raw = requests.post(f"{sim.base_url}/convert/png/to/pdf?secret={secret}&storefile=TRUE", data=data, timeout=30,
                        headers={"Content-Type": "application/octet-stream",
                                 "Content-Disposition": "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9.png"}).json()
    assert raw["Files"][0]["FileName"] == "résumé.pdf" and "Url" in raw["Files"][0]
    # JSON Parameters with an inline FileValue; without StoreFile the result is inline.
    import base64
    body = {"Parameters": [{"Name": "File", "FileValue": {"Name": "j.png", "Data": base64.b64encode(data).decode()}}]}
    inline = requests.post(f"{sim.base_url}/convert/png/to/pdf", json=body, timeout=30,
                           headers={"Authorization": f"Bearer {secret}"}).json()
    assert base64.b64decode(inline["Files"][0]["FileData"]).startswith(b"%PDF")
    # No credentials at all, and a bad token.
    assert requests.post(f"{sim.base_url}/convert/png/to/pdf", timeout=5).json()["Code"] == 4013
    assert requests.post(f"{sim.base_url}/convert/png/to/pdf?Token=nope", timeout=5).json()["Code"] == 4011
