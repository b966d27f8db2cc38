"""The official Aspose.OCR Cloud SDK (aspose-ocr-cloud 24.11) against our simulator.

If the SDK sends its own requests and parses every answer without error,
the simulator speaks the real protocol (key casing, enums, content types).
"""

from __future__ import annotations

import base64
import csv
import io
import time
import uuid

import pypdfium2 as pdfium
import pytest
import requests

aspose_ocr = pytest.importorskip("aspose_ocr_cloud")
from aspose_ocr_cloud.exceptions import UnauthorizedException  # noqa: E402
from aspose_ocr_cloud.models import (  # noqa: E402
    OCRDjVu2PDFBody,
    OCRRecognizeImageBody,
    OCRRecognizeTableBody,
    OCRSettingsDjVu2PDF,
    OCRSettingsRecognizeImage,
    OCRSettingsRecognizeTable,
    ResultType,
    ResultTypeTable,
)

import docconvert_nb as dc  # noqa: E402
from docconvert_nb import samples  # noqa: E402

TABLE = samples.SAMPLE_TABLE


@pytest.fixture
def sim():
    with dc.simulate("aspose") as simulator:
        yield simulator


def sdk_token(sim) -> str:
    """What an SDK 24.11 user does: fetch the token themselves."""
    creds = sim.credentials
    answer = requests.post(
        f"{sim.base_url}/connect/token",
        data={"grant_type": "client_credentials", "client_id": creds["client_id"], "client_secret": creds["client_secret"]},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["access_token"]


def sdk_client(sim, token: str | None = None):
    config = aspose_ocr.Configuration(host=sim.base_url, access_token=token or sdk_token(sim))
    return aspose_ocr.ApiClient(config)


def until_done(fetch, task_id, timeout: float = 120.0):
    """Poll like the docs say until the task leaves Pending/Processing (the engine does real work)."""
    deadline = time.monotonic() + timeout
    while True:
        response = fetch(task_id)
        if response.task_status not in ("Pending", "Processing"):
            return response
        assert time.monotonic() < deadline, f"task {task_id} still {response.task_status}"
        time.sleep(0.05)


@pytest.mark.tools
def test_sdk_recognize_table_end_to_end(sim):
    image = samples.table_image(TABLE)
    with sdk_client(sim) as client:
        api = aspose_ocr.RecognizeTableApi(client)
        body = OCRRecognizeTableBody(
            image=base64.b64encode(image).decode(),
            settings=OCRSettingsRecognizeTable(result_type_table=ResultTypeTable.CSV),
        )
        task_id = api.post_recognize_table(body)
        assert str(uuid.UUID(task_id)) == task_id  # the bare GUID, no quotes

        response = until_done(api.get_recognize_table, task_id)
        assert response.task_status == "Completed", response.error
        assert response.response_status_code == "Ok"
        assert response.id == task_id
        assert [r.type for r in response.results] == ["Csv"]
        rows = list(csv.reader(io.StringIO(base64.b64decode(response.results[0].data).decode("utf-8"))))
        assert [[cell.strip() for cell in row] for row in rows] == TABLE

        status = aspose_ocr.UtilitiesApi(client).get_task_status(task_id)
        assert status.task_status == "Completed"
        assert not status.results

        api.cancel_recognize_table(task_id)
        gone = api.get_recognize_table(task_id)
        assert gone.task_status == "NotExist"
        assert gone.response_status_code == "TaskNotFound"
        assert gone.results is None


@pytest.mark.tools
def test_sdk_djvu_to_pdf_end_to_end(sim):
    djvu = samples.djvu_document(["First page of the scan", "Second page of the scan"])
    with sdk_client(sim) as client:
        api = aspose_ocr.DjVu2PDFApi(client)
        body = OCRDjVu2PDFBody(image=base64.b64encode(djvu).decode(), settings=OCRSettingsDjVu2PDF())
        task_id = api.post_dj_vu2_pdf(body)
        response = until_done(api.get_dj_vu2_pdf, task_id)
        assert response.task_status == "Completed", response.error
        assert [r.type for r in response.results] == ["Pdf"]
        pdf = pdfium.PdfDocument(base64.b64decode(response.results[0].data))
        assert len(pdf) == 2
        assert "Second page" in pdf[1].get_textpage().get_text_range()
        api.cancel_dj_vu2_pdf(task_id)
        assert api.get_dj_vu2_pdf(task_id).task_status == "NotExist"


@pytest.mark.tools
def test_sdk_recognize_image_text(sim):
    page = samples.text_page("The simulator reads this line")
    with sdk_client(sim) as client:
        api = aspose_ocr.RecognizeImageApi(client)
        body = OCRRecognizeImageBody(
            image=base64.b64encode(page).decode(),
            settings=OCRSettingsRecognizeImage(result_type=ResultType.TEXT, language="English"),
        )
        response = until_done(api.get_recognize_image, api.post_recognize_image(body))
        assert response.task_status == "Completed"
        assert "simulator reads this line" in base64.b64decode(response.results[0].data).decode()


def test_sdk_pending_and_processing_states_parse(sim):
    """With durations on the clock, the SDK sees Pending, then Processing, then an Error it can parse."""
    sim.durations.update(queued=10, processing=10)
    with sdk_client(sim) as client:
        api = aspose_ocr.DjVu2PDFApi(client)
        not_djvu = base64.b64encode(b"plain text, not a DjVu").decode()
        task_id = api.post_dj_vu2_pdf(OCRDjVu2PDFBody(image=not_djvu, settings=OCRSettingsDjVu2PDF()))
        first = api.get_dj_vu2_pdf(task_id)
        assert (first.task_status, first.response_status_code) == ("Pending", "NotReady")
        sim.clock.advance(11)
        assert api.get_dj_vu2_pdf(task_id).task_status == "Processing"
        sim.clock.advance(10)
        failed = api.get_dj_vu2_pdf(task_id)
        assert (failed.task_status, failed.response_status_code) == ("Error", "Error")
        assert failed.error.messages and "DjVu" in failed.error.messages[0]


def test_sdk_unknown_id_and_retention(sim):
    with sdk_client(sim) as client:
        utilities = aspose_ocr.UtilitiesApi(client)
        unknown = utilities.get_task_status(str(uuid.uuid4()))
        assert (unknown.task_status, unknown.response_status_code) == ("NotExist", "TaskNotFound")

        api = aspose_ocr.RecognizeImageApi(client)
        body = OCRRecognizeImageBody(image=base64.b64encode(samples.text_page("x")).decode(),
                                     settings=OCRSettingsRecognizeImage())
        task_id = api.post_recognize_image(body)
        assert utilities.get_task_status(task_id).task_status in ("Pending", "Processing", "Completed", "Error")
        sim.clock.advance(24 * 3600 + 1)
    # The token has expired too by now: a fresh one, and the task is gone.
    with sdk_client(sim) as client:
        expired = aspose_ocr.RecognizeImageApi(client).get_recognize_image(task_id)
        assert expired.task_status == "NotExist"


def test_sdk_bad_and_expired_tokens_are_401(sim):
    with sdk_client(sim, token="not-a-token") as client:
        with pytest.raises(UnauthorizedException) as caught:
            aspose_ocr.UtilitiesApi(client).get_task_status(str(uuid.uuid4()))
        assert caught.value.status == 401
    with sdk_client(sim) as client:
        api = aspose_ocr.UtilitiesApi(client)
        api.get_task_status(str(uuid.uuid4()))  # the fresh token works
        sim.clock.advance(3601)
        with pytest.raises(UnauthorizedException):
            api.get_task_status(str(uuid.uuid4()))
