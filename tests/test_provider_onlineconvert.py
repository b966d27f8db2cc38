"""The online-convert.com adapter end to end against its simulator, through the public API."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
import threading
import time
import uuid

import pypdfium2 as pdfium
import pytest
import requests
from flask import Flask
from flask import request as flask_request
from werkzeug.serving import make_server

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.errors import (
    AuthenticationError,
    ChecksumMismatch,
    JobExpired,
    JobFailed,
    JobNotFound,
    OutputUnavailable,
    ProviderError,
)
from docconvert_nb.providers.onlineconvert import OnlineConvert
from docconvert_nb.status import Availability, JobStatus

from .helpers import image_bytes, open_image


@pytest.fixture
def sim():
    with dc.simulate("onlineconvert") as simulator:
        yield simulator


def api(sim, method, path, **kwargs):
    headers = {"X-Oc-Api-Key": sim.credentials["api_key"], **kwargs.pop("headers", {})}
    return requests.request(method, f"{sim.base_url}{path}", headers=headers, timeout=10, **kwargs)


def wait_for_engine(sim, job_id, timeout=60.0):
    """Let the simulator's engine finish the real work (the clock then decides what clients see)."""
    deadline = time.monotonic() + timeout
    for _, _, engine_id in sim.jobs[job_id].engine_jobs:
        while not sim.engine.get(engine_id).job_status.is_terminal:
            assert time.monotonic() < deadline
            time.sleep(0.02)


def completed_png_to_pdf(sim, **kwargs):
    job = dc.convert(image_bytes("PNG", size=(200, 100), color=(10, 120, 200)), "pdf",
                     provider=kwargs.pop("provider", sim.provider), name="blue.png", **kwargs)
    job.wait(timeout=60)
    return job


# -- end to end ------------------------------------------------------------------------------

def test_convert_an_image_to_pdf_end_to_end(sim, tmp_path):
    job = completed_png_to_pdf(sim, save_to=tmp_path)
    assert job.status == JobStatus.COMPLETED
    [output] = job.outputs
    assert output.name == "blue.pdf" and output.content_type == "application/pdf"
    assert re.fullmatch(r"[0-9a-f]{32}", output.checksum)
    assert output.download_limit == 10
    pdf = pdfium.PdfDocument(str(tmp_path / "blue.pdf"))
    assert len(pdf) == 1
    page = pdf[0].render(scale=0.5).to_pil().convert("RGB")
    r, g, b = page.getpixel((page.width // 2, page.height // 2))
    assert abs(r - 10) < 12 and abs(g - 120) < 12 and abs(b - 200) < 12
    # The wire: create (process false), upload to the job's server with the job token, PATCH, poll.
    paths = [(r.method, r.path) for r in sim.requests_seen]
    assert paths[0] == ("POST", "/v2/jobs")
    assert paths[1] == ("POST", f"/v2/dl/web1/upload-file/{job.id}")
    assert paths[2] == ("PATCH", f"/v2/jobs/{job.id}")
    assert ("GET", f"/v2/jobs/{job.id}") in paths
    assert sim.jobs[job.id].conversions[0]["target"] == "pdf"


def test_image_to_image(sim):
    job = dc.convert(image_bytes("PNG", size=(64, 48), color=(0, 200, 0)), "jpeg", provider=sim.provider, name="g.png")
    job.wait(timeout=60)
    image = open_image(job.outputs[0].read())
    assert image.format == "JPEG" and image.size == (64, 48)


@pytest.mark.tools
def test_ocr_with_the_ocr_option(sim):
    job = dc.ocr(samples.text_page("Counted downloads and checksums"), provider=sim.provider, name="scan.png")
    job.wait(timeout=120)
    assert "Counted downloads and checksums" in job.outputs[0].text()
    options = sim.jobs[job.id].conversions[0]["options"]
    assert options == {"ocr": True, "language": "eng"}


def test_base64_download_is_decoded_and_verified(sim):
    creds = sim.credentials
    provider = OnlineConvert(creds["api_key"], base_url=f"{sim.base_url}/v2", download_encoding="base64",
                             poll_interval=0.2)
    job = completed_png_to_pdf(sim, provider=provider)
    data = job.outputs[0].read()
    assert data.startswith(b"%PDF") and hashlib.md5(data).hexdigest() == job.outputs[0].checksum
    assert any(r.query == "encoding=base64" for r in sim.requests_seen if "download-file" in r.path)
    provider.close()


def test_download_counter_is_reported(sim):
    job = completed_png_to_pdf(sim)
    output = job.outputs[0]
    assert output.downloads == 0
    output.read()
    output.read()
    job.refresh()
    assert job.outputs[0].downloads == 2


# -- documented error paths --------------------------------------------------------------------

def test_checksum_mismatch_is_detected_on_every_download(sim):
    job = completed_png_to_pdf(sim)
    good = job.outputs[0].read()
    assert hashlib.md5(good).hexdigest() == job.outputs[0].checksum
    sim.corrupt_output(job.id)
    with pytest.raises(ChecksumMismatch, match="do not match the checksum"):
        job.outputs[0].read()


def test_eleventh_download_reports_overuse(sim):
    job = completed_png_to_pdf(sim)
    output = job.outputs[0]
    for _ in range(10):
        output.read()
    with pytest.raises(OutputUnavailable, match="downloaded 10 times.*allows 10 downloads"):
        output.read()
    assert output.availability == Availability.LIMIT_REACHED
    job.refresh()
    assert job.outputs[0].availability == Availability.LIMIT_REACHED
    with pytest.raises(OutputUnavailable, match="download limit of 10"):
        job.outputs[0].read()


def test_outputs_expire_after_24_hours(sim):
    job = completed_png_to_pdf(sim)
    output = job.outputs[0]
    sim.clock.advance(24 * 3600 + 1)
    with pytest.raises(OutputUnavailable, match="expired.*24 h"):
        output.read()
    assert output.availability == Availability.EXPIRED
    job.refresh()
    assert job.status == JobStatus.EXPIRED and "24 h" in job.message
    with pytest.raises(JobExpired):
        job.raise_for_status()


def test_bad_api_key(sim):
    secret = "0123456789abcdef0123456789abcdef"
    provider = OnlineConvert(secret, base_url=f"{sim.base_url}/v2")
    job = dc.convert(image_bytes(), "pdf", provider=provider, name="a.png")
    with pytest.raises(JobFailed, match="Invalid api key"):
        job.wait(timeout=30)
    assert secret not in job.message
    with pytest.raises(AuthenticationError):
        provider.status(str(uuid.uuid4()))
    provider.close()


def test_unknown_job_is_a_404(sim):
    with pytest.raises(JobNotFound):
        sim.provider.status(str(uuid.uuid4()))
    answer = api(sim, "GET", f"/v2/jobs/{uuid.uuid4()}")
    assert answer.status_code == 404 and "message" in answer.json()


def test_a_failed_conversion_reports_the_engine_reason(sim):
    garbage_pdf = b"%PDF-1.7\n this is not really a PDF"
    job = dc.convert(garbage_pdf, "png", provider=sim.provider, name="broken.pdf")
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert job.status == JobStatus.FAILED
    assert job.errors and "(code 5001)" in job.errors[0]


def test_quota_exhausted_is_402(sim):
    sim.credits = 1
    completed_png_to_pdf(sim)
    job = dc.convert(image_bytes(), "pdf", provider=sim.provider, name="b.png")
    with pytest.raises(JobFailed, match="quota"):
        job.wait(timeout=30)


def test_too_many_concurrent_jobs_is_429_with_retry_after(sim):
    sim.max_concurrent = 1
    sim.retry_after = 60  # longer than the adapter is willing to wait
    first = api(sim, "POST", "/v2/jobs", json={"conversion": [{"target": "pdf"}], "process": False})
    assert first.status_code == 201
    second = api(sim, "POST", "/v2/jobs", json={"conversion": [{"target": "pdf"}]})
    assert second.status_code == 429 and second.headers["Retry-After"] == "60"
    assert second.json()["message"]
    job = dc.convert(image_bytes(), "pdf", provider=sim.provider, name="c.png")
    with pytest.raises(JobFailed, match="too many conversions.*60 s"):
        job.wait(timeout=30)


def test_a_short_429_is_waited_out(sim):
    sim.max_concurrent = 1
    sim.retry_after = 0.2
    blocker = api(sim, "POST", "/v2/jobs", json={"conversion": [{"target": "pdf"}]}).json()
    threading.Timer(0.1, lambda: api(sim, "DELETE", f"/v2/jobs/{blocker['id']}")).start()
    job = completed_png_to_pdf(sim)
    assert job.status == JobStatus.COMPLETED


def test_delete_disables_the_outputs(sim):
    job = completed_png_to_pdf(sim)
    output = job.outputs[0]
    job.delete()
    assert job.status == JobStatus.DELETED
    assert sim.jobs[job.id].deleted
    snapshot = sim.provider.status(job.id)
    assert snapshot.status == JobStatus.DELETED
    with pytest.raises(OutputUnavailable, match="deleted"):
        output._opener()


def test_a_failed_upload_deletes_the_half_made_job(sim):
    sim.faults.fail(500, path="/upload-file/", times=1)
    job = dc.convert(image_bytes(), "pdf", provider=sim.provider, name="d.png")
    with pytest.raises(JobFailed, match="500"):
        job.wait(timeout=30)
    [created] = sim.jobs.values()
    assert created.deleted
    assert [r.method for r in sim.requests_seen if r.path == "/v2/jobs"] == ["POST"]  # never re-POSTed


def test_without_a_key_it_is_not_configured(sim, monkeypatch):
    monkeypatch.delenv("ONLINE_CONVERT_API_KEY", raising=False)
    provider = OnlineConvert(base_url=f"{sim.base_url}/v2")
    assert not provider.configured
    with pytest.raises(AuthenticationError, match="ONLINE_CONVERT_API_KEY"):
        dc.convert(image_bytes(), "pdf", provider=provider, name="a.png")


def test_key_from_the_environment_and_legacy_routes(sim, monkeypatch):
    monkeypatch.setenv("ONLINE_CONVERT_API_KEY", sim.credentials["api_key"])
    monkeypatch.setenv("ONLINE_CONVERT_BASE_URL", sim.base_url)  # legacy: no /v2 prefix
    provider = dc.providers.OnlineConvert()
    assert provider.configured and not provider.is_simulator
    job = completed_png_to_pdf(sim, provider=provider)
    assert job.status == JobStatus.COMPLETED
    assert ("POST", "/jobs") in [(r.method, r.path) for r in sim.requests_seen]
    assert provider.is_simulator and job.to_dict()["simulator"]
    provider.close()


def test_secrets_never_show(sim, caplog):
    caplog.set_level(logging.DEBUG)
    key = sim.credentials["api_key"]
    job = completed_png_to_pdf(sim)
    token = sim.jobs[job.id].token
    bad = OnlineConvert("f" * 32, base_url=f"{sim.base_url}/v2")
    with pytest.raises(AuthenticationError) as refused:
        bad.status(job.id)
    sim.corrupt_output(job.id)
    with pytest.raises(ChecksumMismatch) as mismatch:
        job.outputs[0].read()
    for text in (repr(sim.provider), repr(job), str(job.to_dict()), str(refused.value), str(mismatch.value),
                 str(sim.provider.describe()), caplog.text):
        assert key not in text and token not in text and "f" * 32 not in text
    bad.close()


def test_poll_delay_matches_the_sdk():
    provider = OnlineConvert("k" * 32)
    assert [round(provider.poll_delay(n), 2) for n in range(6)] == [1.0, 1.5, 2.25, 3.38, 5.0, 5.0]
    provider.close()


# -- the simulator's wire protocol ---------------------------------------------------------------

def test_job_shape_and_both_header_spellings(sim):
    key = sim.credentials["api_key"]
    created = requests.post(f"{sim.base_url}/v2/jobs", headers={"X-Api2convert-Api-Key": key},
                            json={"conversion": [{"target": "png"}], "process": False}).json()
    assert re.fullmatch(r"[0-9a-f]{32}", created["token"])
    assert uuid.UUID(created["id"])
    assert created["server"] == f"{sim.base_url}/v2/dl/web1"
    assert created["status"]["code"] == "incomplete"
    upload = requests.post(f"{created['server']}/upload-file/{created['id']}",
                           headers={"X-Api2convert-Token": created["token"]},
                           files={"file": ("red.bmp", image_bytes("BMP"), "image/bmp")})
    assert upload.status_code == 201 and upload.json()["filename"] == "red.bmp"
    ready = requests.get(f"{sim.base_url}/jobs/{created['id']}", headers={"x-oc-token": created["token"]}).json()
    assert ready["status"]["code"] == "ready"
    started = requests.patch(f"{sim.base_url}/v2/jobs/{created['id']}", headers={"X-Oc-Api-Key": key},
                             json={"process": True}).json()
    assert started["status"]["code"] in ("queued", "processing", "completed")
    no_key = requests.get(f"{sim.base_url}/v2/jobs/{created['id']}")
    assert no_key.status_code == 401 and no_key.json() == {"message": "Invalid api key"}


def test_status_moves_on_the_clock_and_outputs_carry_every_field(sim):
    sim.durations.update(queued=30, processing=30)
    created = api(sim, "POST", "/v2/jobs", json={"conversion": [{"target": "gif"}], "process": True}).json()
    requests.post(f"{created['server']}/upload-file/{created['id']}", headers={"X-Oc-Token": created["token"]},
                  files={"file": ("p.png", image_bytes(), "image/png")})
    wait_for_engine(sim, created["id"])
    codes = []
    for step in (0, 31, 30):
        sim.clock.advance(step)
        codes.append(api(sim, "GET", f"/v2/jobs/{created['id']}").json()["status"]["code"])
    assert codes == ["queued", "processing", "completed"]
    [output] = api(sim, "GET", f"/v2/jobs/{created['id']}/output").json()
    assert set(output) >= {"id", "source", "uri", "filename", "size", "status", "content_type",
                           "downloads_counter", "checksum", "created_at"}
    body = requests.get(output["uri"])
    assert body.headers["Content-Type"] == "image/gif"
    assert 'filename="p.gif"' in body.headers["Content-Disposition"]
    assert hashlib.md5(body.content).hexdigest() == output["checksum"]
    encoded = requests.get(output["uri"], params={"encoding": "base64"})
    assert base64.b64decode(encoded.content) == body.content
    assert requests.get(output["uri"], params={"encoding": "hex"}).status_code == 400
    # Uploads are refused once the job runs.
    again = requests.post(f"{created['server']}/upload-file/{created['id']}", headers={"X-Oc-Token": created["token"]},
                          files={"file": ("p.png", image_bytes(), "image/png")})
    assert again.status_code == 422


def test_expired_and_overused_downloads_answer_410_and_403(sim):
    job = completed_png_to_pdf(sim)
    uri = api(sim, "GET", f"/v2/jobs/{job.id}").json()["output"][0]["uri"]
    for _ in range(10):
        assert requests.get(uri).status_code == 200
    overused = requests.get(uri)
    assert overused.status_code == 403 and "10" in overused.json()["message"]
    assert api(sim, "GET", f"/v2/jobs/{job.id}").json()["output"][0]["status"] == "overuse"
    sim.clock.advance(24 * 3600 + 1)
    expired = requests.get(uri)
    assert expired.status_code == 410 and "expired" in expired.json()["message"]
    assert api(sim, "GET", f"/v2/jobs/{job.id}").json()["output"][0]["status"] == "expired"


def test_callback_is_posted_to_loopback_only(sim):
    received = []
    hook = Flask("hook")

    @hook.post("/hook")
    def on_hook():
        received.append(flask_request.get_json())
        return "", 204

    server = make_server("127.0.0.1", 0, hook, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        outside = api(sim, "POST", "/v2/jobs", json={"conversion": [{"target": "pdf"}],
                                                     "callback": "http://example.com/hook"})
        assert outside.status_code == 422
        url = f"http://127.0.0.1:{server.server_port}/hook"
        created = api(sim, "POST", "/v2/jobs", json={"conversion": [{"target": "pdf"}], "process": True,
                                                     "callback": url}).json()
        requests.post(f"{created['server']}/upload-file/{created['id']}", headers={"X-Oc-Token": created["token"]},
                      files={"file": ("p.png", image_bytes(), "image/png")})
        done = threading.Event()
        for _ in range(200):
            if received and sim.callbacks_sent:  # the simulator records the answer after the POST returns
                break
            done.wait(0.05)
        assert received and received[0]["id"] == created["id"]
        assert received[0]["status"]["code"] == "completed"
        assert sim.callbacks_sent[0][1] == 204
    finally:
        server.shutdown()


def test_public_vocabularies(sim):
    statuses = requests.get(f"{sim.base_url}/v2/statuses").json()
    assert {"completed", "failed", "queued", "processing"} <= {s["code"] for s in statuses}
    conversions = requests.get(f"{sim.base_url}/v2/conversions", params={"target": "pdf"}).json()
    assert conversions and all(c["target"] == "pdf" for c in conversions)


def test_server_errors_on_polls_are_retried(sim):
    job = completed_png_to_pdf(sim)
    sim.faults.fail(503, path=f"/v2/jobs/{job.id}", method="GET", times=2)
    snapshot = sim.provider.status(job.id)
    assert snapshot.status == JobStatus.COMPLETED
    statuses = [r.status for r in sim.requests_seen if r.path == f"/v2/jobs/{job.id}"][-3:]
    assert statuses == [503, 503, 200]


def test_provider_error_for_a_refused_create_is_typed(sim):
    sim.faults.fail(400, path="/v2/jobs", method="POST", body='{"message": "Invalid target"}')
    with pytest.raises(ProviderError, match="Invalid target"):
        sim.provider.submit(dc.documents.ConversionRequest(
            dc.documents.Source("a.png", "png", data=image_bytes()), "pdf", "convert", {}))
