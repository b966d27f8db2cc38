"""The Aspose.OCR Cloud adapter end to end against its simulator, through the public API."""

from __future__ import annotations

import base64
import csv
import io
import logging
import threading
import time
import uuid

import openpyxl
import pypdfium2 as pdfium
import pytest
import requests

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.errors import AuthenticationError, InvalidOptions, JobExpired, JobFailed, OutputUnavailable
from docconvert_nb.providers._oauth import ClientCredentials
from docconvert_nb.providers.aspose import Aspose
from docconvert_nb.status import Availability, JobStatus

TABLE = samples.SAMPLE_TABLE
#: Passes format detection as DjVu, but no DjVu reader can open it: the task ends in Error.
BROKEN_DJVU = b"AT&TFORM\x00\x00\x00\x10DJVUINFOgarbage"
ENUM_STATUSES = {"Pending", "Processing", "Completed", "Error", "NotExist"}
ENUM_CODES = {"Ok", "PartiallyNotFound", "NoAnyResultData", "ResultDataLost", "TaskNotFound", "NotReady", "Error"}


@pytest.fixture
def sim():
    with dc.simulate("aspose") as simulator:
        yield simulator


@pytest.fixture
def token(sim):
    creds = sim.credentials
    answer = requests.post(f"{sim.base_url}/connect/token", data={"grant_type": "client_credentials", **creds})
    return answer.json()["access_token"]


def wait_for_engine(sim, task_id, timeout=60.0):
    """Let the simulator's engine finish the real work (the clock then decides what clients see)."""
    deadline = time.monotonic() + timeout
    for engine_id in sim.jobs[task_id].engine_jobs:
        while not sim.engine.get(engine_id).job_status.is_terminal:
            assert time.monotonic() < deadline
            time.sleep(0.02)


def cells(rows):
    return [[cell.strip() for cell in row] for row in rows]


# -- end to end through the public API -----------------------------------------------------

@pytest.mark.tools
def test_recognize_tables_to_csv_equals_the_rendered_table(sim):
    job = dc.recognize_tables(samples.table_image(TABLE), to="csv", provider=sim.provider, name="cities.png")
    job.wait(timeout=120)
    assert job.status == JobStatus.COMPLETED
    assert uuid.UUID(job.id)
    [output] = job.outputs
    assert output.name == "cities.csv" and output.content_type == "text/csv"
    assert cells(csv.reader(io.StringIO(output.text()))) == TABLE
    task = sim.jobs[job.id]
    assert task.family == "RecognizeTable"


@pytest.mark.tools
def test_recognize_tables_to_xlsx(sim):
    job = dc.recognize_tables(samples.table_image(TABLE), to="xlsx", provider=sim.provider, name="cities.png")
    job.wait(timeout=120)
    [output] = job.outputs
    assert output.name == "cities.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(output.read())).worksheets[0]
    values = [[str(v).strip() for v in row if v is not None] for row in sheet.iter_rows(values_only=True)]
    assert [row for row in values if row] == TABLE


@pytest.mark.tools
def test_csv_and_excel_result_type_gives_both(sim):
    job = dc.recognize_tables(samples.table_image(TABLE), to="csv", provider=sim.provider, name="t.png",
                              result_type_table="CsvAndExcel")
    job.wait(timeout=120)
    assert sorted(o.name for o in job.outputs) == ["t.csv", "t.xlsx"]


@pytest.mark.tools
def test_ocr_reads_the_text(sim):
    job = dc.ocr(samples.text_page("Queued jobs are fetched by their id"), provider=sim.provider, name="page.png")
    job.wait(timeout=120)
    assert "Queued jobs are fetched by their id" in job.outputs[0].text()
    assert sim.jobs[job.id].family == "RecognizeImage"


@pytest.mark.tools
def test_djvu_to_pdf_keeps_its_pages(sim, tmp_path):
    djvu = samples.djvu_document(["Alpha page", "Beta page", "Gamma page"])
    job = dc.convert(djvu, "pdf", provider=sim.provider, name="scan.djvu", save_to=tmp_path)
    job.wait(timeout=120)
    assert sim.jobs[job.id].family == "DjVu2PDF"
    pdf = pdfium.PdfDocument(str(tmp_path / "scan.pdf"))
    assert len(pdf) == 3
    assert "Gamma page" in pdf[2].get_textpage().get_text_range()


@pytest.mark.tools
def test_warnings_of_a_completed_task_reach_the_job(sim):
    blank = samples.text_page("")
    job = dc.ocr(blank, provider=sim.provider, name="blank.png")
    job.wait(timeout=120)
    assert job.status == JobStatus.COMPLETED
    assert any("no text" in w for w in job.warnings)


def test_results_are_decoded_into_private_cache_files(sim):
    provider = sim.provider
    job = dc.convert(BROKEN_DJVU, "pdf", provider=provider, name="fake.djvu")
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    # The request body went through a temporary file that is gone again.
    assert not list(provider.cache.glob("body-*"))
    assert oct(provider.cache.stat().st_mode & 0o777) == "0o700"


# -- the state machine on the simulator clock ------------------------------------------------

def test_pending_processing_then_error_with_the_engine_reason(sim):
    sim.durations.update(queued=60, processing=60)
    provider = sim.provider
    job = dc.convert(BROKEN_DJVU, "pdf", provider=provider, name="x.djvu")
    for _ in range(1000):
        if job.id is not None:
            break
        time.sleep(0.01)
    wait_for_engine(sim, job.id)
    job.refresh()
    assert job.status == JobStatus.QUEUED
    sim.clock.advance(61)
    job.refresh()
    assert job.status == JobStatus.PROCESSING
    sim.clock.advance(60)
    job.refresh()
    assert job.status == JobStatus.FAILED
    engine_reason = sim.engine.get(sim.jobs[job.id].engine_jobs[0]).errors[0]
    assert job.errors == [engine_reason] and engine_reason in job.message
    with pytest.raises(JobFailed):
        job.wait(timeout=5)


def test_a_task_submitted_by_another_process_is_found(sim):
    job = dc.convert(BROKEN_DJVU, "pdf", provider=sim.provider, name="x.djvu")
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    creds = sim.credentials
    stranger = Aspose(creds["client_id"], creds["client_secret"], base_url=sim.base_url)
    snapshot = stranger.status(job.id)
    assert snapshot.status == JobStatus.FAILED and snapshot.errors == job.errors
    stranger.close()


def test_unknown_task_id_reports_not_exist(sim):
    snapshot = sim.provider.status(str(uuid.uuid4()))
    assert snapshot.status == JobStatus.EXPIRED
    assert "TaskNotFound" in snapshot.message


@pytest.mark.tools
def test_results_expire_after_24_hours(sim):
    job = dc.ocr(samples.text_page("kept for a day"), provider=sim.provider, name="day.png")
    job.wait(timeout=120)
    output = job.outputs[0]
    sim.clock.advance(24 * 3600 + 1)  # the token has expired as well: the adapter renews it
    job.refresh()
    assert job.status == JobStatus.EXPIRED
    assert "24 h" in job.message
    assert output.availability == Availability.EXPIRED
    with pytest.raises(OutputUnavailable, match="expired"):
        output.read()
    with pytest.raises(JobExpired):
        job.raise_for_status()
    assert sim.tokens.issued == 2


def test_delete_purges_the_task(sim):
    provider = sim.provider
    job = dc.convert(BROKEN_DJVU, "pdf", provider=provider, name="x.djvu")
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    job.delete()
    assert job.status == JobStatus.DELETED
    assert sim.jobs[job.id].deleted
    assert any(r.method == "DELETE" and r.path == "/v5.0/ocr/DjVu2PDF" for r in sim.requests_seen)
    assert provider.status(job.id).status == JobStatus.EXPIRED


# -- authentication ------------------------------------------------------------------------

def test_token_is_cached_and_renewed_after_a_401(sim):
    provider = sim.provider
    for _ in range(3):
        provider.status(str(uuid.uuid4()))
    assert sim.tokens.issued == 1
    sim.clock.advance(3601)  # the server's token has expired; the client did not know
    provider.status(str(uuid.uuid4()))
    assert sim.tokens.issued == 2
    assert [r.status for r in sim.requests_seen if r.path.endswith("GetTaskStatus")][-2:] == [401, 200]


def test_token_is_renewed_before_it_expires(sim):
    provider = sim.provider
    creds = sim.credentials
    oauth = ClientCredentials(provider.http, "/connect/token", creds["client_id"], creds["client_secret"],
                              clock=sim.clock, renew_margin=60)
    first = oauth.token()
    sim.clock.advance(3600 - 120)
    assert oauth.token() == first
    sim.clock.advance(70)  # inside the renewal margin: a new token without any 401
    second = oauth.token()
    assert second != first and sim.tokens.valid(second)
    assert all(r.status != 401 for r in sim.requests_seen)


def test_bad_credentials_fail_the_job_clearly(sim):
    secret = "wrong-secret-0123456789"
    provider = Aspose(sim.credentials["client_id"], secret, base_url=sim.base_url, simulator=True)
    job = dc.convert(BROKEN_DJVU, "pdf", provider=provider, name="a.djvu")
    with pytest.raises(JobFailed, match="rejected the client id/secret"):
        job.wait(timeout=30)
    assert secret not in job.message
    provider.close()


def test_without_credentials_it_is_not_configured(sim, monkeypatch):
    monkeypatch.delenv("ASPOSE_CLIENT_ID", raising=False)
    monkeypatch.delenv("ASPOSE_CLIENT_SECRET", raising=False)
    provider = Aspose(base_url=sim.base_url)
    assert not provider.configured
    assert "not configured" in repr(provider)
    with pytest.raises(AuthenticationError, match="ASPOSE_CLIENT_ID"):
        dc.ocr(samples.text_page("x"), provider=provider, name="a.png")


def test_credentials_from_the_environment(sim, monkeypatch):
    creds = sim.credentials
    monkeypatch.setenv("ASPOSE_CLIENT_ID", creds["client_id"])
    monkeypatch.setenv("ASPOSE_CLIENT_SECRET", creds["client_secret"])
    monkeypatch.setenv("ASPOSE_BASE_URL", sim.base_url)
    provider = dc.providers.Aspose()
    assert provider.configured and not provider.is_simulator
    assert provider.status(str(uuid.uuid4())).status == JobStatus.EXPIRED
    assert provider.is_simulator  # the simulator said so in its answers
    provider.close()


def test_options_are_checked_before_submitting(sim):
    with pytest.raises(InvalidOptions, match="colour"):
        dc.ocr(samples.text_page("x"), provider=sim.provider, name="a.png", colour=True)
    with pytest.raises(InvalidOptions, match="language"):
        dc.ocr(samples.text_page("x"), provider=sim.provider, name="a.png", lang="xx")
    with pytest.raises(dc.UnsupportedConversion):
        dc.convert(samples.text_page("x"), "docx", provider=sim.provider, name="a.png")


def test_secrets_never_show(sim, caplog):
    caplog.set_level(logging.DEBUG)
    provider = sim.provider
    secret = sim.credentials["client_secret"]
    job = dc.convert(BROKEN_DJVU, "pdf", provider=provider, name="a.djvu")
    with pytest.raises(JobFailed) as failed:
        job.wait(timeout=60)
    token = provider._oauth._token
    assert token
    bad = Aspose(sim.credentials["client_id"], "another-secret-value", base_url=sim.base_url)
    with pytest.raises(AuthenticationError) as refused:
        bad.status(str(uuid.uuid4()))
    seen = [repr(provider), repr(job), str(job.to_dict()), str(failed.value), str(refused.value),
            repr(provider._oauth), str(provider.describe()), caplog.text]
    for text in seen:
        assert secret not in text and token not in text and "another-secret-value" not in text
    bad.close()


def test_poll_delay_grows_from_two_seconds():
    provider = Aspose("id", "secret")
    delays = [provider.poll_delay(n) for n in range(8)]
    assert delays[0] == 2.0 and delays == sorted(delays) and delays[-1] == 10.0
    assert Aspose.retention_seconds == 24 * 3600
    provider.close()


def test_capabilities(sim):
    table = dc.formats(provider=sim.provider)
    rows = set(map(tuple, table[["task", "source", "target"]].values.tolist()))
    assert {("tables", "png", "csv"), ("tables", "jpeg", "xlsx"), ("ocr", "png", "txt"),
            ("convert", "djvu", "pdf")} <= rows
    assert sim.provider.describe()["simulator"] is True


# -- the simulator's wire protocol -------------------------------------------------------------

def test_token_endpoint_takes_urlencoded_and_multipart(sim):
    creds = sim.credentials
    form = {"grant_type": "client_credentials", **creds}
    for answer in (
        requests.post(f"{sim.base_url}/connect/token", data=form),
        requests.post(f"{sim.base_url}/connect/token", files={k: (None, v) for k, v in form.items()}),
    ):
        assert answer.status_code == 200
        body = answer.json()
        assert body["expires_in"] == 3600 and body["token_type"] == "Bearer" and body["access_token"]
    wrong = requests.post(f"{sim.base_url}/connect/token", data={**form, "client_secret": "nope"})
    assert wrong.status_code == 400 and wrong.json() == {"error": "invalid_client"}


def test_missing_or_bad_bearer_is_a_problem_details_401(sim):
    for headers in ({}, {"Authorization": "Bearer forged"}):
        answer = requests.get(f"{sim.base_url}/v5.0/ocr/RecognizeTable", params={"id": str(uuid.uuid4())},
                              headers=headers)
        assert answer.status_code == 401
        assert set(answer.json()) == {"type", "title", "status", "detail", "instance"}
        assert answer.json()["status"] == 401


def test_routes_are_case_insensitive_and_submit_answers_a_bare_guid(sim, token):
    auth = {"Authorization": f"Bearer {token}"}
    body = {"Image": base64.b64encode(b"AT&TFORM").decode(), "Settings": {"rotate": 0}}
    answer = requests.post(f"{sim.base_url}/v5.0/ocr/djvu2pdf", json=body, headers={**auth, "Accept": "text/plain"})
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    task_id = answer.text
    assert str(uuid.UUID(task_id)) == task_id
    fetched = requests.get(f"{sim.base_url}/V5.0/OCR/DJVU2PDF", params={"id": task_id}, headers=auth)
    assert fetched.headers["Content-Type"].startswith("application/json")
    document = fetched.json()
    assert set(document) == {"id", "taskStatus", "responseStatusCode", "results", "error"}
    assert document["taskStatus"] in ENUM_STATUSES and document["responseStatusCode"] in ENUM_CODES
    quoted = requests.post(f"{sim.base_url}/v5.0/ocr/DjVu2PDF", json=body,
                           headers={**auth, "Accept": "application/json"})
    assert quoted.json() == quoted.text.strip('"')


def test_invalid_base64_is_a_400(sim, token):
    answer = requests.post(f"{sim.base_url}/v5.0/ocr/RecognizeImage", json={"image": "***", "settings": {}},
                           headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 400 and "base64" in answer.json()["detail"]


def test_trial_endpoint_needs_no_token(sim):
    body = {"image": base64.b64encode(b"not an image").decode(), "settings": {}}
    answer = requests.post(f"{sim.base_url}/v5.0/ocr/RecognizeImageTrial", json=body)
    assert answer.status_code == 200 and uuid.UUID(answer.text)


def test_every_status_and_code_sent_is_an_sdk_enum_value(sim):
    sim.durations.update(queued=5, processing=5)
    provider = sim.provider
    task_id = provider.submit(dc.documents.ConversionRequest(
        dc.documents.Source("a.djvu", "djvu", data=b"AT&TFORMnot really"), "pdf", "convert", {}))
    wait_for_engine(sim, task_id)
    seen = []
    for step in (0, 6, 5):
        sim.clock.advance(step)
        seen.append(provider._get_json("DjVu2PDF", task_id))
    seen.append(provider._get_json("DjVu2PDF", str(uuid.uuid4())))
    assert [d["taskStatus"] for d in seen] == ["Pending", "Processing", "Error", "NotExist"]
    assert all(d["responseStatusCode"] in ENUM_CODES for d in seen)


def test_concurrent_callers_share_one_token_fetch(sim):
    creds = sim.credentials
    oauth = ClientCredentials(sim.provider.http, "/connect/token", creds["client_id"], creds["client_secret"])
    tokens, barrier = [], threading.Barrier(8)

    def ask():
        barrier.wait()
        tokens.append(oauth.token())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(tokens) == 8 and len(set(tokens)) == 1
    assert sim.tokens.issued == 1 and oauth.fetches == 1
    assert creds["client_secret"] not in repr(oauth) and tokens[0] not in repr(oauth)
