"""Mistakes in a call are typed errors that never block; document failures are messages; small items."""

from __future__ import annotations

import io
import json
import logging
import os
import stat
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image

import docconvert_nb as dc
from docconvert_nb.errors import DocconvertError, InputIsFolder, InputNotFound, InputNotRegular, JobFailed

from .helpers import image_bytes


def test_a_missing_file_is_a_typed_error_that_is_still_a_file_not_found(provider, tmp_path):
    with pytest.raises(InputNotFound, match="no such file") as raised:
        dc.convert(tmp_path / "missing.png", to="pdf", provider=provider)
    assert isinstance(raised.value, DocconvertError) and isinstance(raised.value, FileNotFoundError)
    (tmp_path / "dangling.png").symlink_to(tmp_path / "nowhere.png")
    with pytest.raises(InputNotFound):
        dc.convert(tmp_path / "dangling.png", to="pdf", provider=provider)


def test_a_folder_and_a_symlink_loop_are_typed_errors(provider, tmp_path):
    with pytest.raises(InputIsFolder, match="is a folder"):
        dc.convert(tmp_path, to="pdf", provider=provider)
    (tmp_path / "a.png").symlink_to(tmp_path / "b.png")
    (tmp_path / "b.png").symlink_to(tmp_path / "a.png")
    with pytest.raises(InputNotRegular, match="loop of symbolic links"):
        dc.convert(tmp_path / "a.png", to="pdf", provider=provider)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("with_writer", [False, True])
def test_a_fifo_is_refused_at_once_and_never_read(provider, tmp_path, with_writer):
    fifo = tmp_path / "scan.png"
    os.mkfifo(fifo)
    writer = None
    if with_writer:
        # A writer that would feed a PNG forever: reading it would never end.
        writer = subprocess.Popen([sys.executable, "-c", f"import sys\nf = open({str(fifo)!r}, 'wb')\n"
                                   "while True: f.write(b'\\x89PNG' * 1000)"], stderr=subprocess.DEVNULL)
        time.sleep(0.3)
    try:
        started = time.monotonic()
        with pytest.raises(InputNotRegular, match="FIFO"):
            dc.convert(fifo, to="pdf", provider=provider)
        assert time.monotonic() - started < 5
    finally:
        if writer is not None:
            writer.kill()
            writer.wait()


def test_a_device_is_refused(provider):
    with pytest.raises(InputNotRegular, match="device"):
        dc.convert("/dev/zero", to="pdf", provider=provider, name="zero.png")


def _png_with_ztxt(inflated: int = 200_000_000) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (10, 10), "white").save(buf, "PNG")
    png = buf.getvalue()
    data = b"Comment\x00\x00" + zlib.compress(b"\x00" * inflated, 9)
    chunk = struct.pack(">I", len(data)) + b"zTXt" + data + struct.pack(">I", zlib.crc32(b"zTXt" + data))
    return png[:33] + chunk + png[33:]


def test_a_png_with_a_huge_text_chunk_fails_with_a_message_and_no_traceback(provider, caplog):
    caplog.set_level(logging.ERROR)
    job = dc.convert(_png_with_ztxt(), to="pdf", provider=provider, name="bomb.png")
    with pytest.raises(JobFailed) as failure:
        job.wait(timeout=60)
    assert "inflates beyond Pillow's safety limit" in str(failure.value)
    assert "ValueError" not in str(failure.value)
    assert not [r for r in caplog.records if r.exc_info]


def test_a_300_character_name_converts_with_a_shortened_output_name(provider, tmp_path, caplog):
    caplog.set_level(logging.ERROR)
    name = "é" * 290 + "report.png"
    job = dc.convert(image_bytes(), to="pdf", provider=provider, name=name).wait(timeout=60)
    (out,) = job.outputs
    assert len(out.name.encode()) < 200 and out.name.endswith(".pdf") and out.name.startswith("éé")
    assert str(tmp_path) not in job.message
    assert not [r for r in caplog.records if r.exc_info]


def test_non_utf8_file_names_give_no_lone_surrogates(provider, tmp_path):
    raw = os.path.join(os.fsencode(tmp_path), b"scan-\xff\xfe.png")
    with open(raw, "wb") as fh:
        fh.write(image_bytes())
    job = dc.convert(os.fsdecode(raw), to="pdf", provider=provider).wait(timeout=60)
    for text in (repr(job), json.dumps(job.to_dict(), ensure_ascii=False), job.source_name):
        text.encode("utf-8")  # a lone surrogate would raise UnicodeEncodeError
    assert "scan-\ufffd\ufffd.png" == job.source_name
    missing = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"gone-\xff.png"))
    with pytest.raises(InputNotFound) as raised:
        dc.convert(missing, to="pdf", provider=provider)
    str(raised.value).encode("utf-8")


def test_the_store_is_private_and_saved_outputs_follow_the_umask(provider, engine, tmp_path):
    job = dc.convert(image_bytes(), to="pdf", provider=provider, name="scan.png").wait(timeout=60)
    job_dir = engine.store.job_dir(job.id)
    assert stat.S_IMODE(engine.store.jobs_dir.stat().st_mode) == 0o700
    for path in [job_dir, *job_dir.rglob("*")]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), f"{path} is {oct(mode)}"
    old = os.umask(0o022)
    try:
        assert stat.S_IMODE(job.outputs[0].save(tmp_path / "shared").stat().st_mode) == 0o644
        os.umask(0o077)
        assert stat.S_IMODE(job.outputs[0].save(tmp_path / "private").stat().st_mode) == 0o600
    finally:
        os.umask(old)


def test_the_engine_refuses_to_copy_a_file_that_turned_into_a_fifo(engine, tmp_path):
    from docconvert_nb.documents import ConversionRequest, Source

    fifo = tmp_path / "late.png"
    os.mkfifo(fifo)
    source = Source(name="late.png", format="png", path=fifo)
    done = threading.Event()

    def submit():
        try:
            engine.submit(ConversionRequest(source, "pdf"))
        except DocconvertError:
            pass
        finally:
            done.set()

    threading.Thread(target=submit, daemon=True).start()
    assert done.wait(10), "copying a FIFO into the store blocked"


def test_the_doctor_reports_the_sandbox_and_the_memory_ceiling():
    from docconvert_nb.engine import sandbox
    from docconvert_nb.engine.doctor import doctor

    (check,) = [c for c in doctor().checks if c.name == "landlock"]
    assert check.version == (f"ABI {sandbox.available()}" if sandbox.available() else "not available")
    script = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (2**32, 2**32)); "
              "from docconvert_nb.engine.doctor import _sandbox_check; print(_sandbox_check().note)")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                         env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}).stdout
    assert "address space capped at 4,096 MB" in out
