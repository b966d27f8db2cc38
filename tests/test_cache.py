"""The result cache: the same work asked again completes at once from the earlier result, and only then."""

from __future__ import annotations

import time

import pytest

import docconvert_nb as dc
from docconvert_nb import journaling
from docconvert_nb.engine import Engine
from docconvert_nb.providers.base import JobSnapshot
from docconvert_nb.providers.embedded import EmbeddedProvider
from docconvert_nb.status import Availability, JobStatus
from docconvert_nb.testing import ScriptedProvider, pdf_output

from .helpers import image_bytes

PNG = image_bytes(color=(40, 90, 160))


pytestmark = pytest.mark.usefixtures("home")  # the cache reads the journal: each test has its own


class ServingProvider(ScriptedProvider):
    """A scripted service that also answers for a job by its id, as a cloud service does."""

    def __init__(self, base_url: str = "https://serving.example", **options):
        super().__init__(**options)
        self.base_url = base_url  # where its jobs live: what tells two services apart
        self.answers: dict[str, JobSnapshot] = {}
        self.asked: list[str] = []  # by the tracker's own polls and by the cache

    def status(self, job_id: str) -> JobSnapshot:
        self.asked.append(job_id)
        return self.answers.get(job_id, JobSnapshot(status=None))

    def finish(self, job, *outputs):
        """Complete ``job`` and keep answering "completed" for its id afterwards."""
        self.complete(job, *outputs)
        self.answers[job.id] = JobSnapshot(status=JobStatus.COMPLETED, outputs=list(outputs))
        return job.wait(5)


def test_the_same_document_again_completes_at_once_from_the_engines_store(provider, tmp_path):
    first = dc.convert(PNG, to="pdf", provider=provider, name="first.png").wait(30)
    started = time.perf_counter()
    again = dc.convert(PNG, to="pdf", provider=provider, name="second.png", save_to=tmp_path / "out").wait(30)
    assert time.perf_counter() - started < 2.0
    assert again.cached is True and first.cached is False
    assert again.to_dict()["cached"] is True and first.to_dict()["cached"] is False
    assert again.id == first.id  # the very result, not a new conversion
    assert len(provider.engine.jobs()) == 1
    assert [o.name for o in again.outputs] == ["second.pdf"]  # named after this document
    assert again.output(0).read() == first.output(0).read()
    assert again.saved == [tmp_path / "out" / "second.pdf"]
    assert (tmp_path / "out" / "second.pdf").read_bytes() == first.output(0).read()
    assert "from the cache" in again.message and "first.png" in again.message
    journaling.flush(5.0)
    rows = {r["key"]: r for r in journaling.current().rows()}
    assert rows[again.journal_key]["cached"] is True and rows[first.journal_key]["cached"] is False


def test_cache_false_sends_it_again(provider):
    first = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    again = dc.convert(PNG, to="pdf", provider=provider, name="a.png", cache=False).wait(30)
    assert not again.cached and again.id != first.id
    group = dc.convert_many([PNG], to="pdf", provider=provider, cache=False).wait(30)
    assert not group[0].cached and group[0].id not in (first.id, again.id)
    cached_group = dc.convert_many([PNG], to="pdf", provider=provider).wait(30)
    assert cached_group[0].cached


def test_never_across_content_options_targets_tasks_or_providers(provider, tmp_path):
    dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    different = [
        dc.convert(image_bytes(color=(41, 90, 160)), to="pdf", provider=provider, name="a.png"),
        dc.convert(PNG, to="pdf", provider=provider, name="a.png", dpi=72),
        dc.convert(PNG, to="jpg", provider=provider, name="a.png"),
        dc.convert(PNG, to="pdf", provider=EmbeddedProvider(Engine(tmp_path / "other-store")), name="a.png"),
    ]
    for job in different:
        assert job.wait(30).ok and not job.cached, job
    same_options = dc.convert(PNG, to="pdf", provider=provider, name="a.png", dpi=72).wait(30)
    assert same_options.cached and same_options.id == different[1].id


def test_not_past_retention_and_the_journal_learns_it_expired(provider, clock):
    first = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    clock.advance(provider.engine.retention + 60)
    again = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    assert not again.cached and again.id != first.id
    journaling.flush(5.0)
    status = {r["key"]: r["status"] for r in journaling.current().rows()}
    assert status[first.journal_key] == "expired" and status[again.journal_key] == "completed"


def test_not_when_the_earlier_files_are_gone_from_the_store(provider):
    first = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    provider.engine.output_path(first.id, "a.pdf").unlink()  # removed behind the engine's back
    again = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    assert not again.cached and again.output(0).read()[:5] == b"%PDF-"


def test_not_after_the_earlier_job_was_deleted_and_a_cached_job_follows_its_result(provider):
    first = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    cached = dc.convert(PNG, to="pdf", provider=provider, name="b.png").wait(30)
    assert cached.cached
    first.delete()  # the shared result is gone: the cached job says so too
    deadline = time.monotonic() + 5
    while cached.status != JobStatus.DELETED:
        assert time.monotonic() < deadline, cached
        time.sleep(0.01)
    assert cached.outputs[0].availability == Availability.DELETED and cached.outputs[0].name == "b.pdf"
    after = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    assert not after.cached and after.id not in (first.id, cached.id)


def test_a_cloud_like_provider_serves_only_while_it_says_completed():
    serving = ServingProvider()
    first = dc.convert(PNG, to="pdf", provider=serving, name="a.png")
    serving.finish(first, pdf_output("a.pdf"))
    again = dc.convert(PNG, to="pdf", provider=serving, name="a.png").wait(5)
    assert again.cached and again.id == first.id and again.output(0).read() == b"%PDF-1.4 scripted\n"
    assert first.id in serving.asked and len(serving.submitted) == 1

    serving.answers[first.id] = JobSnapshot(status=JobStatus.EXPIRED, message="gone")
    third = dc.convert(PNG, to="pdf", provider=serving, name="a.png")
    serving.wait_submitted(third)
    assert not third.cached and len(serving.submitted) == 2

    other = ServingProvider("https://another.example")
    elsewhere = dc.convert(PNG, to="pdf", provider=other, name="a.png")
    other.wait_submitted(elsewhere)
    assert not elsewhere.cached and len(other.submitted) == 1


def test_a_provider_without_an_endpoint_is_never_cached():
    serving = ServingProvider(base_url=None)  # no base URL, no store: its instances cannot be told apart
    first = dc.convert(PNG, to="pdf", provider=serving, name="a.png")
    serving.finish(first, pdf_output("a.pdf"))
    again = dc.convert(PNG, to="pdf", provider=serving, name="a.png")
    serving.wait_submitted(again)
    assert not again.cached and len(serving.submitted) == 2


def test_secret_options_are_never_cached():
    serving = ServingProvider()
    first = dc.convert(PNG, to="pdf", provider=serving, name="a.png", password="open sesame")
    serving.finish(first, pdf_output("a.pdf"))
    again = dc.convert(PNG, to="pdf", provider=serving, name="a.png", password="open sesame")
    serving.wait_submitted(again)
    assert not again.cached and len(serving.submitted) == 2


def test_no_cache_without_the_journal(provider):
    dc.set_journal(False)
    first = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    again = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    assert not again.cached and again.id != first.id


def test_a_result_from_an_earlier_process_serves_a_new_one(provider, home):
    """The cache lives in the journal and the store, both on disk: a new kernel finds the result."""
    first = dc.convert(PNG, to="pdf", provider=provider, name="a.png").wait(30)
    journaling.flush(5.0)
    fresh = EmbeddedProvider(Engine(provider.engine.store.root, clock=provider.engine.clock))
    again = dc.convert(PNG, to="pdf", provider=fresh, name="a.png").wait(30)
    assert again.cached and again.id == first.id and again.output(0).read()[:5] == b"%PDF-"


@pytest.mark.slow
def test_a_cloud_simulator_result_is_reused_while_the_service_keeps_it():
    with dc.simulate("onlineconvert") as sim:
        first = dc.convert(PNG, to="jpg", provider=sim.provider, name="a.png").wait(60)
        again = dc.convert(PNG, to="jpg", provider=sim.provider, name="b.png").wait(60)
        assert again.cached and again.id == first.id
        assert again.output(0).read() == first.output(0).read()
        created = [r for r in sim.requests_seen if r.method == "POST" and r.path.endswith("/jobs")]
        assert len(created) == 1
        first.delete()
        third = dc.convert(PNG, to="jpg", provider=sim.provider, name="a.png").wait(60)
        assert not third.cached and third.id != first.id
