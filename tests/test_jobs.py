import asyncio

import pytest

import docconvert_nb as dc
from docconvert_nb.documents import ConversionRequest, Source
from docconvert_nb.jobs import Job
from docconvert_nb.outputs import Output
from docconvert_nb.status import Availability, JobStatus
from docconvert_nb.testing import ScriptedProvider

from .helpers import image_bytes


def test_convert_returns_at_once_and_completes(provider):
    job = dc.convert(image_bytes(), to="pdf", provider=provider, name="red.png")
    assert isinstance(job, Job)
    assert job.wait(timeout=30) is job
    assert job.status is JobStatus.COMPLETED and job.ok
    assert job.started_at and job.finished_at and job.finished_at >= job.started_at
    assert job.outputs[0].name == "red.pdf"
    assert "completed" in repr(job) and "red.png → pdf" in repr(job)


def test_on_change_reports_every_state_in_order(provider):
    seen = []
    job = dc.convert(image_bytes(), to="pdf", provider=provider)
    job.on_change(lambda j: seen.append(j.status))
    job.wait(timeout=30)
    assert seen[-1] is JobStatus.COMPLETED
    order = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
    assert order == sorted(order, key=list(JobStatus).index)


def test_await_in_a_running_event_loop(provider):
    async def main():
        job = dc.convert(image_bytes(), to="jpeg", provider=provider)
        ticks = 0

        async def ticker():  # the loop keeps running while we await the job
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.001)

        task = asyncio.create_task(ticker())
        done = await job
        task.cancel()
        return done, ticks

    done, ticks = asyncio.run(main())
    assert done.ok and ticks > 0


def test_wait_blocks_inside_a_running_loop(provider):
    async def main():
        return dc.convert(image_bytes(), to="bmp", provider=provider).wait(timeout=30)

    assert asyncio.run(main()).ok


def test_failed_job_raises_typed_error_with_messages(provider):
    broken = image_bytes()[:60]  # a PNG cut short
    job = dc.convert(broken, to="pdf", provider=provider, name="cut.png")
    with pytest.raises(dc.JobFailed) as info:
        job.wait(timeout=30)
    assert job.status is JobStatus.FAILED
    assert "truncated" in str(info.value) or "damaged" in str(info.value)
    assert info.value.job is job and info.value.messages == job.errors


def test_unusable_content_is_a_failed_job_and_a_wrong_call_raises(provider, tmp_path):
    (tmp_path / "empty.png").write_bytes(b"")
    job = dc.convert(tmp_path / "empty.png", to="pdf", provider=provider)
    assert job.status is JobStatus.FAILED and job.source_name == "empty.png"
    assert job.errors == ["empty.png is empty (0 bytes)"] and job in dc.jobs()
    assert repr(job).startswith("<Job (not submitted) embedded: empty.png → pdf failed")
    misnamed = dc.convert(b"just some words", to="pdf", provider=provider, name="photo.png")
    assert misnamed.status is JobStatus.FAILED and "plain text, not .png" in misnamed.message
    with pytest.raises(FileNotFoundError):
        dc.convert(tmp_path / "missing.png", to="pdf", provider=provider)
    with pytest.raises(dc.UnsupportedConversion):
        dc.convert(image_bytes(), to="docx", provider=provider)


def test_wait_timeout_leaves_the_job_running(provider):
    job = Job(_request(), provider)  # created but never handed to the tracker
    with pytest.raises(dc.JobTimeout):
        job.wait(timeout=0.01)
    assert job.status is JobStatus.SUBMITTING


def _request():

    return ConversionRequest(Source.from_input(image_bytes()), "pdf")


def scripted_job(**kwargs) -> Job:
    """A job at a new :class:`ScriptedProvider`, submitted and waiting for the test's reports."""
    scripted = ScriptedProvider()
    return scripted.wait_submitted(dc.convert(image_bytes(), to="pdf", provider=scripted, name="scan.png", **kwargs))


def test_late_provider_news_cannot_revive_a_finished_job():
    job = scripted_job()
    job.provider.complete(job)
    job.provider.report(job, JobStatus.PROCESSING)
    job.provider.report(job, JobStatus.FAILED)
    assert job.status is JobStatus.COMPLETED


def test_delete_removes_results(provider):
    job = dc.convert(image_bytes(), to="pdf", provider=provider).wait(timeout=30)
    out = job.outputs[0]
    job.delete()
    assert job.status is JobStatus.DELETED
    assert out.availability is Availability.DELETED
    with pytest.raises(dc.OutputUnavailable):
        out.read()
    with pytest.raises(dc.JobExpired):
        job.raise_for_status()
    assert provider.status(job.id).status is JobStatus.DELETED


def test_retention_expires_results(provider, clock):
    job = dc.convert(image_bytes(), to="pdf", provider=provider).wait(timeout=30)
    clock.advance(24 * 3600 + 1)
    job.refresh()
    assert job.status is JobStatus.EXPIRED
    assert "24 h" in job.message
    with pytest.raises(dc.OutputUnavailable):
        job.outputs[0].read()
    assert not list((provider.engine.store.output_dir(job.id)).glob("*"))


def test_save_to_saves_outputs_on_completion(provider, tmp_path):
    job = dc.convert(image_bytes(), to="pdf", provider=provider, name="a.png", save_to=tmp_path / "out")
    job.wait(timeout=30)
    assert job.saved == [tmp_path / "out" / "a.pdf"]
    assert (tmp_path / "out" / "a.pdf").read_bytes().startswith(b"%PDF")


def test_unwritable_save_to_is_refused_at_submit(provider, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(dc.DocconvertError, match="cannot create the output folder"):
        dc.convert(image_bytes(), to="pdf", provider=provider, save_to=blocker / "sub")


def test_group_aggregates_and_keeps_failures(provider, tmp_path):
    (tmp_path / "a.png").write_bytes(image_bytes())
    (tmp_path / "b.gif").write_bytes(image_bytes("GIF"))
    (tmp_path / "notes.txt").write_text("plain words")
    (tmp_path / "empty.png").write_bytes(b"")
    group = dc.convert_many(tmp_path, to="pdf", provider=provider)
    group.wait(timeout=60)
    assert len(group) == 4 and group.done
    assert sorted(j.source_name for j in group.completed) == ["a.png", "b.gif"]
    failed = {j.source_name: j.errors[0] for j in group.failed}
    assert "empty" in failed["empty.png"]
    assert {j.source_name: j.source_format for j in group.failed} == {"empty.png": "unknown", "notes.txt": "txt"}
    assert "cannot convert txt to pdf" in failed["notes.txt"]
    assert group.counts() == {"completed": 2, "failed": 2}
    assert "2 completed" in repr(group)
    with pytest.raises(dc.JobFailed, match="2 of 4 jobs failed"):
        group.wait(raise_on_error=True)
    saved = group.save(tmp_path / "saved")
    assert sorted(p.name for p in saved) == ["a.pdf", "b.pdf"]


def test_group_from_glob_and_await(provider, tmp_path):
    for i in range(3):
        (tmp_path / f"p{i}.png").write_bytes(image_bytes())
    group = dc.convert_many(str(tmp_path / "*.png"), to="jpeg", provider=provider)

    async def main():
        return await group

    assert asyncio.run(main()).finished == 3


def test_job_options_mask_secrets(provider):
    from docconvert_nb.redact import mask_options

    assert mask_options({"password": "hunter2", "dpi": 72}) == {"password": "***", "dpi": 72}


def test_a_skewed_provider_clock_cannot_distort_elapsed():
    from datetime import timedelta

    job = scripted_job()
    future = job.submitted_at + timedelta(days=1)
    past = job.submitted_at - timedelta(days=1)
    job.provider.report(job, JobStatus.PROCESSING, started_at=past)
    job.provider.report(job, JobStatus.COMPLETED, finished_at=future)
    assert job.started_at == job.submitted_at
    assert 0 <= job.elapsed < 5


def test_two_inputs_with_one_stem_never_overwrite_each_other(provider, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.png").write_bytes(image_bytes(color=(255, 0, 0)))
    (tmp_path / "in" / "a.gif").write_bytes(image_bytes("GIF", color=(0, 0, 255)))
    out = tmp_path / "out"
    group = dc.convert_many(tmp_path / "in", to="pdf", provider=provider, save_to=out).wait(timeout=60)
    assert sorted(p.name for p in out.iterdir()) == ["a-2.pdf", "a.pdf"]
    renamed = [job for job in group if job.saved[0].name == "a-2.pdf"][0]
    assert any("saved a.pdf as a-2.pdf" in w for w in renamed.warnings)
    # the same job saving again replaces its own file instead of multiplying copies
    again = group[0]
    again._save_outputs()
    assert sorted(p.name for p in out.iterdir()) == ["a-2.pdf", "a.pdf"]


def test_a_group_stops_listening_to_its_jobs_when_its_listeners_leave(provider):
    group = dc.convert_many([image_bytes(), image_bytes()], to="pdf", provider=provider)
    seen = []
    first = group.on_change(lambda g, j: seen.append(j))
    second = group.on_change(lambda g, j: None)
    assert all(len(job._callbacks) == 1 for job in group)  # one subscription per job, shared
    first()
    assert all(len(job._callbacks) == 1 for job in group)
    second()
    assert all(job._callbacks == [] for job in group)
    group.wait(timeout=30)


def test_an_output_taken_from_the_job_follows_later_reports():
    """Providers report the outputs anew on every poll; what the user holds must not go stale."""
    first = Output("scan.pdf", "application/pdf", size=10)
    job = scripted_job()
    job.provider.report(job, JobStatus.COMPLETED, outputs=[first])
    held = job.outputs[0]
    job.provider.report(job, JobStatus.COMPLETED, outputs=[
        Output("scan.pdf", "application/pdf", size=10, downloads=1, download_limit=3),
        Output("scan-2.pdf", "application/pdf", size=20),
    ])
    assert job.outputs[0] is held and held.downloads == 1 and [o.name for o in job.outputs] == ["scan.pdf", "scan-2.pdf"]
    job.provider.report(job, JobStatus.DELETED)
    assert held.availability is Availability.DELETED


def test_the_final_report_arriving_twice_saves_once_and_wait_returns_after_saving(tmp_path):
    """The engine's push and the tracker's poll can both deliver "completed" at the same moment."""
    import io
    import threading
    import time

    opened, release = [], threading.Event()

    def slow_opener():
        opened.append(1)
        release.wait(10)
        return io.BytesIO(b"%PDF-1.7 done")

    job = scripted_job(save_to=tmp_path)
    report = dict(outputs=[Output("a.pdf", "application/pdf", _opener=slow_opener)])
    first = threading.Thread(target=job.provider.report, args=(job, JobStatus.COMPLETED), kwargs=report)
    first.start()
    while not opened:
        time.sleep(0.005)
    second = threading.Thread(target=job.provider.report, args=(job, JobStatus.COMPLETED), kwargs=report)
    second.start()
    second.join(5)
    assert not second.is_alive() and len(opened) == 1  # the second report does not save again
    with pytest.raises(dc.JobTimeout):
        job.wait(timeout=0.05)  # nor does it declare the job finished while the first is still saving
    release.set()
    assert job.wait(timeout=5).saved == [tmp_path / "a.pdf"]
    assert [p.name for p in tmp_path.iterdir()] == ["a.pdf"]
    first.join(5)


def test_a_job_whose_saving_breaks_still_ends_its_waits(tmp_path, monkeypatch):
    job = scripted_job(save_to=tmp_path)

    def broken_save():
        raise RuntimeError("disk gone")

    monkeypatch.setattr(job, "_save_outputs", broken_save)
    with pytest.raises(RuntimeError, match="disk gone"):
        job.provider.report(job, JobStatus.COMPLETED)
    assert job.wait(timeout=1).ok
