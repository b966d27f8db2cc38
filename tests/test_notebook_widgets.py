"""Live job and group widgets: state asserted through traits, for scripted and real jobs.

The scripted provider and job helpers here are shared with test_notebook_reprs.py.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET

import pytest

import docconvert_nb as dc
from docconvert_nb.jobs import Job, JobGroup
from docconvert_nb.notebook import mimebundle, settle, widgets
from docconvert_nb.notebook.throttle import Throttle
from docconvert_nb.notebook.widgets import JobGroupWidget, JobWidget, widget_for
from docconvert_nb.outputs import Output
from docconvert_nb.status import JobStatus
from docconvert_nb.testing import ScriptedProvider, pdf_output

from .helpers import image_bytes


def scripted_job(provider=None, *, name="scan.png", options=None) -> Job:
    """A job at a :class:`ScriptedProvider` (a new one unless given), submitted and waiting for reports."""
    provider = provider or ScriptedProvider()
    job = dc.convert(image_bytes(), to="pdf", provider=provider, name=name, **(options or {}))
    return provider.wait_submitted(job)


def complete(job: Job, *outputs: Output) -> None:
    job.provider.complete(job, *outputs)


def fail(job: Job, *errors: str) -> None:
    job.provider.fail(job, *errors)


# -- job widget ------------------------------------------------------------------------------



def output_rows(widget: JobWidget) -> list[str]:
    """The text of each output row's label (the last child is the 'save to' box)."""
    return [row.children[0].value for row in widget.outputs_box.children if hasattr(row, "children")]


def test_queued_processing_completed_through_traits():
    job = scripted_job()
    widget = JobWidget(job, interval=0)
    assert (widget.status, widget.badge_style) == ("queued", "info")
    assert "job-0001" in widget.header.value and "scan.png" in widget.header.value and "pdf" in widget.header.value
    assert "Scripted service" in widget.header.value
    assert widget.action.description == "Cancel" and not widget.action.disabled
    assert widget.outputs_box.children == ()

    job.provider.report(job, JobStatus.PROCESSING, progress=0.4)
    assert widget.status == "processing" and widget.fraction == pytest.approx(0.4)
    assert widget.badge_style == "info" and "40%" in widget.header.value and "40%" in widget.bar.value

    job.provider.report(job, JobStatus.COMPLETED, outputs=[pdf_output(pages=3)])
    assert (widget.status, widget.badge_style) == ("completed", "success")
    assert widget.fraction == 1.0
    rows = output_rows(widget)
    assert len(rows) == 1 and "scan.pdf" in rows[0] and "application/pdf" in rows[0] and "18 B" in rows[0]
    save, preview = widget.outputs_box.children[0].children[1:]
    assert (save.description, preview.description) == ("Save", "Preview")
    assert not save.disabled and not preview.disabled
    assert widget.action.description == "Delete" and not widget.action.disabled
    assert widget.messages.value.count("<li") == 0


def test_failure_shows_errors_and_stays_red_after_delete():
    provider = ScriptedProvider()
    job = scripted_job(provider)
    widget = JobWidget(job, interval=0)
    job.provider.report(job, JobStatus.PROCESSING)
    job.provider.report(job, JobStatus.FAILED, message="failed", errors=["page 2 is damaged"],
                           warnings=["low resolution"])
    assert (widget.status, widget.badge_style) == ("failed", "danger")
    assert "page 2 is damaged" in widget.messages.value and "low resolution" in widget.messages.value
    assert widget.messages.value.count("page 2 is damaged") == 1
    assert "page 2 is damaged" not in widget.header.value  # the error is said once
    assert widget.action.description == "Delete" and not widget.action.disabled

    widget.action.click()  # the first click only asks
    assert widget.action.description == "Click again to delete" and provider.deleted == []
    widget.action.click()
    widget.action_thread.join(5)
    assert provider.deleted == ["job-0001"] and job.status is JobStatus.DELETED
    assert widget.status == "deleted" and widget.badge_style == "danger"  # failure is sticky
    assert widget.action.description == "Deleted" and widget.action.disabled


def test_cancel_only_while_running_and_only_where_possible():
    provider = ScriptedProvider()
    job = scripted_job(provider)
    widget = JobWidget(job, interval=0)
    job.provider.report(job, JobStatus.PROCESSING)
    assert widget.action.description == "Cancel" and not widget.action.disabled
    widget.action.click()
    widget.action_thread.join(5)
    assert provider.canceled == ["job-0001"]
    assert (widget.status, widget.badge_style) == ("canceled", "warning")
    assert widget.action.description == "Delete"

    stubborn = scripted_job(ScriptedProvider(can_cancel=False))
    stubborn_widget = JobWidget(stubborn, interval=0)
    assert stubborn_widget.action.description == "Cancel" and stubborn_widget.action.disabled
    assert "cannot cancel" in stubborn_widget.action.tooltip


class SlowDeleteProvider(ScriptedProvider):
    """A provider whose DELETE hangs until the test lets it go, or fails."""

    def __init__(self, error: Exception | None = None):
        super().__init__()
        self.release = threading.Event()
        self.error = error

    def delete(self, job_id):
        self.release.wait(10)
        if self.error:
            raise self.error
        super().delete(job_id)


def test_delete_click_does_not_block_the_kernel_thread():
    provider = SlowDeleteProvider()
    job = scripted_job(provider)
    widget = JobWidget(job, interval=0)
    job.provider.report(job, JobStatus.COMPLETED)

    widget.confirm_and_delete()  # returns while the provider is still busy
    assert widget.action.description == "Deleting…" and widget.action.disabled
    assert provider.deleted == [] and widget.action_thread.is_alive()
    widget.action.click()  # a second click while busy is ignored, not queued
    provider.release.set()
    widget.action_thread.join(5)
    assert provider.deleted == ["job-0001"] and widget.status == "deleted"
    assert widget.action.description == "Deleted" and widget.action.disabled


def test_failed_delete_is_reported_and_the_button_comes_back():
    provider = SlowDeleteProvider(error=dc.ProviderError("service unavailable: DELETE https://svc.test/jobs/1?Token=abc123"))
    provider.release.set()
    job = scripted_job(provider)
    widget = JobWidget(job, interval=0)
    job.provider.report(job, JobStatus.COMPLETED)

    widget.confirm_and_delete()
    widget.action_thread.join(5)
    assert job.status is JobStatus.COMPLETED and widget.status == "completed"
    assert widget.action.description == "Delete" and not widget.action.disabled
    message = widget.notes.value
    assert "Could not delete the job" in message and "service unavailable" in message
    assert "abc123" not in message


def test_output_rows_follow_the_outputs_even_when_the_snapshot_lags(monkeypatch):
    """The tracker may finish the job between the widget's snapshot and its look at the outputs."""
    job = scripted_job()
    widget = JobWidget(job, interval=0)
    job.provider.report(job, JobStatus.PROCESSING)
    lagging = job.to_dict()  # taken before the job completed
    real_to_dict = job.to_dict
    monkeypatch.setattr(job, "to_dict", lambda: lagging)
    job.provider.report(job, JobStatus.COMPLETED, outputs=[Output("scan.pdf", "application/pdf", size=2048)])
    monkeypatch.setattr(job, "to_dict", real_to_dict)
    widget.refresh()
    assert widget.status == "completed"
    assert len(widget.outputs_box.children) == 2  # the row of scan.pdf, then the save folder
    assert "scan.pdf" in widget.outputs_box.children[0].children[0].value


def test_widget_follows_changes_after_the_final_state_until_closed():
    job = scripted_job()
    widget = JobWidget(job, interval=0)
    complete(job)
    save, preview = widget.outputs_box.children[0].children[1:]
    assert widget.status == "completed" and not save.disabled and not preview.disabled

    job.delete()  # from code, not from the card
    assert widget.status == "deleted" and widget.action.description == "Deleted" and widget.action.disabled
    save, preview = widget.outputs_box.children[0].children[1:]
    assert save.disabled and preview.disabled and "deleted" in output_rows(widget)[0]

    expiring = scripted_job()
    view = JobWidget(expiring, interval=0)
    complete(expiring)
    expiring.provider.expire(expiring)
    assert view.status == "expired" and view.action.disabled and "expired" in view.header.value
    view.close()
    assert expiring._callbacks == []


def test_bursts_of_changes_are_throttled_and_the_last_state_arrives():
    job = scripted_job()
    widget = JobWidget(job, interval=0.25)
    job.provider.report(job, JobStatus.PROCESSING)
    for step in range(1, 101):
        job.provider.report(job, JobStatus.PROCESSING, progress=step / 100)
    assert widget.redraws <= 3  # initial draw, first change, maybe one trailing
    deadline = time.monotonic() + 5
    while widget.fraction != 1.0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert widget.fraction == 1.0 and widget.redraws <= 5


def test_throttle_folds_calls_into_one_trailing_call():
    calls = []
    now = [100.0]
    throttle = Throttle(lambda: calls.append(now[0]), interval=0.25, clock=lambda: now[0])
    throttle.trigger()
    assert calls == [100.0]
    for _ in range(10):
        throttle.trigger()  # within the interval: one trailing call is scheduled
    assert calls == [100.0]
    now[0] = 100.3
    deadline = time.monotonic() + 5
    while len(calls) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert calls == [100.0, 100.3]


def test_the_final_state_is_drawn_at_once_not_after_the_interval():
    job = scripted_job()
    widget = JobWidget(job, interval=60)  # a trailing redraw would come a minute later
    job.provider.report(job, JobStatus.PROCESSING)
    job.provider.report(job, JobStatus.PROCESSING, progress=0.5)
    job.provider.report(job, JobStatus.COMPLETED, outputs=[Output("scan.pdf", "application/pdf", 9)])
    assert widget.status == "completed" and len(widget.outputs_box.children) == 2  # before _apply returned

    group = JobGroup([scripted_job() for n in range(3)])
    view = JobGroupWidget(group, interval=60)
    for member in group.jobs:
        member.provider.report(member, JobStatus.PROCESSING)
        member.provider.report(member, JobStatus.COMPLETED)
    assert view.finished_count == 3 and view.status.startswith("3/3 done")


def test_throttle_now_calls_at_once_even_with_a_call_pending():
    calls = []
    throttle = Throttle(lambda: calls.append(1), interval=60)
    throttle.trigger()
    throttle.trigger()  # folded into a trailing call a minute away
    throttle.trigger(now=True)
    assert len(calls) == 2


def test_save_writes_the_output_and_reports_errors(tmp_path):
    job = scripted_job()
    widget = JobWidget(job, interval=0)
    complete(job, pdf_output(data=b"%PDF-1.4 hello"))
    widget.save_dir.value = str(tmp_path / "out dir")
    widget.outputs_box.children[0].children[1].click()
    assert (tmp_path / "out dir" / "scan.pdf").read_bytes() == b"%PDF-1.4 hello"
    assert "Saved scan.pdf" in widget.notes.value
    assert job.saved == [tmp_path / "out dir" / "scan.pdf"]

    (tmp_path / "a file").write_text("x")
    widget.save_dir.value = str(tmp_path / "a file")
    widget.outputs_box.children[0].children[1].click()
    assert "Could not save scan.pdf" in widget.notes.value


def test_preview_of_a_real_embedded_job(provider):
    job = dc.convert(image_bytes(size=(200, 120)), to="pdf", provider=provider, name="red.png")
    widget = JobWidget(job, interval=0)
    job.wait(timeout=30)
    deadline = time.monotonic() + 5
    while widget.status != "completed" and time.monotonic() < deadline:
        time.sleep(0.02)
    assert widget.status == "completed" and "red.pdf" in output_rows(widget)[0]
    widget.outputs_box.children[0].children[2].click()
    data = widget.output_area.outputs[0]["data"]
    assert "<img" in data["text/html"] and "red.pdf" in data["text/plain"]


def test_preview_that_fails_says_why():
    job = scripted_job()
    widget = JobWidget(job, interval=0)

    def broken():
        raise OSError("connection reset")

    complete(job, Output(name="scan.pdf", content_type="application/pdf", size=10, _opener=broken))
    widget.preview_output(job.outputs[0])
    text = widget.output_area.outputs[0]["data"]["text/plain"]
    assert text.startswith("No preview of scan.pdf") and "connection reset" in text


def test_widget_text_reads_like_the_job_and_is_shared():
    job = scripted_job()
    widget = widget_for(job)
    assert widget_for(job) is widget
    text = widget._repr_mimebundle_()["text/plain"]
    assert text.startswith("<Job job-0001 scripted: scan.png → pdf queued")
    assert "HBox" not in text and "VBox" not in text


def test_bundle_in_a_kernel_has_the_live_view_plus_fallbacks(monkeypatch):
    from docconvert_nb import notebook

    monkeypatch.setattr(notebook, "in_kernel", lambda: True)
    job = scripted_job()
    bundle = mimebundle(job)
    assert bundle[notebook.WIDGET_MIME]["model_id"] == widget_for(job).model_id
    assert bundle["text/plain"].startswith("<Job job-0001") and "docconvert-job" in bundle["text/html"]

    monkeypatch.setattr(notebook, "widgets_available", lambda: False)
    assert notebook.WIDGET_MIME not in mimebundle(job)


# -- group widget ----------------------------------------------------------------------------

def thousand_jobs() -> JobGroup:
    provider = ScriptedProvider()
    jobs = [scripted_job(provider, name=f"page-{i:04d}.png") for i in range(1000)]
    return JobGroup(jobs, name="scans")


def test_group_of_a_thousand_is_one_paginated_table():
    group = thousand_jobs()
    widget = JobGroupWidget(group, interval=0)
    assert widget.finished_count == 0 and "0/1000 done" in widget.header.value
    assert widget.table.value.count("<tr") == 21  # header + 20 rows
    assert "page-0000.png" in widget.table.value and "page-0020.png" not in widget.table.value
    assert widget.page_label.value.startswith("1–20 of 1000") and widget.prev_button.disabled
    ET.fromstring(widget.table.value)

    widget.next_button.click()
    assert widget.page == 1 and "page-0020.png" in widget.table.value and not widget.prev_button.disabled
    widget.go_to(10_000)
    assert widget.page == 49 and widget.next_button.disabled and "page-0999.png" in widget.table.value

    for job in group[:10]:
        complete(job)
    fail(group[10], "unreadable scan")
    assert widget.finished_count == 11 and "docconvert-bar-failed" in widget.bar.value
    assert "docconvert-bar-completed" in widget.bar.value and "11/1000 done" in widget.header.value
    assert "10 completed" in widget.header.value and "1 failed" in widget.header.value
    assert "989 queued" in widget.header.value

    widget.show.value = "failed"
    assert widget.page == 0 and widget.table.value.count("<tr") == 2
    assert "page-0010.png" in widget.table.value and "unreadable scan" in widget.table.value


def test_group_widget_finishes_and_keeps_failure_red():
    provider = ScriptedProvider()
    group = JobGroup([scripted_job(provider) for i in range(3)])
    widget = JobGroupWidget(group, interval=0)
    fail(group[0])
    complete(group[1])
    complete(group[2])
    assert widget.finished_count == 3 and "docconvert-bar-failed" in widget.bar.value
    group[1].provider.expire(group[1])  # a change after the end still reaches the counts
    assert "1 expired" in widget.header.value and "1 completed" in widget.header.value
    widget.close()
    assert all(job._callbacks == [] for job in group)  # ...and the group let go of its jobs
    assert group._callbacks == []


def test_group_redraws_are_throttled_with_many_changes():
    group = thousand_jobs()
    widget = JobGroupWidget(group, interval=0.25)
    began = time.monotonic()
    for job in group:
        complete(job)
    intervals = int((time.monotonic() - began) / 0.25)
    # initial draw, first change, at most one trailing redraw per interval, and the final state at once
    assert widget.redraws <= 3 + intervals and widget.redraws < 100  # for 1000 changes
    deadline = time.monotonic() + 5
    while widget.finished_count != 1000 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert widget.finished_count == 1000 and "docconvert-bar-failed" not in widget.bar.value


def test_real_group_from_convert_many(provider):
    group = dc.convert_many([image_bytes(), image_bytes(color=(0, 0, 200))], to="pdf", provider=provider)
    widget = widget_for(group)
    assert isinstance(widget, widgets.JobGroupWidget)
    group.wait(timeout=30)
    deadline = time.monotonic() + 5
    while widget.finished_count != 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert widget.finished_count == 2 and "docconvert-bar-completed" in widget.bar.value
    assert widget.table.value.count("completed") >= 2


def finish_on_a_thread(job: Job, *outputs: Output) -> None:
    """Complete ``job`` the way the tracker does: from a thread that is not the main one."""
    worker = threading.Thread(target=job.provider.complete, args=(job, *outputs))
    worker.start()
    worker.join(5)


def test_a_card_finished_off_the_main_thread_is_sent_again_after_the_next_cell():
    settle.run_pending()  # nothing left over from other tests
    job = scripted_job()
    widget = JobWidget(job, interval=0)
    finish_on_a_thread(job, Output("scan.pdf", "application/pdf", 9))
    first_row = widget.outputs_box.children[0]
    assert widget.status == "completed" and first_row.comm is not None

    assert widget in settle._pending
    settle.run_pending()  # what IPython's post_run_cell does, on the main thread
    row = widget.outputs_box.children[0]
    assert row is not first_row and first_row.comm is None  # rebuilt, the old row closed
    assert "scan.pdf" in row.children[0].value and widget.status == "completed"
    assert widget not in settle._pending  # once

    widget.refresh()  # on the main thread nothing is queued: it already belongs to the running cell
    main_job = scripted_job()
    main_view = JobWidget(main_job, interval=0)
    main_job.provider.report(main_job, JobStatus.COMPLETED)
    assert main_view not in settle._pending


def test_settle_hooks_once_into_the_end_of_every_cell():
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell(config=config)  # not the process-wide singleton other tests use
    settle.install(shell)
    settle.install(shell)
    assert shell.events.callbacks["post_run_cell"].count(settle.run_pending) == 1
    ran = []
    worker = threading.Thread(target=settle.after_next_cell, args=("k", lambda: ran.append(True)))
    worker.start()
    worker.join(5)
    shell.run_cell("1 + 1")
    assert ran == [True]
