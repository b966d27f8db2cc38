"""Every cloud provider looks the same to the user: same Job, states, outputs, errors, listing."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest

import docconvert_nb as dc
from docconvert_nb import providers, samples
from docconvert_nb.errors import JobFailed, UnsupportedConversion
from docconvert_nb.jobs import Job
from docconvert_nb.simulators import SIMULATORS
from docconvert_nb.status import Availability, JobStatus

from .helpers import image_bytes

CLOUD = ["onlineconvert", "convertapi", "groupdocs", "aspose"]
RUNNING_STATES = {JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.PROCESSING}


def _params():
    for name in CLOUD:
        marks = [pytest.mark.tools] if name == "aspose" else []  # Aspose makes PDFs by OCR (Tesseract)
        yield pytest.param(name, marks=marks, id=name)


@pytest.fixture(params=list(_params()))
def sim(request):
    if request.param not in SIMULATORS:
        pytest.skip(f"no {request.param} simulator")
    with dc.simulate(request.param, durations={"processing": 0.3}) as simulator:
        yield simulator


def to_pdf(provider, data: bytes, name: str) -> Job:
    """The user's call: a conversion where the provider converts, OCR to PDF where it only reads text."""
    if provider.supports("convert", "png", "pdf"):
        return dc.convert(data, to="pdf", provider=provider, name=name)
    return dc.ocr(data, to="pdf", provider=provider, name=name)


def test_same_job_states_and_outputs(sim):
    job = to_pdf(sim.provider, samples.text_page("Same job everywhere"), "page.png")
    seen = []
    job.on_change(lambda j: seen.append(j.status))
    assert type(job) is Job
    job.wait(timeout=180)
    assert set(seen[:-1]) <= RUNNING_STATES and job.status == JobStatus.COMPLETED
    [output] = job.outputs
    assert output.name == "page.pdf" and output.content_type == "application/pdf" and output.available
    assert len(pdfium.PdfDocument(output.read())) == 1
    facts = job.to_dict()
    assert facts["provider_name"] == sim.name and facts["simulator"] is True and facts["status"] == "completed"
    embedded = dc.convert(image_bytes("PNG"), to="pdf", provider="embedded", name="page.png").wait(timeout=60)
    assert set(facts) == set(embedded.to_dict())
    assert set(job._repr_mimebundle_()) == set(embedded._repr_mimebundle_())
    assert repr(job).startswith(f"<Job {job.id} {sim.name}: page.png → pdf completed")
    job.delete()
    assert job.status == JobStatus.DELETED and output.availability == Availability.DELETED


def test_same_failure_for_a_damaged_document(sim):
    job = to_pdf(sim.provider, image_bytes("PNG")[:60], "broken.png")
    with pytest.raises(JobFailed):
        job.wait(timeout=120)
    assert job.status == JobStatus.FAILED and job.errors and job.outputs == []
    assert job.to_dict()["errors"] == job.errors


def test_same_error_for_an_unsupported_pair(sim):
    with pytest.raises(UnsupportedConversion, match="cannot"):
        dc.convert(image_bytes("PNG"), to="xlsx", provider=sim.provider, name="x.png")


def test_available_providers_lists_every_cloud_service(monkeypatch):
    monkeypatch.setattr(providers, "_instances", {})
    for variable in ("CONVERTAPI_SECRET", "CONVERTAPI_TOKEN", "GROUPDOCS_CLIENT_ID", "GROUPDOCS_CLIENT_SECRET",
                     "ASPOSE_CLIENT_ID", "ASPOSE_CLIENT_SECRET", "ONLINE_CONVERT_API_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CONVERTAPI_SECRET", "secret-from-the-environment")
    monkeypatch.setenv("GROUPDOCS_CLIENT_ID", "id")
    monkeypatch.setenv("GROUPDOCS_CLIENT_SECRET", "secret-of-groupdocs")
    rows = {row["name"]: row for row in dc.available_providers()}
    assert set(CLOUD) <= set(rows)
    assert rows["convertapi"]["configured"] and rows["groupdocs"]["configured"]
    assert not rows["aspose"]["configured"] and not rows["onlineconvert"]["configured"]
    assert not any(row["simulator"] for row in rows.values())
    assert "secret-from-the-environment" not in repr(rows) and "secret-of-groupdocs" not in repr(rows)
    for provider in providers._instances.values():
        provider.close()
