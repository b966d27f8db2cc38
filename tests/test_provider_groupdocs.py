"""The GroupDocs.Conversion Cloud adapter end to end against its simulator."""

from __future__ import annotations

import io

import pypdfium2 as pdfium
import pytest
import requests
from PIL import Image

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.errors import AuthenticationError, JobFailed, OutputUnavailable
from docconvert_nb.providers.groupdocs import GroupDocs
from docconvert_nb.status import JobStatus

from .helpers import image_bytes, near, open_image


@pytest.fixture
def sim():
    with dc.simulate("groupdocs") as simulator:
        yield simulator


def token(sim) -> str:
    return requests.post(f"{sim.base_url}/connect/token", data={"grant_type": "client_credentials", **sim.credentials},
                         timeout=5).json()["access_token"]


def two_page_pdf() -> bytes:
    pages = [Image.new("RGB", (200, 120), c) for c in ((200, 30, 30), (30, 30, 200))]
    buf = io.BytesIO()
    pages[0].save(buf, "PDF", save_all=True, append_images=pages[1:], resolution=72)
    return buf.getvalue()


def test_image_to_pdf_through_storage(sim, tmp_path):
    job = dc.convert(image_bytes("PNG", size=(200, 100), color=(10, 120, 200)), "pdf", provider=sim.provider,
                     name="blue.png", save_to=tmp_path).wait(timeout=60)
    [output] = job.outputs
    assert output.name == "blue.pdf" and output.content_type == "application/pdf"
    page = pdfium.PdfDocument(str(tmp_path / "blue.pdf"))[0].render(scale=0.5).to_pil().convert("RGB")
    assert near(page.getpixel((page.width // 2, page.height // 2)), (10, 120, 200), 12)
    # Input uploaded to its own folder, output written to <folder>/out/<stem>.pdf by the operation.
    folder = output.metadata["storage_path"].rsplit("/out/", 1)[0]
    assert sorted(sim.storage) == [f"{folder}/blue.png", f"{folder}/out/blue.pdf"]
    assert sim.jobs[job.id].method == "ConvertAndSave"
    calls = [(r.method, r.path) for r in sim.requests_seen]
    assert calls[0] == ("POST", "/connect/token") and ("POST", "/v2.0/conversion/async") in calls


def test_delete_removes_input_and_output_from_storage(sim):
    job = dc.convert(image_bytes("PNG"), "pdf", provider=sim.provider, name="x.png").wait(timeout=60)
    output = job.outputs[0]
    assert len(sim.storage) == 2
    job.delete()
    assert job.status == JobStatus.DELETED and sim.storage == {}
    with pytest.raises(OutputUnavailable):
        output.read()


def test_pdf_pages_to_images(sim):
    job = dc.convert(two_page_pdf(), "png", provider=sim.provider, name="deck.pdf", pages="1-2", dpi=72)
    job.wait(timeout=60)
    assert [o.name for o in job.outputs] == ["deck-p1.png", "deck-p2.png"]
    first, second = (open_image(o.read()).convert("RGB") for o in job.outputs)
    assert near(first.getpixel((100, 60)), (200, 30, 30), 12) and near(second.getpixel((100, 60)), (30, 30, 200), 12)
    operation_settings = sim.engine.get(sim.jobs[job.id].engine_id).options
    assert operation_settings["pages"] == "1-2" and operation_settings["dpi"] == 72


@pytest.mark.tools
@pytest.mark.slow
def test_docx_to_pdf_keeps_the_words(sim):
    docx = samples.docx_document(["Storage first, then the operation."])
    job = dc.convert(docx, "pdf", provider=sim.provider, name="report.docx").wait(timeout=240)
    text = " ".join(pdfium.PdfDocument(job.outputs[0].read())[0].get_textpage().get_text_range().split())
    assert "Quarterly report" in text and "Storage first, then the operation." in text


def test_states_follow_created_started_finished(sim):
    sim.durations.update(queued=0.6, processing=0.6)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=sim.provider, name="x.png")
    seen = []
    job.on_change(lambda j: seen.append(j.status))
    job.wait(timeout=60)
    assert JobStatus.PROCESSING in seen and seen[-1] == JobStatus.COMPLETED
    assert job.started_at is not None and job.finished_at >= job.started_at


def test_a_damaged_document_fails_the_operation(sim):
    job = dc.convert(image_bytes("PNG")[:60], "pdf", provider=sim.provider, name="broken.png")
    with pytest.raises(JobFailed):
        job.wait(timeout=60)
    assert job.status == JobStatus.FAILED and job.errors


def test_formats_come_from_the_service(sim):
    table = dc.formats(provider=sim.provider)
    pairs = set(zip(table.source, table.target))
    assert {("docx", "pdf"), ("png", "pdf"), ("pdf", "png"), ("pdf", "jpeg")} <= pairs
    assert any(r.path == "/v2.0/conversion/formats" for r in sim.requests_seen)
    raw = requests.get(f"{sim.base_url}/v2.0/conversion/formats", params={"format": "pdf"},
                       headers={"Authorization": f"Bearer {token(sim)}"}, timeout=5).json()
    assert raw == [{"sourceFormat": "pdf", "targetFormats": ["bmp", "gif", "jpg", "png", "tiff", "webp"]}]


def test_unconfigured_adapter_lists_built_in_pairs_and_refuses_to_submit(monkeypatch):
    monkeypatch.delenv("GROUPDOCS_CLIENT_ID", raising=False)
    monkeypatch.delenv("GROUPDOCS_CLIENT_SECRET", raising=False)
    provider = GroupDocs(base_url="http://127.0.0.1:9")
    assert not provider.configured and provider.supports("convert", "docx", "pdf")
    with pytest.raises(AuthenticationError, match="GROUPDOCS_CLIENT_ID"):
        dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="x.png")


def test_one_token_serves_many_calls(sim):
    for _ in range(2):
        dc.convert(image_bytes("PNG"), "pdf", provider=sim.provider, name="x.png").wait(timeout=60)
    assert sim.tokens.issued == 1


def test_unknown_operation_is_gone_not_failed(sim):
    assert sim.provider.status("ecbfa56b-3545-4620-86a0-4c500c8ac38e").status == JobStatus.EXPIRED


def test_bad_options_are_refused_before_submitting(sim):
    with pytest.raises(dc.errors.InvalidOptions, match="pages"):
        dc.convert(image_bytes("PNG"), "pdf", provider=sim.provider, name="x.png", pages="last")


# -- the simulator's wire rules ---------------------------------------------------------------------

def test_every_route_needs_a_bearer_token(sim):
    answer = requests.get(f"{sim.base_url}/v2.0/conversion/formats", timeout=5)
    assert answer.status_code == 401 and answer.json()["error"]["code"] == "Unauthorized"


def test_storage_paths_are_routed_on_the_raw_target(sim):
    headers = {"Authorization": f"Bearer {token(sim)}"}
    base = f"{sim.base_url}/v2.0/conversion/storage"
    put = requests.put(f"{base}/file/copy%2Fa.png", files={"file": ("a.png", b"data")}, headers=headers, timeout=5)
    assert put.json() == {"uploaded": ["a.png"], "errors": []}
    assert "copy/a.png" in sim.storage  # %2F is a file path separator, not the copy verb
    copied = requests.put(f"{base}/file/copy/copy%2Fa.png", params={"destPath": "b/a.png"}, headers=headers, timeout=5)
    assert copied.status_code == 200 and sim.storage["b/a.png"].data == b"data"
    assert requests.get(f"{base}/exist/b%2Fa.png", headers=headers, timeout=5).json() == {"exists": True,
                                                                                          "isFolder": False}
    assert requests.get(f"{base}/exist/b", headers=headers, timeout=5).json() == {"exists": True, "isFolder": True}
    download = requests.get(f"{base}/file/b%2Fa.png", headers=headers, timeout=5)
    assert download.content == b"data" and 'filename="a.png"' in download.headers["Content-Disposition"]


def test_start_needs_the_file_in_storage_and_answers_camel_case(sim):
    headers = {"Authorization": f"Bearer {token(sim)}"}
    missing = requests.post(f"{sim.base_url}/v2.0/conversion/async", json={"FilePath": "nope.docx", "Format": "pdf"},
                            headers=headers, timeout=5)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "FileNotFound"
    requests.put(f"{sim.base_url}/v2.0/conversion/storage/file/in%2Fa.png", files={"file": ("a.png", image_bytes())},
                 headers=headers, timeout=5)
    started = requests.post(f"{sim.base_url}/v2.0/conversion/async",
                            json={"filePath": "in/a.png", "format": "pdf", "outputPath": "out"}, headers=headers,
                            timeout=5)
    assert started.headers["Content-Type"].startswith("application/json")
    operation_id = started.json()
    sim.engine.shutdown(wait=True)  # let the conversion finish
    status = requests.get(f"{sim.base_url}/v2.0/conversion/async", params={"id": operation_id}, headers=headers,
                          timeout=5).json()
    assert status["status"] == "Finished" and status["result"][0]["path"] == "out/a.pdf"
    assert all(key[0].islower() for key in status) and all(key[0].islower() for key in status["result"][0])
    assert status["result"][0]["url"] == f"{sim.base_url}/v2.0/conversion/storage/file/out/a.pdf"
