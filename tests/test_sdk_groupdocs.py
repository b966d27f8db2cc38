"""The official ``groupdocs-conversion-cloud`` SDK against the simulator: every call parses without error."""

from __future__ import annotations

import time

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc

from .helpers import image_bytes, near

gd = pytest.importorskip("groupdocs_conversion_cloud")


@pytest.fixture
def sim():
    with dc.simulate("groupdocs", durations={"queued": 0.2, "processing": 0.2}) as simulator:
        yield simulator


@pytest.fixture
def cfg(sim, tmp_path):
    config = gd.Configuration(sim.credentials["client_id"], sim.credentials["client_secret"])
    config.api_base_url = sim.base_url
    config.temp_folder_path = str(tmp_path)
    return config


def finished(conv, operation_id, timeout=30.0):
    deadline = time.monotonic() + timeout
    statuses = []
    while time.monotonic() < deadline:
        result = conv.get_operation_status(gd.GetOperationStatusRequest(operation_id))
        statuses.append(result.status)
        if result.status in ("Finished", "Failed"):
            return result, statuses
        time.sleep(0.1)
    raise AssertionError(f"operation still {statuses[-1]}")


def test_upload_convert_and_save_status_download(sim, cfg, tmp_path):
    source = tmp_path / "photo.png"
    source.write_bytes(image_bytes("PNG", size=(160, 90), color=(0, 150, 80)))
    files, conv = gd.FileApi.from_config(cfg), gd.AsyncApi.from_config(cfg)
    uploaded = files.upload_file(gd.UploadFileRequest("in/photo.png", str(source)))
    assert uploaded.uploaded == ["photo.png"] and uploaded.errors == []
    settings = gd.ConvertSettings(file_path="in/photo.png", format="pdf", output_path="converted")
    operation_id = conv.start_convert_and_save(gd.StartConvertAndSaveRequest(settings))
    result, statuses = finished(conv, operation_id)
    assert statuses[0] == "Created" and result.status == "Finished" and result.method == "ConvertAndSave"
    assert result.created <= result.started <= result.finished
    [stored] = result.result
    assert (stored.name, stored.path) == ("photo.pdf", "converted/photo.pdf") and stored.size > 0
    local = files.download_file(gd.DownloadFileRequest(stored.path))
    page = pdfium.PdfDocument(local)[0].render(scale=0.5).to_pil().convert("RGB")
    assert near(page.getpixel((page.width // 2, page.height // 2)), (0, 150, 80), 12)
    exists = gd.StorageApi.from_config(cfg).object_exists(gd.ObjectExistsRequest("converted/photo.pdf"))
    assert exists.exists and not exists.is_folder
    files.delete_file(gd.DeleteFileRequest("in/photo.png"))
    assert "in/photo.png" not in sim.storage


def test_direct_convert_and_operation_result(sim, cfg, tmp_path):
    source = tmp_path / "scan.png"
    source.write_bytes(image_bytes("PNG", size=(120, 120), color=(90, 0, 160)))
    conv = gd.AsyncApi.from_config(cfg)
    operation_id = conv.start_convert(gd.StartConvertRequest("pdf", str(source)))
    result, _ = finished(conv, operation_id)
    assert result.method == "Convert" and result.result[0].name == "scan.pdf"
    local = conv.get_operation_result(gd.GetOperationResultRequest(operation_id))
    assert local.endswith("scan.pdf")
    with open(local, "rb") as fh:
        assert fh.read(5) == b"%PDF-"


def test_failed_operation_and_formats(sim, cfg, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(image_bytes("PNG")[:60])
    gd.FileApi.from_config(cfg).upload_file(gd.UploadFileRequest("broken.png", str(broken)))
    conv = gd.AsyncApi.from_config(cfg)
    operation_id = conv.start_convert_and_save(gd.StartConvertAndSaveRequest(
        gd.ConvertSettings(file_path="broken.png", format="pdf", output_path="out")))
    result, _ = finished(conv, operation_id)
    assert result.status == "Failed" and result.error and result.result is None
    with pytest.raises(gd.ApiException) as caught:
        conv.start_convert_and_save(gd.StartConvertAndSaveRequest(gd.ConvertSettings(file_path="nope.docx",
                                                                                      format="pdf")))
    assert caught.value.code == 404 and "nope.docx" in caught.value.message
    formats = gd.InfoApi.from_config(cfg).get_supported_conversion_types(gd.GetSupportedConversionTypesRequest())
    by_source = {f.source_format: f.target_formats for f in formats}
    assert "pdf" in by_source["docx"] and {"png", "jpg"} <= set(by_source["pdf"])
