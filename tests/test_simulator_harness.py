"""The simulator harness: fault injection, the movable clock, the request log, the command line."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests

import docconvert_nb as dc
from docconvert_nb.errors import ProviderError
from docconvert_nb.simulators import SimClock, simulator_class
from docconvert_nb.simulators._common import TokenIssuer, is_loopback_url

from .helpers import image_bytes


@pytest.fixture
def aspose():
    with dc.simulate("aspose") as sim:
        yield sim


@pytest.fixture
def onlineconvert():
    with dc.simulate("onlineconvert") as sim:
        yield sim


def token_for(sim) -> str:
    answer = requests.post(f"{sim.base_url}/connect/token", data={"grant_type": "client_credentials", **sim.credentials})
    return answer.json()["access_token"]


def test_fail_injects_a_status_the_given_number_of_times(aspose):
    headers = {"Authorization": f"Bearer {token_for(aspose)}"}
    url = f"{aspose.base_url}/v5.0/ocr/Utilities/GetTaskStatus"
    aspose.faults.fail(503, path="/GetTaskStatus", times=1, body='{"title": "busy"}', headers={"Retry-After": "1"})
    first = requests.get(url, params={"id": str(uuid.uuid4())}, headers=headers)
    assert first.status_code == 503 and first.headers["Retry-After"] == "1" and first.json() == {"title": "busy"}
    assert requests.get(url, params={"id": str(uuid.uuid4())}, headers=headers).status_code == 200


def test_adapters_retry_injected_server_errors_on_polls(aspose):
    aspose.faults.fail(502, path="/GetTaskStatus", method="GET", times=2)
    snapshot = aspose.provider.status(str(uuid.uuid4()))
    assert snapshot.status == dc.JobStatus.EXPIRED
    statuses = [r.status for r in aspose.requests_seen if r.path.endswith("GetTaskStatus")]
    assert statuses == [502, 502, 200]


def test_a_submission_is_never_re_posted_after_a_server_error(aspose):
    aspose.faults.fail(500, path="/v5.0/ocr/RecognizeImage", method="POST", times=1)
    job = dc.ocr(image_bytes(), provider=aspose.provider, name="a.png")
    with pytest.raises(dc.JobFailed, match="500"):
        job.wait(timeout=30)
    assert [r.method for r in aspose.requests_seen if r.path == "/v5.0/ocr/RecognizeImage"] == ["POST"]


def test_delay_slows_the_answer(onlineconvert):
    onlineconvert.faults.delay(0.3, path="/v2/statuses", times=1)
    started = time.monotonic()
    assert requests.get(f"{onlineconvert.base_url}/v2/statuses").status_code == 200
    assert time.monotonic() - started >= 0.3
    seen = [r for r in onlineconvert.requests_seen if r.path == "/v2/statuses"][0]
    assert seen.ended - seen.at >= 0.3
    started = time.monotonic()
    requests.get(f"{onlineconvert.base_url}/v2/statuses")  # times=1: the next one is not delayed
    assert time.monotonic() - started < 0.3


def test_truncate_cuts_a_download_short_and_the_adapter_says_so(onlineconvert):
    job = dc.convert(image_bytes("PNG", size=(300, 300)), "pdf", provider=onlineconvert.provider, name="a.png")
    job.wait(timeout=60)
    onlineconvert.provider.http.configure_retries(2, backoff=0.01)
    onlineconvert.faults.truncate(path="/download-file/", times=1)
    assert job.outputs[0].read().startswith(b"%PDF")  # cut once: the download starts over
    onlineconvert.faults.truncate(path="/download-file/", times=None)
    with pytest.raises(ProviderError, match="incomplete|broke off"):
        job.outputs[0].read()
    onlineconvert.faults.clear()
    assert job.outputs[0].read().startswith(b"%PDF")


def test_random_faults_are_mixed_reproducible_and_counted(onlineconvert):
    def run(seed):
        onlineconvert.requests_seen.clear()
        mix = onlineconvert.faults.random(rate=0.5, seed=seed, kinds=("5xx", "429"), path="/statuses")
        for _ in range(40):
            requests.get(f"{onlineconvert.base_url}/v2/statuses", timeout=5)
        return [r.status for r in onlineconvert.requests_seen], dict(mix.injected)

    first, counted = run(7)
    assert first == run(7)[0] and first != run(8)[0]
    assert set(first) <= {200, 429, 502, 503, 504} and 5 <= first.count(200) <= 35
    assert sum(counted.values()) == 40 - first.count(200) and set(counted) == {"5xx", "429"}
    with pytest.raises(ValueError, match="fault kinds"):
        onlineconvert.faults.random(kinds=("meteor",))


def test_a_reset_after_the_work_is_survived_by_an_idempotent_call(aspose):
    headers = {"Authorization": f"Bearer {token_for(aspose)}"}
    aspose.faults.random(rate=1.0, seed=1, kinds=("reset",), path="/GetTaskStatus")
    with pytest.raises(requests.ConnectionError):  # a plain client sees the connection drop ...
        requests.get(f"{aspose.base_url}/v5.0/ocr/Utilities/GetTaskStatus", params={"id": "x"}, headers=headers,
                     timeout=5)
    aspose.faults.random(rate=0.5, seed=3, kinds=("reset",), path="/GetTaskStatus")
    aspose.provider.http.configure_retries(8, backoff=0.01)
    for _ in range(5):  # ... the adapter sends its GET again and gets the answer
        assert aspose.provider.status(str(uuid.uuid4())).status == dc.JobStatus.EXPIRED
    assert aspose.faults.injected["reset"] >= 1


def test_clock_advances_without_sleeping():
    clock = SimClock(start=1_000_000.0)
    assert abs(clock() - 1_000_000.0) < 5
    before = clock()
    clock.advance(24 * 3600)
    assert clock() - before >= 24 * 3600


def test_simulator_clock_drives_token_expiry(aspose):
    token = token_for(aspose)
    assert aspose.tokens.valid(token)
    aspose.clock.advance(3601)
    assert not aspose.tokens.valid(token)


def test_requests_seen_are_logged_without_credentials(aspose):
    token = token_for(aspose)
    requests.get(f"{aspose.base_url}/v5.0/ocr/RecognizeTable", params={"id": "abc"},
                 headers={"Authorization": f"Bearer {token}"})
    last = aspose.requests_seen[-1]
    assert (last.method, last.path, last.query, last.status) == ("GET", "/v5.0/ocr/RecognizeTable", "id=abc", 200)
    assert last.ended is not None and last.ended >= last.at
    assert all(token not in repr(seen) and aspose.credentials["client_secret"] not in repr(seen)
               for seen in aspose.requests_seen)


def test_simulators_listen_on_loopback_only():
    with pytest.raises(ValueError, match="loopback"):
        simulator_class("aspose")(host="0.0.0.0")
    with pytest.raises(ValueError, match="unknown simulator"):
        dc.simulate("nosuchservice")


def test_leaving_the_with_block_stops_the_server():
    with dc.simulate("onlineconvert") as sim:
        url = sim.base_url
        assert requests.get(f"{url}/v2/statuses").status_code == 200
        assert sim.provider.is_simulator
    assert not sim.running
    with pytest.raises(RuntimeError):
        sim.base_url
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/v2/statuses", timeout=2)


def test_token_issuer_alone():
    clock = SimClock()
    issuer = TokenIssuer(clock, {"id": "secret"}, lifetime=10)
    assert issuer.issue("id", "wrong") is None and issuer.issue("nobody", "secret") is None
    token = issuer.issue("id", "secret")
    assert issuer.valid(token)
    clock.advance(11)
    assert not issuer.valid(token)
    assert is_loopback_url("http://127.0.0.1:9/x") and is_loopback_url("http://localhost/x")
    assert not is_loopback_url("http://10.0.0.1/x") and not is_loopback_url("file:///etc/passwd")


@pytest.mark.parametrize("name, credential_keys", [("aspose", ("client_id", "client_secret")),
                                                   ("onlineconvert", ("api_key",))])
def test_command_line_prints_url_and_credentials_and_serves_until_terminated(name, credential_keys):
    process = subprocess.Popen(
        [sys.executable, "-m", "docconvert_nb.simulators", name, "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while not any("Ctrl-C" in line for line in lines):
            assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
            lines.append(process.stdout.readline())
        text = "".join(lines)
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", text).group(1)
        credentials = dict(re.findall(r"^\s+(\w+): (\S+)$", text, re.MULTILINE))
        assert set(credential_keys) <= set(credentials)
        if name == "aspose":
            answer = requests.post(f"{url}/connect/token",
                                   data={"grant_type": "client_credentials", **credentials}, timeout=10)
        else:
            answer = requests.get(f"{url}/v2/jobs", headers={"X-Oc-Api-Key": credentials["api_key"]}, timeout=10)
        assert answer.status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()


def test_command_line_help_lists_the_providers():
    result = subprocess.run([sys.executable, "-m", "docconvert_nb.simulators", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for name in ("aspose", "onlineconvert", "convertapi", "groupdocs"):
        assert name in result.stdout
