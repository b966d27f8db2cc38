"""The streaming JSON body parser: base64 fields decoded to files chunk by chunk, in bounded memory."""

from __future__ import annotations

import base64
import io
import json
import os
import tracemalloc

import pytest

from docconvert_nb.providers._streaming import Base64JsonSink, DecodedFile, StreamingJsonError, load_base64_json


def feed(body: bytes, step: int, directory, keys=("data",), **options):
    sink = Base64JsonSink(keys, directory, **options)
    for start in range(0, len(body), step):
        sink.write(body[start:start + step])
    return sink.finish()


def ocr_response(*payloads: bytes) -> dict:
    return {
        "id": "5f0b7c1e-0000-4000-8000-000000000001",
        "taskStatus": "Completed",
        "responseStatusCode": "Ok",
        "results": [{"type": "Pdf", "data": base64.b64encode(p).decode()} for p in payloads],
        "error": {"messages": [], "warnings": ['a "quoted" {brace} and "data": "not a field"']},
    }


@pytest.mark.parametrize("step", [1, 2, 3, 5, 7, 64, 1 << 20])
def test_fields_are_decoded_to_files_and_the_rest_parsed_whatever_the_chunking(tmp_path, step):
    first, second = os.urandom(3001), b"%PDF-1.4 second result \x00\xff"
    body = json.dumps(ocr_response(first, second)).encode()
    document = feed(body, step, tmp_path)
    results = document["results"]
    assert [r["type"] for r in results] == ["Pdf", "Pdf"]
    assert all(isinstance(r["data"], DecodedFile) for r in results)
    assert results[0]["data"].path.read_bytes() == first and results[0]["data"].size == len(first)
    assert results[1]["data"].path.read_bytes() == second
    assert document["error"]["warnings"] == ['a "quoted" {brace} and "data": "not a field"']
    assert document["taskStatus"] == "Completed"


def test_json_escapes_a_server_may_use_inside_base64(tmp_path):
    payload = os.urandom(600)
    text = base64.b64encode(payload).decode()
    wrapped = "\\n".join(text[i:i + 76] for i in range(0, len(text), 76))  # MIME line breaks, JSON-escaped
    wrapped = wrapped.replace("/", "\\/").replace("A", "\\u0041")  # escaped solidus; a \u escape
    body = ('{"results": [{"type": "Pdf", "data": "' + wrapped + '"}]}').encode()
    for step in (1, 3, 4096):
        assert feed(body, step, tmp_path)["results"][0]["data"].path.read_bytes() == payload


def test_only_string_values_of_the_named_members_are_diverted(tmp_path):
    body = json.dumps({
        "data": None,
        "other": base64.b64encode(b"stays text").decode(),
        "list": ["data", {"data": base64.b64encode(b"nested").decode()}],
        "da\u0074a2": 1,
    }).encode().replace(b'"data": null', b'"da\\u0074a": null')
    document = feed(body, 5, tmp_path)
    assert document["data"] is None
    assert document["other"] == base64.b64encode(b"stays text").decode()
    assert document["list"][0] == "data"
    assert document["list"][1]["data"].path.read_bytes() == b"nested"


def test_an_escaped_member_name_still_counts(tmp_path):
    body = b'{"da\\u0074a": "' + base64.b64encode(b"hello") + b'"}'
    assert feed(body, 2, tmp_path)["data"].path.read_bytes() == b"hello"


@pytest.mark.parametrize("body, message", [
    (b'{"data": "QU!D"}', "not valid base64"),
    (b'{"data": "QUJD', "truncated"),
    (b'{"data": "QUJ"}', "4-character group"),
    (b'{"data": "QUJD"', "truncated"),
    (b'{"data": "QQ==QUJD"}', "after its '=' padding"),
    (b'{"data": "QUJD\\"}', "escape base64 does not use"),
    (b'{"data": "QUJD"} trailing', "not valid JSON"),
    (b'{"data": "QUJD"}}', "never opened"),
])
def test_bad_bodies_raise_and_leave_no_files_behind(tmp_path, body, message):
    with pytest.raises(StreamingJsonError, match=message):
        feed(body, 3, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_download_that_breaks_off_can_be_discarded(tmp_path):
    sink = Base64JsonSink({"data"}, tmp_path)
    sink.write(b'{"results": [{"data": "' + base64.b64encode(os.urandom(3000)))
    assert len(list(tmp_path.iterdir())) == 1
    sink.discard()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StreamingJsonError, match="already failed"):
        sink.write(b'"}]}')


def test_a_body_big_for_another_reason_is_refused(tmp_path):
    body = json.dumps({"data": "QUJD", "text": "x" * 5000}).encode()
    with pytest.raises(StreamingJsonError, match="more than 1000 bytes"):
        feed(body, 100, tmp_path, max_text=1000)
    assert list(tmp_path.iterdir()) == []


def test_a_file_or_an_iterable_of_chunks(tmp_path):
    body = json.dumps(ocr_response(b"abc")).encode()
    from_file = load_base64_json(io.BytesIO(body), {"data"}, tmp_path, chunk_size=7)
    from_chunks = load_base64_json([body[:10], body[10:]], {"data"}, tmp_path)
    assert from_file["results"][0]["data"].path.read_bytes() == b"abc"
    assert from_chunks["results"][0]["data"].path.read_bytes() == b"abc"


def test_memory_stays_at_a_chunk_for_a_large_field(tmp_path):
    """20 MB decoded through 1 MiB chunks: Python allocations peak near a few chunks, not the field."""
    block = os.urandom(3 << 18)  # 768 KiB → exactly 1 MiB of base64
    encoded = base64.b64encode(block)
    blocks = 20
    sink = Base64JsonSink({"data"}, tmp_path)
    tracemalloc.start()
    try:
        sink.write(b'{"results": [{"type": "Pdf", "data": "')
        for _ in range(blocks):
            sink.write(encoded)
        sink.write(b'"}], "taskStatus": "Completed"}')
        document = sink.finish()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    decoded = document["results"][0]["data"]
    assert decoded.size == blocks * len(block)
    assert peak < 6 * len(encoded), f"peak {peak / 1e6:.1f} MB for a {decoded.size / 1e6:.0f} MB field"
    with decoded.path.open("rb") as fh:
        assert fh.read(len(block)) == block


def test_a_download_sent_again_starts_the_sink_over(tmp_path):
    """HttpClient.download rewinds its sink (seek(0), truncate()) when a body breaks off half-way."""
    payload = os.urandom(50_000)
    body = json.dumps({"results": [{"data": base64.b64encode(payload).decode()}]}).encode()
    sink = Base64JsonSink({"data"}, tmp_path)
    sink.write(body[: len(body) // 2])  # the first attempt breaks off here
    sink.seek(0)
    sink.truncate()
    assert list(tmp_path.iterdir()) == []  # what the broken attempt decoded is gone
    sink.write(body)
    [result] = sink.finish()["results"]
    assert result["data"].path.read_bytes() == payload
    with pytest.raises(OSError):
        sink.seek(10)
