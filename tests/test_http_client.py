"""The shared HTTP layer: retries only where safe, typed errors, no secrets."""

import io
import logging

import pytest
from flask import Flask, request

from docconvert_nb.errors import AuthenticationError, ProviderError
from docconvert_nb.providers.http import HttpClient
from docconvert_nb.simulators.base import Simulator

SECRET = "s3cr3t-value-123"


class EchoSimulator(Simulator):
    name = "echo"

    def create_app(self):
        app = Flask("echo")

        @app.route("/thing", methods=["GET", "POST", "PUT", "DELETE"])
        def thing():
            return {"method": request.method, "auth": request.headers.get("Authorization")}

        @app.get("/private")
        def private():
            return {"message": f"token {SECRET} is not valid"}, 401

        @app.get("/blob")
        def blob():
            return b"x" * 300_000

        return app


@pytest.fixture
def sim():
    with EchoSimulator() as sim:
        yield sim


@pytest.fixture
def client(sim):
    client = HttpClient(sim.base_url, secrets=[SECRET], backoff=0, provider_label="Echo")
    yield client
    client.close()


def _calls(sim, method):
    return [r for r in sim.requests_seen if r.method == method]


def test_idempotent_calls_are_retried_on_server_errors(sim, client):
    sim.faults.fail(503, path="/thing", method="GET", times=2)
    assert client.json("GET", "/thing")["method"] == "GET"
    assert [r.status for r in _calls(sim, "GET")] == [503, 503, 200]


def test_a_post_is_never_resent(sim, client):
    sim.faults.fail(503, path="/thing", method="POST", times=1, body='{"message": "busy"}')
    with pytest.raises(ProviderError) as info:
        client.json("POST", "/thing")
    assert info.value.status_code == 503 and "busy" in str(info.value)
    assert len(_calls(sim, "POST")) == 1


def test_auth_failures_are_typed_and_masked(sim, client, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(AuthenticationError) as info:
        client.request("GET", "/private", headers={"Authorization": f"Bearer {SECRET}"})
    assert SECRET not in str(info.value) and "***" in str(info.value)
    assert SECRET not in repr(info.value)
    assert SECRET not in caplog.text


def test_query_secrets_never_reach_messages(sim, client):
    sim.faults.fail(500, path="/thing", method="POST", times=1, body="oops")
    with pytest.raises(ProviderError) as info:
        client.request("POST", f"/thing?Secret={SECRET}&x=1")
    assert SECRET not in str(info.value)


def test_unreachable_host_is_a_clear_provider_error():
    client = HttpClient("http://127.0.0.1:9", retries=0, provider_label="Nowhere")
    with pytest.raises(ProviderError, match="cannot reach Nowhere .*connection failed"):
        client.request("GET", "/x")


def test_a_truncated_download_starts_over(sim, client):
    sim.faults.truncate(path="/blob", times=1)
    sink = io.BytesIO()
    assert client.download("/blob", sink)[0] == 300_000 and sink.getvalue() == b"x" * 300_000
    assert len(_calls(sim, "GET")) == 2


def test_a_body_truncated_every_time_is_reported(sim, client):
    sim.faults.truncate(path="/blob", times=None)
    with pytest.raises(ProviderError, match="broke off the download"):
        client.download("/blob", io.BytesIO())
    assert len(_calls(sim, "GET")) == client.retry.budget + 1


def test_retries_are_reported_as_notes(sim, client):
    from docconvert_nb.providers.retry import reporting_retries

    notes = []
    sim.faults.fail(502, path="/thing", method="GET", times=2)
    with reporting_retries(notes.append):
        client.json("GET", "/thing")
    assert [str(n) for n in notes] == ["retrying after a 502 (1 of 5)", "retrying after a 502 (2 of 5)"]


def test_a_429_is_resent_even_for_a_post_after_its_retry_after(sim, client):
    sim.faults.fail(429, path="/thing", method="POST", times=1, headers={"Retry-After": "0.3"})
    assert client.json("POST", "/thing")["method"] == "POST"
    first, second = _calls(sim, "POST")
    assert first.status == 429 and second.status == 200 and second.at - first.at >= 0.25


def test_download_streams_and_hashes(sim, client):
    import hashlib

    sink = io.BytesIO()
    size, md5 = client.download("/blob", sink)
    assert size == 300_000 and sink.getvalue() == b"x" * 300_000
    assert md5 == hashlib.md5(b"x" * 300_000).hexdigest()
