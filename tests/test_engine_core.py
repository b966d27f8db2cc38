"""The engine's queue, store and isolation, independent of any one converter."""

import threading
import time

import pytest

import docconvert_nb as dc
from docconvert_nb.documents import ConversionRequest, Source
from docconvert_nb.engine import Engine
from docconvert_nb.engine.registry import Converter, Option, Registry
from docconvert_nb.engine.store import JobStore
from docconvert_nb.outputs import safe_filename
from docconvert_nb.providers.embedded import EmbeddedProvider
from docconvert_nb.status import JobStatus

from .helpers import image_bytes


def _request(data=None, to="pdf", **options):
    return ConversionRequest(Source.from_input(data or image_bytes()), to, "convert", options)


def _wait(engine, job_id, timeout=30):
    deadline = time.monotonic() + timeout
    while not engine.get(job_id).job_status.is_terminal:
        assert time.monotonic() < deadline, "job did not finish"
        time.sleep(0.01)
    return engine.get(job_id)


def test_decompression_bomb_is_refused(tmp_path):
    engine = Engine(tmp_path, max_pixels=10_000)
    job_id = engine.submit(_request(image_bytes(size=(200, 200))))
    record = _wait(engine, job_id)
    assert record.job_status is JobStatus.FAILED
    assert "over the limit" in record.message and "40,000" in record.message


def test_a_crashing_converter_fails_its_job_and_the_pool_keeps_serving(tmp_path):
    registry = Registry()

    def explode(ctx):
        raise RuntimeError("boom")

    def works(ctx):
        ctx.add_output(b"ok", "ok.txt", fmt="txt")

    registry.add(Converter("explode", "convert", frozenset({"png"}), frozenset({"pdf"}), explode))
    registry.add(Converter("works", "convert", frozenset({"png"}), frozenset({"txt"}), works))
    engine = Engine(tmp_path, workers=1, registry=registry)
    bad = [engine.submit(_request()) for _ in range(3)]
    good = engine.submit(_request(to="txt"))
    assert all(_wait(engine, j).message == "RuntimeError: boom" for j in bad)
    assert _wait(engine, good).job_status is JobStatus.COMPLETED


def test_converter_producing_nothing_fails_clearly(tmp_path):
    registry = Registry()
    registry.add(Converter("nothing", "convert", frozenset({"png"}), frozenset({"pdf"}), lambda ctx: None))
    engine = Engine(tmp_path, registry=registry)
    record = _wait(engine, engine.submit(_request()))
    assert record.job_status is JobStatus.FAILED and "produced no output" in record.message


def test_option_validation_lists_valid_options(tmp_path):
    engine = Engine(tmp_path)
    with pytest.raises(dc.InvalidOptions, match="valid options: dpi, pages, quality"):
        engine.submit(_request(to="jpeg", qualty=3))
    with pytest.raises(dc.InvalidOptions, match="takes int"):
        engine.submit(_request(to="jpeg", quality="high"))
    assert engine.converter_for("convert", "png", "jpeg").validate({"quality": "50"})["quality"] == 50


def test_cancel_a_queued_job(tmp_path):
    registry = Registry()
    gate = threading.Event()

    def slow(ctx):
        gate.wait(10)
        ctx.add_output(b"x", "x.txt", fmt="txt")

    registry.add(Converter("slow", "convert", frozenset({"png"}), frozenset({"txt"}), slow))
    engine = Engine(tmp_path, workers=1, registry=registry)
    running = engine.submit(_request(to="txt"))
    queued = engine.submit(_request(to="txt"))
    engine.cancel(queued)
    gate.set()
    assert _wait(engine, running).job_status is JobStatus.COMPLETED
    assert engine.get(queued).job_status is JobStatus.CANCELED


def test_store_survives_the_process_and_marks_interrupted_jobs(tmp_path):
    first = Engine(tmp_path)
    done = _wait(first, first.submit(_request())).id
    first.shutdown()
    # a job left "processing" by a process that no longer exists
    store = JobStore(tmp_path)
    record = store.load(done)
    record.id, record.status, record.pid = "dead-job", "processing", 2**22 + 7
    store.job_dir("dead-job").mkdir()
    store.save(record)

    second = Engine(tmp_path)
    assert second.get(done).job_status is JobStatus.COMPLETED
    assert second.output_path(done, record.outputs[0].name).exists()
    dead = second.get("dead-job")
    assert dead.job_status is JobStatus.FAILED and "interrupted" in dead.message
    assert {r.id for r in second.jobs()} == {done, "dead-job"}
    with pytest.raises(dc.JobNotFound):
        second.get("never-was")


def test_sweep_expires_and_purges(tmp_path, clock):
    engine = Engine(tmp_path, clock=clock, retention=60)
    job_id = _wait(engine, engine.submit(_request())).id
    clock.advance(61)
    assert engine.sweep() == 1
    assert engine.get(job_id).job_status is JobStatus.EXPIRED
    assert not any(engine.store.output_dir(job_id).parent.glob("output/*"))
    clock.advance(8 * 24 * 3600)
    engine.sweep()
    with pytest.raises(dc.JobNotFound):
        engine.get(job_id)


def test_input_is_copied_so_the_user_file_can_change(tmp_path):
    engine = Engine(tmp_path / "store")
    src = tmp_path / "a.png"
    src.write_bytes(image_bytes())
    job_id = engine.submit(ConversionRequest(Source.from_input(src), "pdf"))
    src.unlink()
    assert _wait(engine, job_id).job_status is JobStatus.COMPLETED


@pytest.mark.parametrize("name", ["../evil.pdf", "/etc/passwd", "a/b.pdf", "..", "", "x\x00.pdf", "C:evil"])
def test_unsafe_output_names_are_refused(name):
    with pytest.raises(dc.DocconvertError, match="unsafe"):
        safe_filename(name)


def test_embedded_provider_describes_itself_without_secrets(tmp_path):
    info = EmbeddedProvider(Engine(tmp_path)).describe()
    assert info["name"] == "embedded" and info["configured"] and not info["simulator"]


def test_tool_runner_limits_time_and_reports_failures(tmp_path):
    from docconvert_nb.engine.tools import ToolFailed, run

    with pytest.raises(ToolFailed, match="longer than 0.5 s"):
        run(["sleep", "5"], cwd=tmp_path, timeout=0.5)
    with pytest.raises(ToolFailed, match="exit code 3: oops"):
        run(["sh", "-c", "echo oops >&2; exit 3"], cwd=tmp_path)
    with pytest.raises(ToolFailed, match="not installed"):
        run(["no-such-tool-xyz"], cwd=tmp_path)
    assert run(["sh", "-c", "echo hi"], cwd=tmp_path).stdout == b"hi\n"


def test_cancel_kills_the_running_tool(tmp_path):
    registry = Registry()
    started = threading.Event()

    def sleeper(ctx):
        started.set()
        ctx.run_tool(["sleep", "30"], timeout=60)

    registry.add(Converter("sleeper", "convert", frozenset({"png"}), frozenset({"txt"}), sleeper))
    engine = Engine(tmp_path, workers=1, registry=registry)
    job_id = engine.submit(_request(to="txt"))
    assert started.wait(10)
    began = time.monotonic()
    engine.cancel(job_id)
    follow_up = engine.submit(_request(to="txt"))  # the single worker must be free again soon
    engine.cancel(follow_up)
    assert engine.get(job_id).job_status is JobStatus.CANCELED
    engine.shutdown(wait=True)
    assert time.monotonic() - began < 5  # not the 30 s the tool would have slept


@pytest.mark.parametrize(
    "option, text, expected",
    [
        (Option("dpi", (int, float), 150), "200", 200),
        (Option("dpi", (int, float), 150), "72.5", 72.5),
        (Option("quality", int, 90), "50", 50),
        (Option("ocr", bool, True), "false", False),
        (Option("pages", (str, int), None), "1-3", "1-3"),
    ],
)
def test_options_given_as_text_are_coerced(option, text, expected):
    assert option.coerce(text) == expected


def test_text_that_is_no_number_is_refused():
    with pytest.raises(dc.InvalidOptions, match="takes int or float"):
        Option("dpi", (int, float), 150).coerce("high")
