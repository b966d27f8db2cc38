"""A thousand cloud jobs through a flaky network end in their true state, none converted twice.

Each of the four simulators injects random faults into ~10 % of its requests
(gateway 5xx, dropped connections after the work, answers slower than the
client's read timeout, 429 with Retry-After, truncated bodies, results that
expire, downloads whose bytes do not match the announced checksum),
reproducibly from a seed. The adapters must bring every job to the
state the simulator gave it, never start a conversion twice (ConvertAPI by
its client-made JobId; the others by never re-sending a submission whose fate
is unknown), and deliver outputs whose bytes match the simulator's.
"""

from __future__ import annotations

import hashlib
import io
import time

import pytest
from PIL import Image

import docconvert_nb as dc
from docconvert_nb.engine import Engine
from docconvert_nb.engine.core import load_converters
from docconvert_nb.engine.registry import Converter, Registry
from docconvert_nb.errors import DocconvertError, OutputUnavailable
from docconvert_nb.simulators import FAULT_KINDS
from docconvert_nb.status import JobStatus

JOBS_PER_SERVICE = 250
FAULT_RATE = 0.1
READ_TIMEOUT = 1.0
#: Every service answers ~1 % of its requests slower than the read timeout.
SLOW_ANSWER = READ_TIMEOUT + 0.5


def _image_size_text(ctx) -> None:
    """Text recognition stand-in: Tesseract takes seconds per page here, and its speed is not under test."""
    try:
        with Image.open(ctx.input_path) as image:
            ctx.add_output(f"{image.width}x{image.height} {image.mode}\n".encode(), fmt="txt")
    except OSError as exc:  # Pillow's UnidentifiedImageError included
        raise DocconvertError(f"the image cannot be read: {exc}") from None


def _fast_engine(root) -> Engine:
    registry = Registry(list(load_converters().converters))
    registry.add(Converter(name="image_size_text", task="ocr", sources=frozenset({"png"}),
                           targets=frozenset({"txt"}), run=_image_size_text))
    return Engine(root, retention=float("inf"), registry=registry)


#: Every BROKEN_EVERY-th document is a damaged PNG: the service fails it, and says why.
BROKEN_EVERY = 25
BROKEN_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00not an image" * 8


def _png(index: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (16 + index % 50, 16), (index % 256, 80, 160)).save(buffer, "PNG")
    return buffer.getvalue()


def _service_job_outputs(name: str, sim, job_id: str) -> list[str]:
    """The engine job ids holding the simulator's results for one service job."""
    record = sim.jobs.get(job_id)
    if record is None:
        return []
    if name == "aspose":
        return list(record.engine_jobs)
    if name == "onlineconvert":
        return [engine_id for _, _, engine_id in record.engine_jobs]
    return [record.engine_id] if record.engine_id else []


@pytest.mark.slow
def test_a_thousand_jobs_through_random_faults_end_in_their_true_state(tmp_path):
    started = time.monotonic()
    sims = {}
    for index, name in enumerate(("aspose", "onlineconvert", "convertapi", "groupdocs")):
        sim = dc.simulate(name, engine=_fast_engine(tmp_path / name))
        # Only online-convert announces a checksum; elsewhere flipped bytes cannot be told from the file.
        kinds = FAULT_KINDS if name == "onlineconvert" else tuple(k for k in FAULT_KINDS if k != "corrupt")
        sim.faults.random(rate=FAULT_RATE, seed=7 + index, kinds=kinds, slow=SLOW_ANSWER, retry_after=1)
        sims[name] = sim
    try:
        providers = {}
        for name, sim in sims.items():
            options = {"webhook": False} if name == "convertapi" else {}
            provider = dc.providers.provider_class(name)(**sim.credentials, base_url=sim.provider_base_url,
                                                        poll_interval=0.05, timeout=(2.0, READ_TIMEOUT), **options)
            provider.http.configure_retries(5, backoff=0.05)
            providers[name] = provider
        jobs = []
        for i in range(JOBS_PER_SERVICE):
            data = BROKEN_PNG if i % BROKEN_EVERY == BROKEN_EVERY // 2 else _png(i)
            for name, provider in providers.items():
                if name == "aspose":
                    job = dc.ocr(data, provider=provider, name=f"a{i}.png")
                else:
                    job = dc.convert(data, "pdf", provider=provider, name=f"{name[0]}{i}.png")
                jobs.append((name, job))
        deadline = time.monotonic() + 150  # generous: 2 shared cores; about 25 s of CPU in all
        for _, job in jobs:
            try:
                job.wait(timeout=max(1.0, deadline - time.monotonic()))
            except DocconvertError:
                pass  # judged below

        outcomes, service_failed = {}, {}
        for name, job in jobs:
            sim = sims[name]
            assert job.status.is_terminal, (name, job.id, job.status, job.message)
            outcomes.setdefault((name, job.status), 0)
            outcomes[(name, job.status)] += 1
            if job.id in sim.expired_jobs:
                # The results were gone when the client asked: the job says so, or (expired during a
                # download) its output says so.
                if job.status != JobStatus.EXPIRED:
                    assert job.status == JobStatus.COMPLETED, (name, job.id, job.status, job.message)
                    with pytest.raises(OutputUnavailable):
                        for output in job.outputs:
                            output.read()
                continue
            if job.status == JobStatus.COMPLETED:
                truth = [o.md5 for engine_id in _service_job_outputs(name, sim, job.id)
                         for o in sim.engine.get(engine_id).outputs]
                try:
                    got = [hashlib.md5(output.read()).hexdigest() for output in job.outputs]
                except OutputUnavailable:  # this very read met an "expire" fault
                    assert job.id in sim.expired_jobs, (name, job.id)
                    continue
                assert got and got == truth, (name, job.id)
            else:
                assert job.status == JobStatus.FAILED and job.message, (name, job.id, job.status)
                engine_ids = _service_job_outputs(name, sim, job.id) if job.id else []
                failures = [e for engine_id in engine_ids for e in sim.engine.get(engine_id).errors]
                if failures:  # the service failed it: the job carries the service's reason
                    told = " ".join([job.message, *job.errors])
                    assert any(failure[:40] in told for failure in failures), (name, told, failures)
                    service_failed[name] = service_failed.get(name, 0) + 1
                # otherwise a submission whose fate the client could not know ended the job early
        for name, sim in sims.items():
            # One conversion per service job, and no more service jobs than client jobs.
            assert sim.conversions_started == sum(len(_service_job_outputs(name, sim, j)) for j in sim.jobs) or \
                name == "groupdocs"  # an expired GroupDocs operation is forgotten with its conversion
            assert len(sim.jobs) <= JOBS_PER_SERVICE, name
            assert sim.conversions_started <= JOBS_PER_SERVICE, name
            assert sum(sim.faults.injected.values()) > 0.05 * len(sim.requests_seen), name
        convertapi = sims["convertapi"]
        assert all(job.submissions >= 1 for job in convertapi.jobs.values())
        print(f"\n{len(jobs)} jobs in {time.monotonic() - started:.1f} s:",
              {f"{name} {status}": count for (name, status), count in sorted(outcomes.items())},
              {name: dict(sim.faults.injected) for name, sim in sims.items()})
        broken = len([i for i in range(JOBS_PER_SERVICE) if i % BROKEN_EVERY == BROKEN_EVERY // 2])
        for name in sims:  # the damaged documents that reached the service failed there (faults took a few)
            assert broken // 2 <= service_failed.get(name, 0) <= broken, (name, service_failed)
        completed = sum(count for (_, status), count in outcomes.items() if status == JobStatus.COMPLETED)
        assert completed >= 0.7 * len(jobs), outcomes
        assert time.monotonic() - started < 240  # nothing hangs
    finally:
        for provider in providers.values():
            provider.close()
        for sim in sims.values():
            sim.stop()
