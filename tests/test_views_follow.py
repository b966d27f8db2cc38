"""Displayed cards stay true: live while running, the static final card in the same output after,
redrawn on every later change; group actions, to_dataframe, habits and terminal progress."""

from __future__ import annotations

import io
import time

import pytest
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell

from docconvert_nb import notebook
from docconvert_nb.jobs import JobGroup
from docconvert_nb.notebook import follow, habits, html, terminal
from docconvert_nb.notebook.widgets import JobGroupWidget
from docconvert_nb.status import JobStatus
from docconvert_nb.testing import ScriptedProvider, pdf_output

from .test_notebook_widgets import complete, fail, scripted_job


class RecordingPublisher(DisplayPublisher):
    """What the kernel would send: (data, display_id, is_update) per display message."""

    def __init__(self):
        super().__init__()
        self.sent: list[tuple[dict, str | None, bool]] = []

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
        self.sent.append((data, (transient or {}).get("display_id"), update))


@pytest.fixture
def kernel_display(monkeypatch):
    shell = InteractiveShell.instance()
    publisher = RecordingPublisher()
    monkeypatch.setattr(shell, "display_pub", publisher)
    monkeypatch.setattr(notebook, "in_kernel", lambda: True)
    return publisher


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert predicate()


def test_a_displayed_job_turns_into_its_final_card_and_follows_later_changes(kernel_display):
    job = scripted_job(name="report.png")
    notebook.display(job)
    [(first, display_id, update)] = kernel_display.sent
    assert notebook.WIDGET_MIME in first and not update  # live while it runs

    complete(job, pdf_output("report.pdf"))
    final, final_id, update = kernel_display.sent[-1]
    assert update and final_id == display_id  # the same output...
    assert notebook.WIDGET_MIME not in final  # ...now without a widget a saved notebook could not draw
    assert "docconvert-status-completed" in final["text/html"] and "report.pdf" in final["text/html"]

    job.delete()  # from code: the card must not keep saying "completed"
    wait_for(lambda: "deleted" in kernel_display.sent[-1][0]["text/plain"])
    deleted, deleted_id, update = kernel_display.sent[-1]
    assert update and deleted_id == display_id and notebook.WIDGET_MIME not in deleted
    assert "docconvert-status-deleted" in deleted["text/html"] and "docconvert-status-completed" not in deleted["text/html"]


def test_a_finished_job_displays_static_and_still_follows_expiry(kernel_display):
    job = scripted_job()
    complete(job)
    notebook.display(job)
    [(first, display_id, _update)] = kernel_display.sent
    assert notebook.WIDGET_MIME not in first and "completed" in first["text/plain"]
    assert notebook.WIDGET_MIME not in notebook.mimebundle(job)
    job.provider.expire(job)
    wait_for(lambda: kernel_display.sent[-1][2] and "expired" in kernel_display.sent[-1][0]["text/plain"])
    assert kernel_display.sent[-1][1] == display_id


def test_group_counts_follow_expiry_after_the_end(kernel_display):
    group = JobGroup([scripted_job(name=f"p{n}.png") for n in range(4)], name="four")
    notebook.display(group)
    assert notebook.WIDGET_MIME in kernel_display.sent[0][0]
    for job in group:
        complete(job)
    final = kernel_display.sent[-1][0]
    assert notebook.WIDGET_MIME not in final and "4 completed" in final["text/plain"]
    for job in group[:3]:
        job.provider.expire(job)
    wait_for(lambda: "3 expired" in kernel_display.sent[-1][0]["text/plain"])
    assert "1 completed" in kernel_display.sent[-1][0]["text/html"]


def test_follower_keeps_the_newest_outputs_only():
    job = scripted_job()
    complete(job)
    followed = follow.follower(job, notebook.static_bundle)

    class Handle:
        def __init__(self, n):
            self.display_id = str(n)

        def update(self, *args, **kwargs):
            pass

    for n in range(follow.MAX_HANDLES + 5):
        followed.add_static(Handle(n))
    assert len(followed.handles) == follow.MAX_HANDLES and followed.handles[-1].display_id == str(follow.MAX_HANDLES + 4)


@pytest.mark.parametrize("source, repeats", [
    ("job.wait()", True), ("job.wait(timeout=5)", True), ("await job", True), ("x = 1\ngroup.delete()", True),
    ("await job.wait_async()", True), ("job", False), ("job.outputs", False), ("display(job)", False),
    ("job.wait()\nprint(1)", False), ("def f(:", False),
])
def test_cells_ending_in_a_self_returning_call(source, repeats):
    assert habits.ends_with_self_returning_call(source) is repeats


def test_group_to_dataframe_has_one_row_per_job():
    provider = ScriptedProvider()
    group = JobGroup([scripted_job(provider, name=f"scan {n}.png") for n in range(3)], name="three")
    complete(group[0], pdf_output("scan 0.pdf"))
    fail(group[1], "page 1 is blank")
    frame = group.to_dataframe()
    assert list(frame.columns) == ["source", "provider", "task", "target", "status", "elapsed", "outputs",
                                   "message", "id"]
    assert list(frame.index) == [1, 2, 3] and frame.index.name == "job"
    assert frame.loc[1, "outputs"] == ["scan 0.pdf"] and frame.loc[1, "status"] == "completed"
    assert frame.loc[2, "message"] == "page 1 is blank" and frame.loc[3, "status"] == "queued"
    assert set(frame["provider"]) == {"scripted"} and set(frame["task"]) == {"convert"}


def test_retry_failed_submits_the_failed_jobs_again_as_a_new_group():
    provider = ScriptedProvider()
    group = JobGroup([scripted_job(provider, name=f"scan {n}.png") for n in range(3)], name="batch")
    complete(group[0])
    fail(group[1])
    group[2].provider.report(group[2], JobStatus.PROCESSING)
    group[2].cancel()
    again = group.retry_failed()
    assert again.name == "batch (retry)" and [job.source_name for job in again] == ["scan 1.png", "scan 2.png"]
    for job in again:
        provider.wait_submitted(job)
    assert len(provider.submitted) == 5 and group[1].status is JobStatus.FAILED  # history kept
    assert len(JobGroup([group[0]]).retry_failed()) == 0


def test_group_widget_actions(tmp_path):
    provider = ScriptedProvider()
    group = JobGroup([scripted_job(provider, name=f"scan {n}.png") for n in range(3)], name="batch")
    view = JobGroupWidget(group, interval=0)
    assert not view.cancel_all.disabled and view.save_all.disabled and view.retry_failed.disabled
    view.cancel_all.click()
    view.action_thread.join(5)
    assert sorted(provider.canceled) == ["job-0001", "job-0002", "job-0003"]
    assert not view.retry_failed.disabled and view.cancel_all.disabled

    view.retry_failed.click()
    assert "Retrying 3 job(s)" in view.notes.value and len(view.retry_area.outputs) == 1

    done = JobGroup([scripted_job(provider, name=f"ok {n}.png") for n in range(2)], name="done")
    other = JobGroupWidget(done, interval=0)
    for job in done:
        complete(job, pdf_output(job.source_name.replace(".png", ".pdf")))
    other.save_dir.value = str(tmp_path / "out")
    other.save_all.click()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ok 0.pdf", "ok 1.pdf"]
    assert "Saved 2 file(s)" in other.notes.value

    other.delete_all.click()  # asks first
    assert other.delete_all.description.startswith("Click again") and other.action_thread is None
    other.delete_all.click()
    other.action_thread.join(5)
    assert all(job.status is JobStatus.DELETED for job in done)
    wait_for(lambda: "2 deleted" in other.header.value)

    other.show_job(2)
    assert "ok 1.png" in other.details.value and "deleted" in other.details.value


def test_output_links_point_under_the_notebook_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    job = scripted_job(name="my scan.png")
    complete(job, pdf_output("my scan.pdf"))
    job.save(tmp_path / "out dir")
    card = html.job_html(job)
    assert 'href="out%20dir/my%20scan.pdf"' in card and 'download="my scan.pdf"' in card
    assert "saved as" in html.job_text(job)
    elsewhere = scripted_job(name="far.png")
    complete(elsewhere, pdf_output("far.pdf"))
    assert html.file_link(tmp_path.parent / "far.pdf", base=tmp_path) is None


def test_group_progress_has_percent_rate_and_eta():
    progress = html.group_progress(total=20, finished=9, elapsed=6.0)
    assert progress["text"].startswith("9/20 done · 45% · 6.0 s") and "jobs/s" in progress["text"]
    assert "left" in progress["text"] and progress["eta"] == pytest.approx(11 / 1.5)
    assert "left" not in html.group_progress(total=5, finished=5, elapsed=3.0)["text"]


def test_running_rows_never_say_100_percent_before_the_end():
    assert html.progress_text(1.0, False, 6.2) == "finishing · 6.2 s"
    assert html.progress_text(0.42, False, 3.1) == "42% · 3.1 s"
    assert html.progress_text(1.0, True, 6.2) == "6.2 s"


def test_terminal_wait_draws_one_line_and_ends_with_the_final_state():
    job = scripted_job(name="scan.png")
    stream = io.StringIO()
    with terminal.report(job, stream, force=True):
        job.provider.report(job, JobStatus.PROCESSING, progress=0.5)
        time.sleep(terminal.INTERVAL * 2.5)
        complete(job)
    text = stream.getvalue()
    assert "scan.png → pdf processing 50%" in text and text.endswith("scan.png → pdf completed · " +
                                                                      text.rsplit("completed · ", 1)[1])
    assert text.count("\n") == 1 and "\r" in text
    quiet = io.StringIO()  # not a terminal: nothing at all
    with terminal.report(job, quiet):
        pass
    assert quiet.getvalue() == ""


def test_pending_table_variable_says_what_to_do():
    from docconvert_nb.magics import PendingTable, TableNotReady

    job = scripted_job(name="prices.png")
    pending = PendingTable(job, "df")
    assert "df is not ready yet" in repr(pending) and "df.job.wait()" in repr(pending)
    with pytest.raises(TableNotReady, match="not ready yet"):
        pending.head()
    assert not hasattr(pending, "shape")
    fail(job, "no table found")
    assert "no table found" in repr(pending)


def test_job_progress_is_indeterminate_until_known_then_percent_rate_and_eta():
    from docconvert_nb.notebook.widgets import JobWidget, ProgressClock, progress_details

    job = scripted_job()
    view = JobWidget(job, interval=0)
    assert view.fraction == -1 and 'class="docconvert-indeterminate"' in view.bar.value  # queued: no fake share
    job.provider.start(job)
    assert view.fraction == -1 and "progress unknown" in view.bar.value
    job.provider.start(job, progress=0.25)
    assert view.fraction == 0.25 and 'class="docconvert-indeterminate"' not in view.bar.value and "25%" in view.bar.value
    complete(job)
    assert view.fraction == 1.0 and 'class="docconvert-indeterminate"' not in view.bar.value

    now = [0.0]
    clock = ProgressClock(lambda: now[0])
    assert clock.estimate(0.2) == (None, None)
    now[0] = 2.0
    rate, left = clock.estimate(0.6)
    assert rate == pytest.approx(0.2) and left == pytest.approx(2.0)
    assert progress_details(0.6, rate, left) == "60% · 20%/s · ~2.0 s left"


def test_wording_and_numbering_in_views():
    provider = ScriptedProvider()
    group = JobGroup([scripted_job(provider, name=f"p{n}.png") for n in range(3)], name="three")
    text = html.group_text(group)
    assert "#1 p0.png" in text and "#3 p2.png" in text  # numbered within the group, not the session
    snapshot = {**html.snapshot(group[0]), "message": "Converting with ocr_document.", "task": "ocr"}
    assert html.human_message(snapshot) == "Recognizing the text of p0.png (png → pdf)."
    local = {**snapshot, "message": JobStatus.QUEUED.description, "provider_name": "embedded"}
    assert "queue" not in html.human_message(local)


def test_group_actions_appear_once_they_apply():
    provider = ScriptedProvider()
    group = JobGroup([scripted_job(provider, name=f"scan {n}.png") for n in range(2)])
    view = JobGroupWidget(group, interval=0)
    shown = lambda part: part.layout.display != "none"  # noqa: E731
    assert shown(view.cancel_all) and not shown(view.save_all) and not shown(view.retry_failed)
    assert not shown(view.delete_all) and not shown(view.next_button)  # one page: no pager
    complete(group[0])
    fail(group[1])
    assert not shown(view.cancel_all) and shown(view.save_all) and shown(view.retry_failed) and shown(view.delete_all)


def test_outputs_saved_through_save_to_appear_on_the_card_with_links(tmp_path, monkeypatch):
    from .helpers import image_bytes

    monkeypatch.chdir(tmp_path)
    provider = ScriptedProvider()
    job = provider.wait_submitted(dc_convert(image_bytes(), provider, tmp_path / "results"))
    complete(job, pdf_output("scan.pdf"))
    assert job.saved == [tmp_path / "results" / "scan.pdf"]
    card = html.job_html(job)
    assert 'class="docconvert-open" href="results/scan.pdf"' in card and 'download="scan.pdf"' in card


def dc_convert(data, provider, save_to):
    import docconvert_nb as dc

    return dc.convert(data, to="pdf", provider=provider, name="scan.png", save_to=save_to)


def test_a_long_pdf_preview_says_how_to_see_every_page():
    from docconvert_nb import samples
    from docconvert_nb.previews.pages import pdf_preview

    data = samples.text_pages_pdf([f"page {n}" for n in range(1, 9)])
    preview = pdf_preview("long.pdf", data, pages=3)
    rendered = preview._repr_html_()
    assert "preview(pages=8) shows all 8" in rendered and "width: min(" in rendered


def test_a_displayed_card_closes_every_part_once_final(kernel_display, monkeypatch):
    from docconvert_nb.notebook import widgets

    made = []
    real = widgets.new_widget
    monkeypatch.setattr(widgets, "new_widget", lambda obj: made.append(real(obj)) or made[-1])
    job = scripted_job()
    notebook.display(job)
    [view] = made
    parts = [view.header, view.bar, view.action, view.outputs_box, view.save_dir]
    complete(job)
    assert view.comm is None and all(part.comm is None for part in parts)
    assert view.job is job and view._closed


def test_a_cached_job_says_so_on_its_card_and_row():
    job = scripted_job(name="again.png")
    complete(job)
    view = html.job_view({**html.snapshot(job), "cached": True})
    header = html.render("job_header.html.j2", job=view)
    assert "docconvert-status-cached" in header
    row = html.render("jobs_table.html.j2", jobs=[view])
    assert "from the cache" in row
    assert not html.job_view(html.snapshot(job))["cached"]  # without the key: not cached


def test_live_card_rows_link_saved_outputs(tmp_path, monkeypatch):
    from docconvert_nb.notebook.widgets import JobWidget

    monkeypatch.chdir(tmp_path)
    job = scripted_job()
    view = JobWidget(job, interval=0)
    complete(job, pdf_output("scan.pdf"))
    view.save_dir.value = "out"
    view.outputs_box.children[0].children[1].click()
    label = view.outputs_box.children[0].children[0].value
    assert 'href="out/scan.pdf"' in label and 'target="_blank"' in label


def test_saving_from_a_live_card_gives_every_card_of_the_job_its_link(kernel_display, tmp_path, monkeypatch):
    from docconvert_nb.notebook.widgets import JobWidget

    monkeypatch.chdir(tmp_path)
    job = scripted_job()
    complete(job, pdf_output("scan.pdf"))
    notebook.display(job)  # the static final card
    view = JobWidget(job, interval=0)  # a live card kept elsewhere
    view.save_dir.value = "kept"
    view.outputs_box.children[0].children[1].click()
    wait_for(lambda: 'href="kept/scan.pdf"' in kernel_display.sent[-1][0]["text/html"])
    assert kernel_display.sent[-1][2]  # an update of the card already shown


def test_group_progress_counts_running_jobs_share_when_all_report_it():
    progress = html.group_progress(total=4, finished=0, elapsed=10.0, partial=2.0)  # four jobs half done
    assert progress["percent"] == 50 and progress["eta"] == pytest.approx(10.0)
    assert "~10.0 s left" in progress["text"]
    assert html.group_progress(total=4, finished=0, elapsed=10.0)["eta"] is None  # unknown: no guess
    group = JobGroup([scripted_job(name=f"p{n}.png") for n in range(2)])
    for job in group:
        job.provider.start(job, progress=0.5)
    assert "50%" in html.group_text(group)
    silent = scripted_job(name="silent.png")  # a running job that never says how far it is
    silent.provider.start(silent)
    assert html._running_progress([*group.jobs, silent]) is None  # then done/total only


def test_group_bar_shows_the_running_share_when_known_else_animates():
    group = JobGroup([scripted_job(name=f"p{n}.png") for n in range(2)])
    view, _rows = html.group_view(group)
    assert view["running_percent"] is None
    assert 'class="docconvert-indeterminate"' in html.group_html(group)
    for job in group:
        job.provider.start(job, progress=0.5)
    view, _rows = html.group_view(group)
    assert view["running_percent"] == "50.00"
    assert 'class="docconvert-indeterminate"' not in html.group_html(group)
