"""The retry policy as jobs see it: notes on the way, one token renewal per expiry, idempotent resubmission."""

from __future__ import annotations

import random
import uuid

import pytest

import docconvert_nb as dc
from docconvert_nb.protocols import OAUTH_TOKEN_LIFETIME
from docconvert_nb.providers.base import JobSnapshot

from .helpers import image_bytes
from .test_fault_storm import _fast_engine, _png


def _submit(name: str, provider, index: int):
    if name == "aspose":
        return dc.ocr(_png(index), provider=provider, name=f"r{index}.png")
    return dc.convert(_png(index), "pdf", provider=provider, name=f"r{index}.png")


@pytest.mark.parametrize("name", ["aspose", "groupdocs"])
def test_a_token_expiring_mid_batch_is_renewed_once_not_once_per_job(name, tmp_path):
    with dc.simulate(name, engine=_fast_engine(tmp_path)) as sim:
        provider = sim.provider
        for job in [_submit(name, provider, i) for i in range(6)]:
            job.wait(timeout=60)
        assert sim.tokens.issued == 1
        # The identity server's tokens expire; the adapter's clock does not know it yet, so every
        # request of the next batch meets a 401 at first.
        sim.clock.advance(OAUTH_TOKEN_LIFETIME + 1)
        batch = [_submit(name, provider, i) for i in range(20)]
        for job in batch:
            job.wait(timeout=60)
        assert all(job.ok for job in batch)
        assert sim.tokens.issued == 2


def test_retries_reach_the_jobs_subscribers_as_notes():
    with dc.simulate("groupdocs") as sim:
        provider = sim.provider
        provider.http.configure_retries(5, backoff=0.01)
        heard: list[tuple[str, JobSnapshot]] = []
        provider.subscribe(lambda job_id, snapshot: heard.append((job_id, snapshot)))
        sim.faults.fail(502, path="/v2.0/conversion/async", method="GET", times=2)
        job_id = str(uuid.uuid4())
        snapshot = provider.status(job_id)
        assert snapshot.status == dc.JobStatus.EXPIRED
        assert [(i, s.status, s.note) for i, s in heard] == [
            (job_id, None, "retrying after a 502 (1 of 5)"),
            (job_id, None, "retrying after a 502 (2 of 5)"),
        ]
        assert snapshot.note == "answered after retrying after a 502 (2 of 5)"


def _seed_dropping_only_the_first(rate: float) -> int:
    return next(seed for seed in range(1000)
                if (rng := random.Random(seed)).random() < rate and rng.choice(("reset",)) and rng.random() >= rate)


def test_convertapi_sends_a_lost_submission_again_with_its_job_id_and_converts_once():
    with dc.simulate("convertapi") as sim:
        provider = dc.providers.ConvertAPI(sim.credentials["secret"], base_url=sim.base_url, webhook=False,
                                           poll_interval=0.05)
        provider.http.configure_retries(5, backoff=0.01)
        # The first POST is converted but its answer never arrives (the connection drops).
        sim.faults.random(rate=0.5, seed=_seed_dropping_only_the_first(0.5), kinds=("reset",), path="/convert/")
        job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="lost.png").wait(timeout=60)
        posts = [r for r in sim.requests_seen if r.method == "POST"]
        assert [r.fault for r in posts] == ["reset", None]
        assert job.ok and sim.jobs[job.id].submissions == 2 and sim.conversions_started == 1
        provider.close()


def test_a_non_idempotent_submission_is_never_sent_again():
    with dc.simulate("aspose") as sim:
        provider = sim.provider
        provider.http.configure_retries(5, backoff=0.01)
        sim.faults.random(rate=1.0, seed=1, kinds=("reset",), path="/v5.0/ocr/RecognizeImage", method="POST")
        job = dc.ocr(image_bytes("PNG"), provider=provider, name="once.png")
        with pytest.raises(dc.errors.JobFailed, match="cannot reach"):
            job.wait(timeout=60)
        posts = [r for r in sim.requests_seen if r.method == "POST" and "RecognizeImage" in r.path]
        assert len(posts) == 1 and sim.conversions_started <= 1


def test_a_download_that_fails_its_checksum_is_fetched_once_more():
    with dc.simulate("onlineconvert") as sim:
        job = dc.convert(image_bytes("PNG"), "pdf", provider=sim.provider, name="twice.png").wait(timeout=60)
        sim.faults.random(rate=1.0, seed=1, kinds=("corrupt",), path="/download-file/")
        sim.faults.mix.rate = 0.0
        first = job.outputs[0].read()  # a clean download, for reference
        sim.faults.mix.rate = 1.0
        with pytest.raises(dc.errors.ChecksumMismatch):  # corrupted every time: reported, not accepted
            job.outputs[0].read()
        sim.faults.random(rate=0.5, seed=_seed_dropping_only_the_first(0.5), kinds=("corrupt",),
                          path="/download-file/")
        assert job.outputs[0].read() == first  # corrupted once: fetched again, and right
        assert sim.faults.injected["corrupt"] == 1


def test_a_job_says_it_is_retrying_and_keeps_it_in_its_history():
    with dc.simulate("groupdocs") as sim:
        provider = sim.provider
        provider.http.configure_retries(5, backoff=0.01)
        sim.faults.fail(502, path="/v2.0/conversion/async", method="GET", times=2)
        job = dc.convert(image_bytes(), "pdf", provider=provider, name="a.png").wait(timeout=60)
        events = [event for _, event in job.history]
        assert "retrying after a 502 (1 of 5)" in events and "retrying after a 502 (2 of 5)" in events
        assert events[-1].startswith("completed") and job.to_dict()["history"][-1][1] == events[-1]


def test_a_note_shows_as_the_message_while_the_job_runs():
    from docconvert_nb.testing import ScriptedProvider

    scripted = ScriptedProvider()
    job = scripted.wait_submitted(dc.convert(image_bytes(), "pdf", provider=scripted, name="a.png"))
    scripted.start(job)
    scripted.report(job, None, note="retrying after a 429 (1 of 5)")
    assert job.status is dc.JobStatus.PROCESSING and job.message == "retrying after a 429 (1 of 5)"
    scripted.complete(job)
    assert job.message != "retrying after a 429 (1 of 5)"
    assert [event.split(":")[0] for _, event in job.history] == [
        "submitting", "queued", "processing", "retrying after a 429 (1 of 5)", "completed"]
