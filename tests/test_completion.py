"""One way a job finishes: done callbacks after saving, and everything that waits built on them."""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time

import pytest

import docconvert_nb as dc
from docconvert_nb.outputs import Output
from docconvert_nb.status import JobStatus
from docconvert_nb.testing import ScriptedProvider, pdf_output

from .helpers import image_bytes


def submitted(scripted: ScriptedProvider, **kwargs):
    return scripted.wait_submitted(dc.convert(image_bytes(), to="pdf", provider=scripted, name="scan.png", **kwargs))


def slow_output(name: str, seconds: float) -> Output:
    def opener():
        time.sleep(seconds)
        return io.BytesIO(b"%PDF-1.7 slow")

    return Output(name, "application/pdf", size=13, _opener=opener)


def complete_later(scripted, job, *outputs, delay=0.05):
    threading.Timer(delay, scripted.complete, args=(job, *outputs)).start()


def test_await_with_save_to_returns_only_once_the_files_exist(tmp_path):
    scripted = ScriptedProvider()
    job = submitted(scripted, save_to=tmp_path)
    complete_later(scripted, job, slow_output("scan.pdf", 0.5))

    async def main():
        return await job

    started = time.monotonic()
    done = asyncio.run(main())
    assert done.ok and time.monotonic() - started >= 0.5
    assert done.saved == [tmp_path / "scan.pdf"] and (tmp_path / "scan.pdf").read_bytes() == b"%PDF-1.7 slow"


def test_wait_and_await_agree_on_when_a_job_is_done(tmp_path):
    scripted = ScriptedProvider()
    first, second = submitted(scripted, save_to=tmp_path / "a"), submitted(scripted, save_to=tmp_path / "b")
    complete_later(scripted, first, slow_output("a.pdf", 0.3))
    complete_later(scripted, second, slow_output("b.pdf", 0.3))
    assert first.wait(timeout=10).saved[0].exists()

    async def main():
        return await second.wait_async(timeout=10)

    assert asyncio.run(main()).saved[0].exists()


def test_done_callbacks_run_once_in_order_after_saving(tmp_path):
    scripted = ScriptedProvider()
    job = submitted(scripted, save_to=tmp_path)
    seen = []
    job.add_done_callback(lambda j: seen.append(("first", j.status, (tmp_path / "scan.pdf").exists())))
    job.add_done_callback(lambda j: seen.append(("second", j.status, j.finished)))
    assert seen == [] and not job.finished
    scripted.complete(job, pdf_output("scan.pdf"))
    scripted.report(job, JobStatus.COMPLETED, outputs=[pdf_output("scan.pdf")])  # a second final report
    assert seen == [("first", JobStatus.COMPLETED, True), ("second", JobStatus.COMPLETED, True)]
    job.add_done_callback(lambda j: seen.append("late"))  # already finished: runs at once
    assert seen[-1] == "late" and len(seen) == 3


def test_a_broken_done_callback_is_logged_and_the_others_still_run(caplog):
    scripted = ScriptedProvider()
    job = submitted(scripted)
    later = []

    def broken(_job):
        raise RuntimeError("view gone")

    job.add_done_callback(broken)
    job.add_done_callback(later.append)
    with caplog.at_level(logging.ERROR, logger="docconvert_nb.jobs"):
        scripted.fail(job, "page 1 is damaged")
    assert later == [job] and "view gone" in caplog.text
    with pytest.raises(dc.JobFailed, match="page 1 is damaged"):
        job.wait(timeout=1)


def test_await_group_can_raise_on_failures_like_wait():
    scripted = ScriptedProvider()
    group = dc.JobGroup([submitted(scripted) for _ in range(3)], name="batch")
    scripted.complete(group[0])
    scripted.fail(group[1], "unreadable page")
    complete_later(scripted, group[2])

    async def plain():
        return await group

    async def strict():
        return await group.wait_async(timeout=10, raise_on_error=True)

    assert asyncio.run(plain()) is group and group.finished_all
    with pytest.raises(dc.JobFailed, match="1 of 3 jobs failed: scan.png"):
        asyncio.run(strict())
    with pytest.raises(dc.JobFailed, match="1 of 3 jobs failed"):
        group.wait(timeout=1, raise_on_error=True)


def test_group_done_callback_fires_once_when_the_last_job_finishes():
    scripted = ScriptedProvider()
    group = dc.JobGroup([submitted(scripted) for _ in range(3)])
    calls = []
    group.add_done_callback(calls.append)
    for job in group[:2]:
        scripted.complete(job)
    assert calls == []
    scripted.expire(group[2])
    assert calls == [group]
    group.add_done_callback(calls.append)
    assert calls == [group, group]
    assert dc.JobGroup([]).wait(timeout=0) is not None  # an empty group is done at once


def test_timeouts_async_and_sync():
    scripted = ScriptedProvider()
    job = submitted(scripted)

    async def main():
        await job.wait_async(timeout=0.05)

    with pytest.raises(dc.JobTimeout, match="keeps running"):
        asyncio.run(main())
    with pytest.raises(dc.JobTimeout):
        dc.JobGroup([job]).wait(timeout=0.05)
    for bad in (float("nan"), -1, "soon"):
        with pytest.raises(dc.DocconvertError, match="timeout"):
            job.wait(timeout=bad)
    scripted.complete(job)
    assert job.wait(timeout=0).ok
