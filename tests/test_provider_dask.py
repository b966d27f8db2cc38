"""DaskProvider on a real LocalCluster: 2 worker processes on loopback, one killed mid-batch."""

import io
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import Image

import docconvert_nb as dc
from docconvert_nb import samples
from docconvert_nb.engine.registry import Converter, Registry
from docconvert_nb.status import JobStatus

from .helpers import image_bytes

ROOT = Path(__file__).resolve().parents[1]


def finished_within(job, seconds: float) -> bool:
    """Whether ``job`` finishes (outputs saved, done callbacks run) within ``seconds``, failed or not."""
    finished = threading.Event()
    job.add_done_callback(lambda _job: finished.set())
    return finished.wait(seconds)


def test_the_module_imports_without_distributed_and_using_it_says_how_to_install():
    script = textwrap.dedent("""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in ("distributed", "dask"):
                    raise ModuleNotFoundError(name)
        sys.meta_path.insert(0, Block())
        from docconvert_nb import providers
        from docconvert_nb.providers.dask import DaskProvider
        try:
            DaskProvider("tcp://127.0.0.1:1")
        except ImportError as exc:
            print("error:", exc)
        row = [r for r in providers.available() if r["name"] == "dask"][0]
        print("listed:", row["configured"], row["error"])
    """)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert 'error: the Dask provider needs distributed: pip install "docconvert_nb[dask]"' in done.stdout
    assert "listed: False the Dask provider needs distributed" in done.stdout


distributed = pytest.importorskip("distributed")

# -- converters only these tests use (pickled by reference, so the workers import this module) ----------
def sleep_in_a_tool(ctx):
    """Runs an external tool that outlives any test, until the job is canceled."""
    ctx.run_tool(["sleep", "97.25"])
    ctx.add_output(b"never", fmt="txt")


def kill_my_worker(ctx):
    """Takes its worker process down, every time it runs (once its "started" event is out)."""
    time.sleep(0.5)
    os._exit(13)


TEST_CONVERTERS = Registry()
TEST_CONVERTERS.add(Converter("sleep_in_a_tool", "convert", frozenset({"png"}), frozenset({"txt"}), sleep_in_a_tool))
TEST_CONVERTERS.add(Converter("kill_my_worker", "convert", frozenset({"gif"}), frozenset({"txt"}), kill_my_worker))


@pytest.fixture(scope="module")
def cluster():
    import dask

    # One death allowed: a task is rescheduled once after its worker dies, then it is KilledWorker.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        local = distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
            dashboard_address=None, worker_dashboard_address=None,
        )
    client = distributed.Client(local, set_as_default=False)
    yield client
    client.close()
    local.close()


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("dask")
    (base / "shared").mkdir()
    return base


@pytest.fixture(scope="module")
def provider(cluster, folders):
    from docconvert_nb.providers.dask import DaskProvider

    provider = DaskProvider(cluster, results=folders / "results", shared_dirs=[folders / "shared"],
                            inline_limit=4_000, retries=1)
    yield provider
    provider.close()


def worker_pids(client) -> dict[str, int]:
    return client.run(os.getpid)


def pdf_text(data: bytes) -> str:
    pdf = pdfium.PdfDocument(data)
    return " ".join(" ".join(pdf[i].get_textpage().get_text_range().split()) for i in range(len(pdf)))


@pytest.mark.slow
@pytest.mark.tools
def test_mixed_batch_survives_a_worker_killed_mid_batch(cluster, provider, folders):
    from docconvert_nb.providers._dask_worker import office_pids

    big_scan = folders / "shared" / "big-scan.png"  # above inline_limit: travels by shared path
    # A full page of text: the slowest job, so its worker can be killed while it runs.
    big_scan.write_bytes(samples.text_page("Shared folders carry large scans. " + samples.SAMPLE_TEXT))
    assert big_scan.stat().st_size > provider.inline_limit
    staged = folders / "private-photo.png"  # above inline_limit, not shared: staged at the results location
    Image.effect_noise((200, 200), 60).convert("RGB").save(staged)
    assert staged.stat().st_size > provider.inline_limit

    page = samples.text_page("Workers recognize this page of text.", width=1200, height=400)
    jobs = {
        "ocr": dc.ocr(page, "txt", name="page.png", provider=provider),
        "ocr-shared": dc.ocr(big_scan, "txt", provider=provider),
        "image": dc.convert(image_bytes("PNG", color=(20, 200, 40)), "jpeg", name="green.png", provider=provider),
        "image-staged": dc.convert(staged, "tiff", provider=provider),
        "pdf": dc.convert(samples.text_pages_pdf(["First PDF page.", "Second PDF page."]), "png",
                          name="two.pdf", provider=provider),
        "office": dc.convert(samples.docx_document(["Dask ran LibreOffice."]), "pdf", name="memo.docx",
                             provider=provider),
        "sheet": dc.convert(samples.xlsx_document(), "pdf", name="sheet.xlsx", provider=provider),
        "ocr-2": dc.ocr(page, "tsv", name="page2.png", provider=provider),
    }

    # Kill the worker of the full-page OCR while it runs.
    victim_job = jobs["ocr-shared"]
    deadline = time.monotonic() + 90
    while victim_job.status != JobStatus.PROCESSING and time.monotonic() < deadline:
        time.sleep(0.01)
    assert victim_job.status == JobStatus.PROCESSING, victim_job
    victim = provider.job_details(victim_job.id)["worker"]
    orphans = cluster.run(office_pids, workers=[victim]).get(victim, [])
    os.kill(worker_pids(cluster)[victim], signal.SIGKILL)
    try:
        for job in jobs.values():
            finished_within(job, 150)
    finally:
        _kill_groups(orphans)

    states = {name: (job.status, job.errors) for name, job in jobs.items()}
    assert all(status == JobStatus.COMPLETED for status, _ in states.values()), states
    details = provider.job_details(victim_job.id)
    assert details["attempts"] >= 2 and details["workers_tried"][0] == victim, details
    assert "attempt 2" in victim_job.message

    assert "recognize this page" in jobs["ocr"].outputs[0].text()
    assert "Shared folders carry large scans" in " ".join(jobs["ocr-shared"].outputs[0].text().split())
    assert "Workers" in jobs["ocr-2"].outputs[0].text()  # a TSV of word boxes
    green = Image.open(io.BytesIO(jobs["image"].outputs[0].read()))
    assert green.format == "JPEG" and green.size == (120, 80)
    tiff = Image.open(io.BytesIO(jobs["image-staged"].outputs[0].read()))
    assert tiff.format == "TIFF" and tiff.size == (200, 200)
    assert [o.name for o in jobs["pdf"].outputs] == ["two-p1.png", "two-p2.png"]
    assert "Dask ran LibreOffice." in pdf_text(jobs["office"].outputs[0].read())
    assert "Lisbon" in pdf_text(jobs["sheet"].outputs[0].read())

    # Large outputs were written by the workers to the results folder and are read from there.
    tiff_out = jobs["image-staged"].outputs[0]
    assert tiff_out.size > provider.inline_limit
    assert (folders / "results" / jobs["image-staged"].id / tiff_out.name).is_file()
    assert not (folders / "results" / "_inputs" / jobs["image-staged"].id).exists()  # staged input removed
    # Every output and every job says which worker ran it.
    for job in jobs.values():
        assert job.outputs[0].metadata["worker"].startswith("tcp://127.0.0.1:")
        assert "on worker" in job.message
    jobs["image-staged"].delete()
    assert not (folders / "results" / jobs["image-staged"].id).exists()


@pytest.mark.slow
def test_cancel_kills_the_running_tool_and_the_worker_goes_on(cluster):
    from docconvert_nb.providers.dask import DaskProvider

    sleepy = DaskProvider(cluster, registry=TEST_CONVERTERS)
    try:
        job = dc.convert(image_bytes("PNG"), "txt", name="slow.png", provider=sleepy)
        deadline = time.monotonic() + 30
        while not (_sleeping() and job.status == JobStatus.PROCESSING) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _sleeping(), "the tool never started"
        assert job.status == JobStatus.PROCESSING and "Converting on worker" in job.message
        job.cancel()
        assert job.status == JobStatus.CANCELED
        deadline = time.monotonic() + 10
        while _sleeping() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _sleeping(), "the canceled job's tool still runs"
        assert sleepy.status(job.id).status == JobStatus.CANCELED

        # Closing the provider ends what it still runs, and says so on the job.
        second = dc.convert(image_bytes("PNG"), "txt", name="slow2.png", provider=sleepy)
        deadline = time.monotonic() + 30
        while not _sleeping() and time.monotonic() < deadline:
            time.sleep(0.05)
        sleepy.close()
        assert finished_within(second, 10) and second.status == JobStatus.FAILED
        assert "closed before the job finished" in second.errors[-1]
        deadline = time.monotonic() + 10
        while _sleeping() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _sleeping(), "the tool of a job left by close() still runs"
    finally:
        sleepy.close()


def _kill_groups(pids) -> None:
    """A killed worker cannot stop the LibreOffice (own process group) it started: stop it here."""
    for pid in pids:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def _sleeping() -> bool:
    for proc in Path("/proc").iterdir():
        try:
            if b"97.25" in (proc / "cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False


@pytest.mark.slow
def test_a_job_whose_worker_dies_every_time_fails_once_retries_are_exhausted(cluster):
    from docconvert_nb.providers._dask_worker import office_pids
    from docconvert_nb.providers.dask import DaskProvider

    cluster.wait_for_workers(2, timeout=120)  # the worker killed earlier is back: two to die on
    crashing = DaskProvider(cluster, registry=TEST_CONVERTERS)
    orphans = [pid for pids in cluster.run(office_pids).values() for pid in pids]
    try:
        gif = image_bytes("GIF")
        job = dc.convert(gif, "txt", name="poison.gif", provider=crashing)
        finished_within(job, 120)
        assert job.status == JobStatus.FAILED
        assert "worker died each time" in job.errors[-1]
        details = crashing.job_details(job.id)
        assert details["attempts"] == 2 and len(set(details["workers_tried"])) == 2, details
    finally:
        crashing.close()
        _kill_groups(orphans)
    cluster.wait_for_workers(1, timeout=120)


@pytest.mark.slow
def test_unwritable_results_location_is_retried_then_fails_clearly(cluster, tmp_path):
    from docconvert_nb.providers.dask import DaskProvider

    blocked = tmp_path / "file-not-folder"
    blocked.write_text("a file where the results folder should be")
    source = tmp_path / "x.png"
    source.write_bytes(image_bytes("PNG"))
    stuck = DaskProvider(cluster, results=blocked, shared_dirs=[tmp_path], inline_limit=0, retries=1)
    try:
        job = dc.convert(source, "jpeg", provider=stuck)
        finished_within(job, 60)
        assert job.status == JobStatus.FAILED
        assert "cannot write x.jpg to the results location" in job.errors[-1]
        assert "(after 1 retries)" in job.errors[-1]
    finally:
        stuck.close()


@pytest.mark.slow
def test_cli_runs_on_the_scheduler_given_by_option(cluster, tmp_path):
    source = tmp_path / "blue.png"
    source.write_bytes(image_bytes("PNG", color=(0, 0, 250)))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DOCCONVERT_NB_DASK_SCHEDULER", None)
    done = subprocess.run(
        [sys.executable, "-m", "docconvert_nb", "convert", str(source), "--to", "jpeg", "-q",
         "-o", str(tmp_path / "out"), "--dask-scheduler", cluster.scheduler.address],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 0, done.stderr
    written = tmp_path / "out" / "blue.jpg"
    assert written.is_file() and Image.open(written).format == "JPEG"


@pytest.mark.slow
def test_a_large_input_without_shared_storage_is_scattered_and_outputs_come_back(cluster, tmp_path):
    from docconvert_nb.providers.dask import DaskProvider

    photo = tmp_path / "noise.png"
    Image.effect_noise((300, 300), 70).convert("RGB").save(photo)
    plain = DaskProvider(cluster, inline_limit=10_000)  # no shared folder, no results location
    try:
        job = dc.convert(photo, "bmp", provider=plain).wait(60)
        out = job.outputs[0]
        assert out.size > plain.inline_limit
        assert Image.open(io.BytesIO(out.read())).size == (300, 300)
        assert any("came back in memory" in w for w in job.warnings)
        assert plain.job_details(job.id)["worker"] == out.metadata["worker"]
    finally:
        plain.close()


@pytest.mark.slow
def test_an_input_given_by_fsspec_url_is_read_by_the_worker(provider, tmp_path):
    from docconvert_nb.providers.dask import RemoteSource

    scan = tmp_path / "remote-scan.png"
    scan.write_bytes(image_bytes("PNG", color=(250, 250, 0)))
    source = RemoteSource.from_url(scan.as_uri())
    assert (source.name, source.format, source.size) == ("remote-scan.png", "png", scan.stat().st_size)
    job = dc.convert(source, "gif", provider=provider).wait(60)
    assert Image.open(io.BytesIO(job.outputs[0].read())).format == "GIF"
