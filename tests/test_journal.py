"""The job journal: every job recorded as it changes, shared by processes, and reattached after a restart."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import docconvert_nb as dc
from docconvert_nb import journaling as journal
from docconvert_nb.journaling import Journal
from docconvert_nb.status import JobStatus
from docconvert_nb.testing import ScriptedProvider, pdf_output

from .helpers import image_bytes

REPO = Path(__file__).resolve().parents[1]


def rows(home_dir: Path) -> list[dict]:
    journal.flush(5.0)
    return Journal(home_dir / journal.FILE_NAME).rows()


def row_of(home_dir: Path, job) -> dict:
    found = [r for r in rows(home_dir) if r["key"] == job.journal_key]
    assert len(found) == 1, found
    return found[0]


def run_python(code: str, env: dict, timeout: float = 120.0) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter that imports this checkout of docconvert_nb."""
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **env}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=full_env, capture_output=True,
                          text=True, timeout=timeout)


# -- recording -------------------------------------------------------------------------------------

def test_a_job_is_recorded_as_it_changes(home, tmp_path):
    scripted = ScriptedProvider()
    data = image_bytes()
    job = dc.convert(data, to="pdf", provider=scripted, name="scan.png", save_to=tmp_path / "out",
                     api_key="hunter2-very-secret", dpi=200)
    scripted.wait_submitted(job)
    journal.flush(5.0)
    row = row_of(home, job)
    assert row["status"] == "queued" and row["provider"] == "scripted" and row["provider_id"] == job.id
    assert row["source_sha256"] == hashlib.sha256(data).hexdigest() == job.source_sha256
    assert row["source_name"] == "scan.png" and row["task"] == "convert" and row["target"] == "pdf"
    assert row["options"] == {"api_key": "***", "dpi": 200}

    scripted.start(job, progress=0.5)
    assert row_of(home, job)["status"] == "processing"
    scripted.complete(job, pdf_output("scan.pdf"))
    job.wait(5)
    row = row_of(home, job)
    assert row["status"] == "completed" and row["message"] == job.message
    assert [o["name"] for o in row["outputs"]] == ["scan.pdf"]
    assert row["saved"] == [str(tmp_path / "out" / "scan.pdf")]
    assert row["submitted_at"] and row["started_at"] and row["finished_at"]
    assert row["pid"] == os.getpid() and row["cached"] is False

    job.delete()
    assert row_of(home, job)["status"] == "deleted"
    # The secret is nowhere in the file, masked or not.
    journal.flush(5.0)
    for path in home.glob(journal.FILE_NAME + "*"):
        assert b"hunter2" not in path.read_bytes()


@pytest.mark.slow
def test_dc_journal_lists_this_process_and_earlier_ones(home):
    earlier = run_python("""
        import docconvert_nb as dc
        from tests.helpers import image_bytes
        job = dc.convert(image_bytes(color=(1, 2, 3)), to="pdf", name="earlier.png").wait(60)
        print(job.id)
    """, {"DOCCONVERT_NB_HOME": str(home)})
    assert earlier.returncode == 0, earlier.stderr
    scripted = ScriptedProvider()
    now = dc.convert(image_bytes(), to="pdf", provider=scripted, name="now.png")
    scripted.complete(now)
    now.wait(5)

    table = dc.journal()
    assert list(table["source_name"]) == ["earlier.png", "now.png"]
    first, second = table.iloc[0], table.iloc[1]
    assert first["provider"] == "embedded" and first["provider_id"] == earlier.stdout.strip()
    assert first["status"] == "completed" and first["pid"] != os.getpid()
    assert second["status"] == "completed" and second["pid"] == os.getpid()
    assert str(table["submitted_at"].dtype).startswith("datetime64") and table["submitted_at"].is_monotonic_increasing
    assert list(dc.journal(unfinished=True)["source_name"]) == []


def test_turned_off_by_environment_or_option(home, monkeypatch):
    monkeypatch.setenv("DOCCONVERT_NB_JOURNAL", "0")
    scripted = ScriptedProvider()
    job = dc.convert(image_bytes(), to="pdf", provider=scripted, name="a.png")
    scripted.complete(job)
    job.wait(5)
    assert not (home / journal.FILE_NAME).exists()
    assert dc.journal().empty

    monkeypatch.delenv("DOCCONVERT_NB_JOURNAL")
    dc.set_journal(False)
    job = dc.convert(image_bytes(), to="pdf", provider=scripted, name="b.png")
    scripted.complete(job)
    job.wait(5)
    assert not (home / journal.FILE_NAME).exists()
    dc.set_journal(None)
    job = dc.convert(image_bytes(), to="pdf", provider=scripted, name="c.png")
    scripted.complete(job)
    job.wait(5)
    assert [r["source_name"] for r in rows(home)] == ["c.png"]


def test_a_journal_that_cannot_be_written_is_logged_once_and_jobs_go_on(home, caplog):
    (home / journal.FILE_NAME).mkdir(parents=True)  # a folder where the file should be
    scripted = ScriptedProvider()
    with caplog.at_level(logging.WARNING, logger="docconvert_nb.journaling"):
        jobs = [dc.convert(image_bytes(), to="pdf", provider=scripted, name=f"{n}.png") for n in range(3)]
        for job in jobs:
            scripted.complete(job)
        assert all(job.wait(5).ok for job in jobs)
        journal.flush(5.0)
    warnings = [r for r in caplog.records if r.name == "docconvert_nb.journaling"]
    assert len(warnings) == 1 and "cannot write the job journal" in warnings[0].getMessage()
    with pytest.raises(dc.DocconvertError, match="cannot read the job journal"):
        dc.journal()


def test_a_stale_running_report_never_overwrites_an_outcome(tmp_path):
    book = Journal(tmp_path / "j.sqlite3")
    base = {c: None for c in journal.COLUMNS} | {"key": "k1", "provider": "embedded", "cached": 0}
    book.record(base | {"status": "completed", "message": "done"})
    book.flush()
    book.record(base | {"status": "processing", "message": "late"})
    book.flush()
    assert [(r["status"], r["message"]) for r in book.rows()] == [("completed", "done")]
    book.record(base | {"status": "expired", "message": "gone"})
    book.flush()
    assert book.rows()[0]["status"] == "expired"


# -- sharing the file ------------------------------------------------------------------------------

WRITER = """
    import sys, time
    from docconvert_nb import journaling as journal
    book = journal.Journal(sys.argv[1])
    name, count = sys.argv[2], int(sys.argv[3])
    base = {c: None for c in journal.COLUMNS} | {"provider": "embedded", "cached": 0}
    book.rows()  # schema in place before the clock starts
    started = time.time()
    for i in range(count):
        for status in ("submitting", "queued", "processing", "completed"):
            book.record(base | {"key": f"{name}-{i}", "status": status, "message": f"{name} {i} {status}",
                                "submitted_at": f"2026-01-01T00:00:{i % 60:02d}+00:00"})
        if i % 10 == 0:
            book.rows()  # readers in the middle of it all
            time.sleep(0.001)
    assert book.flush(60), "flush timed out"
    print("ok", started, time.time())
"""


@pytest.mark.slow
def test_two_processes_writing_at_once_corrupt_nothing(tmp_path):
    path = tmp_path / "shared.sqlite3"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    writers = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(WRITER), str(path), name, "300"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    spans = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0 and out.startswith("ok"), err
        assert "cannot write" not in err
        spans.append([float(t) for t in out.split()[1:]])
    (a_start, a_end), (b_start, b_end) = spans
    assert a_start < b_end and b_start < a_end, "the two writers did not overlap"
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    recorded = Journal(path).rows()
    assert len(recorded) == 600
    assert {r["status"] for r in recorded} == {"completed"}
    assert {r["key"] for r in recorded} == {f"{n}-{i}" for n in "ab" for i in range(300)}


def test_a_killed_process_loses_nothing_the_journal_had(home):
    killed = run_python("""
        import os, signal
        import docconvert_nb as dc
        from docconvert_nb import journaling as journal
        from docconvert_nb.testing import ScriptedProvider
        scripted = ScriptedProvider(name="scripted")
        jobs = [dc.convert(b"%PDF-1.4 x", to="png", provider=scripted, name=f"{n}.pdf") for n in range(20)]
        for job in jobs:
            scripted.start(job, progress=0.25)
        assert journal.flush(10)
        scripted.complete(jobs[0])
        os.kill(os.getpid(), signal.SIGKILL)  # mid-job, mid-write perhaps
    """, {"DOCCONVERT_NB_HOME": str(home)})
    assert killed.returncode == -9, killed.stderr
    with sqlite3.connect(home / journal.FILE_NAME) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    recorded = rows(home)
    assert len(recorded) == 20
    assert all(r["provider_id"] and r["status"] in ("processing", "completed") for r in recorded)


# -- reattaching -----------------------------------------------------------------------------------

#: Submits ``{call}`` (saving into ``{out}``), waits for the provider's id to reach the journal, and dies.
SUBMIT_AND_DIE = """
    import os, signal, sys, time
    import docconvert_nb as dc
    from docconvert_nb import samples
    from tests.helpers import image_bytes
    save_to = {out!r}
    job = {call}
    deadline = time.monotonic() + 30
    while job.id is None:
        assert time.monotonic() < deadline and not job.done, job
        time.sleep(0.01)
    table = dc.journal()  # writes what is queued, then reads: the id is in the file
    assert table.iloc[-1]["provider_id"] == job.id, table
    assert not job.done, job
    print(job.journal_key, job.id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
"""

REATTACH = """
    import json
    import docconvert_nb as dc
    group = dc.reattach()
    assert len(group) == 1, group
    job = group[0]
    group.wait(timeout=60)
    table = dc.journal()
    print(json.dumps({"key": job.journal_key, "id": job.id, "status": job.status.value,
                      "saved": [str(p) for p in job.saved], "journal": table.iloc[-1]["status"],
                      "rows": len(table), "again": len(dc.reattach())}))
"""


@pytest.mark.slow
def test_a_slow_cloud_job_survives_its_kernel_and_is_completed_by_a_new_one(home, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with dc.simulate("onlineconvert", durations={"queued": 0.5, "processing": 4.0}) as sim:
        env = {
            "DOCCONVERT_NB_HOME": str(home),
            "ONLINE_CONVERT_BASE_URL": f"{sim.base_url}/v2",
            "ONLINE_CONVERT_API_KEY": sim.credentials["api_key"],
        }
        call = 'dc.convert(image_bytes(color=(10, 200, 30)), to="jpg", provider="onlineconvert", name="slow.png", save_to=save_to)'
        first = run_python(SUBMIT_AND_DIE.format(call=call, out=str(out)), env)
        assert first.returncode == -9, first.stderr
        key, job_id = first.stdout.split()
        unfinished = Journal(home / journal.FILE_NAME).unfinished()
        assert [(r["key"], r["provider_id"]) for r in unfinished] == [(key, job_id)]
        assert not list(out.iterdir())  # it was still converting when its process died

        second = run_python(REATTACH, env)
        assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout.strip().splitlines()[-1])
    assert report == {"key": key, "id": job_id, "status": "completed", "saved": [str(out / "slow.jpg")],
                      "journal": "completed", "rows": 1, "again": 0}
    assert (out / "slow.jpg").read_bytes()[:3] == b"\xff\xd8\xff"


@pytest.mark.slow
def test_a_reattached_aspose_task_names_its_outputs_after_the_source(home, tmp_path):
    """Aspose answers with result data only: the output's name comes from the journaled source."""
    out = tmp_path / "out"
    out.mkdir()
    call = ('dc.recognize_tables(samples.table_image(samples.SAMPLE_TABLE), to="csv", provider="aspose", '
            'name="cities.png", save_to=save_to)')
    with dc.simulate("aspose", durations={"queued": 0.5, "processing": 3.0}) as sim:
        env = {"DOCCONVERT_NB_HOME": str(home), "ASPOSE_BASE_URL": sim.provider_base_url,
               "ASPOSE_CLIENT_ID": sim.credentials["client_id"],
               "ASPOSE_CLIENT_SECRET": sim.credentials["client_secret"]}
        first = run_python(SUBMIT_AND_DIE.format(call=call, out=str(out)), env)
        assert first.returncode == -9, first.stderr
        second = run_python(REATTACH, env)
        assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout.strip().splitlines()[-1])
    assert (report["status"], report["saved"]) == ("completed", [str(out / "cities.csv")])


def test_an_embedded_result_finished_after_the_journal_stopped_hearing_is_reattached(home, tmp_path):
    out = tmp_path / "out"
    first = run_python(f"""
        import docconvert_nb as dc
        from docconvert_nb import journaling as journal
        from tests.helpers import image_bytes
        built = journal._built
        # As if killed right after the engine finished: the journal never hears the outcome.
        journal._built = lambda batch: [row for row in built(batch) if row["status"] != "completed"]
        job = dc.convert(image_bytes(), to="pdf", name="late.png", save_to={str(out)!r})
        job.wait(60)
        assert journal.flush(10)
        print(job.id)
    """, {"DOCCONVERT_NB_HOME": str(home)})
    assert first.returncode == 0, first.stderr
    (out / "late.pdf").unlink()
    assert [r["status"] for r in rows(home)] in (["queued"], ["processing"])

    group = dc.reattach(provider=dc.providers.EmbeddedProvider())  # the engine of this home's store
    assert len(group) == 1
    job = group.wait(30)[0]
    assert job.ok and job.id == first.stdout.strip()
    assert job.output(0).read()[:5] == b"%PDF-"
    assert job.saved == [out / "late.pdf"] and (out / "late.pdf").exists()
    assert row_of(home, job)["status"] == "completed"


def test_an_embedded_job_whose_process_died_while_converting_comes_back_failed(home, tmp_path):
    from docconvert_nb.engine import Engine
    from docconvert_nb.providers.embedded import EmbeddedProvider

    engine = Engine(home)
    provider = EmbeddedProvider(engine)
    job = dc.convert(image_bytes(), to="pdf", provider=provider, name="x.png").wait(30)
    # What the store and journal hold when a kernel is killed mid-conversion: not final, a dead pid.
    record = engine.get(job.id)
    record.status, record.pid, record.finished_at, record.outputs = "processing", 2**22 + 12345, None, []
    engine.store.save(record)
    journal.flush(5.0)
    with sqlite3.connect(home / journal.FILE_NAME) as connection:
        connection.execute("UPDATE jobs SET status = 'processing', pid = ? WHERE key = ?",
                           (2**22 + 12345, job.journal_key))
    from docconvert_nb.tracker import get_tracker

    get_tracker().jobs.remove(job)  # as in a new kernel, which has no Job object for it

    group = dc.reattach(provider=EmbeddedProvider(Engine(home)))
    assert len(group) == 1
    again = group.wait(30)[0]
    assert again.status == JobStatus.FAILED and "interrupted" in again.message
    assert row_of(home, again)["status"] == "failed"


def test_reattach_leaves_out_what_it_cannot_follow(home, monkeypatch):
    book = Journal(home / journal.FILE_NAME)
    base = {c: None for c in journal.COLUMNS} | {"cached": 0, "status": "processing", "task": "convert",
                                                 "target": "pdf", "source_format": "png"}
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        book.record(base | {"key": "live", "provider": "embedded", "provider_id": "x", "source_name": "live.png",
                            "pid": sleeper.pid, "host": socket.gethostname()})
        book.record(base | {"key": "unknown", "provider": "nosuchservice", "provider_id": "y",
                            "source_name": "unknown.png"})
        book.record(base | {"key": "elsewhere", "provider": "onlineconvert", "provider_id": "z",
                            "source_name": "elsewhere.png", "endpoint": "http://127.0.0.1:9/v2"})
        book.record(base | {"key": "noid", "provider": "embedded", "source_name": "noid.png",
                            "status": "submitting"})
        book.flush()
        monkeypatch.setenv("ONLINE_CONVERT_API_KEY", "k" * 32)
        monkeypatch.setenv("ONLINE_CONVERT_BASE_URL", "http://127.0.0.1:10/v2")
        monkeypatch.setattr(dc.providers, "_instances", {})  # configuration read anew from the environment
        with pytest.warns(UserWarning) as caught:
            group = dc.reattach()
        assert len(group) == 0
        text = str(caught[0].message)
        assert "live.png" in text and "nosuchservice" in text and "127.0.0.1:9" in text
        by_key = {r["key"]: r for r in book.rows()}
        assert by_key["noid"]["status"] == "failed" and "interrupted" in by_key["noid"]["message"]
        assert {by_key[k]["status"] for k in ("live", "unknown", "elsewhere")} == {"processing"}
    finally:
        sleeper.kill()
        sleeper.wait()


def test_long_finished_jobs_are_dropped_and_unfinished_ones_kept(tmp_path):
    path = tmp_path / "j.sqlite3"
    book = Journal(path)
    base = {c: None for c in journal.COLUMNS} | {"provider": "embedded", "cached": 0}
    old = "2020-01-01T00:00:00.000+00:00"
    book.record(base | {"key": "old-done", "status": "completed", "updated_at": old})
    book.record(base | {"key": "old-running", "status": "processing", "updated_at": old})
    book.record(base | {"key": "recent", "status": "completed", "updated_at": journal._now_iso()})
    book.flush()
    assert {r["key"] for r in Journal(path).rows()} == {"old-running", "recent"}


def test_completed_jobs_come_back_on_request_with_their_outputs_or_as_gone(home, tmp_path):
    from docconvert_nb.engine import Engine
    from docconvert_nb.providers.embedded import EmbeddedProvider
    from docconvert_nb.tracker import get_tracker

    earlier = EmbeddedProvider(Engine(home))
    kept = dc.convert(image_bytes(), to="pdf", provider=earlier, name="kept.png", save_to=tmp_path / "out").wait(30)
    gone = dc.convert(image_bytes(color=(9, 9, 9)), to="pdf", provider=earlier, name="gone.png").wait(30)
    journal.flush(5.0)
    for job in (kept, gone):  # as in a new kernel, which has no Job objects for them
        job.recorder = None
        get_tracker().jobs.remove(job)
    Engine(home).delete(gone.id)  # meanwhile, from elsewhere (the CLI, say)
    assert len(dc.reattach(provider=EmbeddedProvider(Engine(home)))) == 0  # nothing unfinished

    group = dc.reattach(provider=EmbeddedProvider(Engine(home)), completed=True).wait(30)
    by_name = {job.source_name: job for job in group}
    assert set(by_name) == {"kept.png", "gone.png"}
    assert by_name["kept.png"].ok and by_name["kept.png"].output(0).read() == kept.output(0).read()
    assert by_name["kept.png"].saved == [tmp_path / "out" / "kept.pdf"] and by_name["kept.png"].save_to is None
    assert by_name["gone.png"].status == JobStatus.DELETED
    assert row_of(home, by_name["gone.png"])["status"] == "deleted"
    assert row_of(home, by_name["kept.png"])["saved"] == [str(tmp_path / "out" / "kept.pdf")]


def test_two_kernels_reattaching_at_once_do_not_both_follow_a_job(home):
    book = Journal(home / journal.FILE_NAME)
    base = {c: None for c in journal.COLUMNS} | {"cached": 0, "status": "processing", "provider": "embedded",
                                                 "provider_id": "p1", "key": "k1", "pid": 2**22 + 7, "host": "h"}
    book.record(base)
    book.flush()
    row = book.unfinished()[0]
    assert book.claim(row) is True
    assert book.claim(row) is False  # read before the first claim: stale
    assert book.unfinished()[0]["pid"] == os.getpid()


def test_an_idle_writer_lets_go_and_comes_back(tmp_path, monkeypatch):
    monkeypatch.setattr(journal, "IDLE_SECONDS", 0.05)
    book = Journal(tmp_path / "j.sqlite3")
    base = {c: None for c in journal.COLUMNS} | {"key": "k", "provider": "embedded", "cached": 0}
    book.record(base | {"status": "queued"})
    assert book.flush(5)
    deadline = time.monotonic() + 5
    while book._thread is not None:
        assert time.monotonic() < deadline, "the idle writer thread never ended"
        time.sleep(0.01)
    book.record(base | {"status": "completed"})
    assert book.flush(5)
    assert [r["status"] for r in book.rows()] == ["completed"]
