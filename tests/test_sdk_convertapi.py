"""The official ``convertapi`` SDK (2.x) against the simulator: upload, convert, download, user."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc

from .helpers import image_bytes, near

convertapi = pytest.importorskip("convertapi")


@pytest.fixture
def sdk():
    with dc.simulate("convertapi") as sim:
        saved = convertapi.api_credentials, convertapi.base_uri
        convertapi.api_credentials = sim.credentials["secret"]
        convertapi.base_uri = sim.base_url + "/"  # the SDK concatenates: the slash is required
        try:
            yield sim
        finally:
            convertapi.api_credentials, convertapi.base_uri = saved


def test_sdk_converts_a_local_file_end_to_end(sdk, tmp_path):
    source = tmp_path / "my picture.png"
    source.write_bytes(image_bytes("PNG", size=(160, 90), color=(220, 120, 0)))
    result = convertapi.convert("pdf", {"File": str(source)})
    assert result.conversion_cost == 1
    assert result.file.filename == "my picture.pdf" and result.file.url.startswith(sdk.base_url + "/d/")
    [saved] = result.save_files(str(tmp_path))
    page = pdfium.PdfDocument(saved)[0].render(scale=0.5).to_pil().convert("RGB")
    assert near(page.getpixel((page.width // 2, page.height // 2)), (220, 120, 0), 12)
    calls = [(r.method, r.path.split("/")[1]) for r in sdk.requests_seen]
    # Upload with an RFC 5987 file name, a urlencoded convert referring to the FileId, the download.
    assert calls == [("POST", "upload"), ("POST", "convert"), ("GET", "d")]
    assert result.file.size == len(result.file.io.getvalue())


def test_sdk_result_feeds_the_next_conversion(sdk, tmp_path):
    source = tmp_path / "page.png"
    source.write_bytes(image_bytes("PNG", size=(100, 100), color=(0, 0, 255)))
    pdf = convertapi.convert("pdf", {"File": str(source)})
    png = convertapi.convert("png", {"File": pdf, "ImageResolution": "72"}, from_format="pdf")
    [saved] = png.save_files(str(tmp_path))
    assert png.file.filename.endswith(".png")
    from PIL import Image

    with Image.open(saved) as image:
        assert near(image.convert("RGB").getpixel((image.width // 2, image.height // 2)), (0, 0, 255), 12)


def test_sdk_reads_user_and_errors(sdk, tmp_path):
    user = convertapi.user()
    assert user["ConversionsTotal"] == 1500 and user["ConversionsConsumed"] == 0
    convertapi.api_credentials = "wrong"
    with pytest.raises(convertapi.ApiError) as caught:
        convertapi.user()
    assert caught.value.code == 4010
    convertapi.api_credentials = sdk.credentials["secret"]
    broken = tmp_path / "broken.png"
    broken.write_bytes(image_bytes("PNG")[:60])
    with pytest.raises(convertapi.ApiError) as caught:
        convertapi.convert("pdf", {"File": str(broken)})
    assert caught.value.code == 5001
