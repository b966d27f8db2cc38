"""Jobs completed by ConvertAPI's webhook: the loopback receiver, the simulator's calls, the fallback."""

from __future__ import annotations

import threading

import pytest
import requests

import docconvert_nb as dc
from docconvert_nb.providers.convertapi import ConvertAPI
from docconvert_nb.providers.webhooks import WebhookReceiver
from docconvert_nb.status import JobStatus

from .helpers import image_bytes


@pytest.fixture
def sim():
    with dc.simulate("convertapi", durations={"processing": 1.0}) as simulator:
        yield simulator


def test_the_job_completes_by_the_callback_without_status_polls(sim):
    provider = ConvertAPI(sim.credentials["secret"], base_url=sim.base_url, poll_interval=0.2)
    assert provider.webhook  # on by default for a loopback endpoint
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="pushed.png").wait(timeout=60)
    assert job.status == JobStatus.COMPLETED and job.outputs[0].read().startswith(b"%PDF")
    [(url, job_id, answer)] = sim.webhooks_sent
    assert job_id == job.id and answer == 200 and url.startswith("http://127.0.0.1:")
    polls = [r for r in sim.requests_seen if r.method == "GET" and r.path == f"/job/{job.id}"]
    # One GET, after the call, to fetch the result: no status polls while the job ran (a second long).
    assert [p.status for p in polls] == [200]
    assert provider._receiver.calls == [("GET", job.id, True)]
    provider.close()


def test_without_webhooks_the_adapter_polls(sim):
    provider = ConvertAPI(sim.credentials["secret"], base_url=sim.base_url, poll_interval=0.2, webhook=False)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="polled.png").wait(timeout=60)
    assert job.ok and sim.webhooks_sent == []
    polls = [r for r in sim.requests_seen if r.method == "GET" and r.path == f"/job/{job.id}"]
    assert len(polls) >= 2 and polls[0].status == 202
    provider.close()


def test_a_missing_callback_falls_back_to_polling(sim, monkeypatch):
    provider = ConvertAPI(sim.credentials["secret"], base_url=sim.base_url, poll_interval=0.2, webhook_timeout=0.5)
    assert provider.subscribe(lambda job_id, snapshot: None)
    # The receiver refuses every call (as if the service's call never got through) ...
    monkeypatch.setattr(provider._receiver, "expect", lambda job_id: None)
    job = dc.convert(image_bytes("PNG"), "pdf", provider=provider, name="late.png").wait(timeout=60)
    # ... so the job completes by polling once webhook_timeout has passed.
    assert job.ok
    assert sim.webhooks_sent and sim.webhooks_sent[0][2] == 404
    provider.close()


def test_the_receiver_accepts_only_the_jobs_it_waits_for():
    seen = []
    receiver = WebhookReceiver(seen.append)
    receiver.expect("job-1")
    try:
        url = receiver.url
        assert requests.get(url, params={"JobId": "job-1"}, timeout=5).status_code == 200
        assert requests.post(url, json={"JobId": "job-1"}, timeout=5).status_code == 200  # the current API's form
        assert requests.get(url, params={"JobId": "someone-else"}, timeout=5).status_code == 404
        assert requests.get(url.rsplit("/", 1)[0] + "/guess", params={"JobId": "job-1"}, timeout=5).status_code == 404
        receiver.forget("job-1")
        assert requests.get(url, params={"JobId": "job-1"}, timeout=5).status_code == 404
    finally:
        receiver.close()
    assert seen == ["job-1", "job-1"]


def test_simulator_calls_only_loopback_webhooks(sim):
    answer = requests.post(f"{sim.base_url}/convert/png/to/pdf",
                           data={"Async": "true", "WebHook": "http://example.com/hook"},
                           files={"File": ("a.png", image_bytes("PNG"))},
                           headers={"Authorization": f"Bearer {sim.credentials['secret']}"}, timeout=10)
    assert answer.status_code == 400 and answer.json()["Code"] == 4000


def test_current_async_api_posts_the_job_id_as_json(sim):
    arrived = threading.Event()
    receiver = WebhookReceiver(lambda job_id: arrived.set())
    job_id = "abcdefghij0123456789abcdefghij01"
    receiver.expect(job_id)
    try:
        answer = requests.post(f"{sim.base_url}/async/convert/png/to/pdf",
                               data={"JobId": job_id, "WebHook": receiver.url, "StoreFile": "true"},
                               files={"File": ("a.png", image_bytes("PNG"))},
                               headers={"Authorization": f"Bearer {sim.credentials['token']}"}, timeout=10)
        assert answer.json() == {"JobId": job_id}
        assert arrived.wait(30)
        assert receiver.calls == [("POST", job_id, True)]
        result = requests.get(f"{sim.base_url}/async/job/{job_id}", timeout=10)
        assert result.status_code == 200 and result.json()["Files"][0]["FileName"] == "a.pdf"
        bad = requests.post(f"{sim.base_url}/async/convert/png/to/pdf", data={"JobId": "Not-Valid"},
                            files={"File": ("a.png", image_bytes("PNG"))},
                            headers={"Authorization": f"Bearer {sim.credentials['token']}"}, timeout=10)
        assert bad.status_code == 400
    finally:
        receiver.close()
