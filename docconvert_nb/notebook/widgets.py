"""Live views: a card per job and a paginated table per group (ipywidgets 8).

A view subscribes with ``on_change`` and redraws through a
:class:`~docconvert_nb.notebook.throttle.Throttle` (≤ 4 redraws a second,
the last state always delivered), batching trait changes with
``hold_sync()``. Redraws run on the tracker's or the views' thread; trait
updates from threads are fine in ipywidgets, and nothing here calls
``display()`` (previews are written into an ``Output`` widget's
``outputs``).

A view follows its job for as long as it is open: the final state is drawn
at once (from the done callback), and later changes — deleted, expired,
downloaded again — are drawn too; only the elapsed-time ticking stops once
the job is final. Failure styling is sticky: a card that turned red stays red.

When a job or group is displayed by IPython, its output holds this live view
only while the work runs (see :mod:`.follow`); a view built with
:func:`~docconvert_nb.notebook.widget` stays live where you put it.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from pathlib import Path
from typing import Any, Callable

import ipywidgets as w
from traitlets import Float, Int, Unicode

from ..jobs import Job, JobGroup
from ..redact import mask_text
from ..status import JobStatus
from ..util import format_seconds, safe_filename
from . import html, settle
from .throttle import MIN_INTERVAL, Throttle, call_later

log = logging.getLogger(__name__)

#: While a job runs, its elapsed time is redrawn this often (seconds).
TICK_SECONDS = 1.0
#: A destructive button asks once more; the question stands this long (seconds).
CONFIRM_SECONDS = 5.0


def _bundle(obj: Any) -> dict[str, Any]:
    """A JSON-able display bundle of ``obj`` for an Output widget (HTML + text)."""
    if hasattr(obj, "_repr_mimebundle_"):
        data = obj._repr_mimebundle_() or {}
        if isinstance(data, tuple):
            data = data[0]
    else:
        data = {}
    bundle = {"text/plain": str(data.get("text/plain") or repr(obj))}
    html_text = data.get("text/html") or (obj._repr_html_() if hasattr(obj, "_repr_html_") else None)
    if html_text:
        bundle["text/html"] = html_text
    for key, value in data.items():
        if key.startswith("image/") or key == "application/vnd.jupyter.widget-view+json":
            bundle[key] = value
    return bundle


def _message_html(text: str, *, error: bool = False) -> str:
    colour = "var(--jp-error-color1, #c62828)" if error else "var(--jp-ui-font-color1, #222)"
    return html.render("message.html.j2", text=text, color=colour)


def _message_output(text: str, *, error: bool = False) -> dict[str, Any]:
    return {"output_type": "display_data", "data": {"text/plain": text, "text/html": _message_html(text, error=error)},
            "metadata": {}}


class ProgressClock:
    """Rate and time left of one job, from the progress it reported and when (like tqdm's ``[00:06<00:07]``)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._origin: tuple[float, float] | None = None

    def estimate(self, progress: float | None) -> tuple[float | None, float | None]:
        """``(fraction per second, seconds left)`` once two moments are known, else ``(None, None)``."""
        if progress is None:
            return None, None
        now = self._clock()
        if self._origin is None or progress < self._origin[1]:
            self._origin = (now, progress)
            return None, None
        since, first = self._origin
        if now <= since or progress <= first:
            return None, None
        rate = (progress - first) / (now - since)
        return rate, max(0.0, (1.0 - progress) / rate)


def progress_details(progress: float | None, rate: float | None, left: float | None) -> str:
    """``"42% · 7%/s · ~8.1 s left"``; ``"progress unknown"`` without a fraction."""
    if progress is None:
        return "progress unknown"
    parts = [f"{min(progress, 1.0):.0%}"]
    if rate is not None:
        parts.append(f"{100 * rate:.2g}%/s")
    if left is not None:
        parts.append(f"~{format_seconds(left)} left")
    return " · ".join(parts)


class _Confirm:
    """A button that does its job on the second click within ``CONFIRM_SECONDS``."""

    def __init__(self, button: w.Button, question: str):
        self.button = button
        self.question = question
        self._asked_at: float | None = None
        self._label = button.description
        self._style = button.button_style

    def confirmed(self) -> bool:
        now = time.monotonic()
        if self._asked_at is not None and now - self._asked_at <= CONFIRM_SECONDS:
            self.reset()
            return True
        self._asked_at = now
        self._label, self._style = self.button.description, self.button.button_style
        self.button.description, self.button.button_style = self.question, "danger"
        call_later(CONFIRM_SECONDS, self._expire)
        return False

    def _expire(self) -> None:
        if self._asked_at is not None and time.monotonic() - self._asked_at >= CONFIRM_SECONDS - 0.05:
            self.reset()

    def reset(self) -> None:
        if self._asked_at is not None:
            self._asked_at = None
            self.button.description, self.button.button_style = self._label, self._style

    @property
    def asking(self) -> bool:
        return self._asked_at is not None


class _LiveView:
    """The life of a live view: while unfinished it redraws itself every ``TICK_SECONDS``
    (elapsed time moves on between changes; at most one tick pending). A state drawn off
    the main thread once the work is final is sent again after the next cell (see :mod:`.settle`).

    A view provides ``refresh()``, ``_draw_current()`` and ``_synced_parts()``.
    """

    _lock: threading.RLock
    _final: bool
    _closed: bool
    _tick_pending: bool

    def _after_draw(self, final: bool) -> None:
        if final:
            settle.after_next_cell(self, self._replay)
        else:
            self._schedule_tick()

    def _replay(self) -> None:
        with self._lock:
            if self.comm is None:  # closed meanwhile
                return
            self._draw_current(rebuild=True)
        for part in self._synced_parts():
            if part.comm is not None:
                part.send_state()

    def _schedule_tick(self) -> None:
        with self._lock:
            if self._tick_pending:
                return
            self._tick_pending = True
        call_later(TICK_SECONDS, self._tick)

    def _tick(self) -> None:
        with self._lock:
            self._tick_pending = False
        if not self._final and not self._closed and self.comm is not None:
            self.refresh()


class JobWidget(_LiveView, w.VBox):
    """A compact live card for one :class:`~docconvert_nb.jobs.Job`.

    ``status``, ``badge_style`` and ``fraction`` (the bar's share, -1 while
    unknown) mirror what the card shows (handy in tests and code); the parts
    are attributes: ``header`` (HTML), ``bar`` (HTML progress with rate and
    time left), ``outputs_box`` (one row per output with links, Save and
    Preview), ``save_dir`` (folder for Save), ``action`` (Cancel, or Delete
    with a confirming second click), ``messages`` (errors and warnings),
    ``notes`` (what a button did), ``output_area`` (previews).
    """

    status = Unicode(help="the job's status as shown").tag(sync=False)
    badge_style = Unicode(help="ipywidgets style of the status: info, success, danger, warning or ''").tag(sync=False)
    fraction = Float(-1.0, help="the bar's share from 0 to 1, or -1 while progress is unknown").tag(sync=False)
    redraws = Int(0, help="redraws so far").tag(sync=False)

    def __init__(self, job: Job, *, interval: float = MIN_INTERVAL, **kwargs):
        self.job = job
        self.header = w.HTML(layout=w.Layout(width="auto", min_width="0"))
        self.bar = w.HTML(layout=w.Layout(width="auto"))
        self.action = w.Button(layout=w.Layout(width="auto", flex="0 0 auto"))
        self.action.on_click(self._on_action)
        self._confirm_delete = _Confirm(self.action, "Click again to delete")
        self.save_dir = w.Text(value=str(job.save_to or "."), description="save to", layout=w.Layout(width="260px"),
                               style={"description_width": "initial"})
        self.outputs_box = w.VBox()
        self.messages = w.HTML()
        self.notes = w.HTML()
        self.output_area = w.Output(layout=w.Layout(max_width="100%", overflow="auto"))
        self._rows_key: tuple | None = None
        self._failed = False
        self._busy = ""
        self._shown_status: str | None = None
        self._clock = ProgressClock()
        #: The thread running the last Cancel/Delete click (tests and callers may join it).
        self.action_thread: threading.Thread | None = None
        self._final = False
        self._closed = False
        self._tick_pending = False
        self._lock = threading.RLock()
        self._throttle = Throttle(self.refresh, interval)
        super().__init__(
            children=[self.header, w.HBox([w.Box([self.bar], layout=w.Layout(flex="1 1 auto", min_width="0")),
                                           self.action], layout=w.Layout(align_items="center", width="auto")),
                      self.outputs_box, self.messages, self.notes, self.output_area],
            # width 100%: a long nowrap header must shorten with an ellipsis, not widen the card past the output
            layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)", padding="4px 8px", max_width="900px",
                            width="100%", min_width="0"),
            **kwargs,
        )
        self.add_class("docconvert-job-widget")
        self._unsubscribe = job.on_change(lambda _job: self._throttle.trigger())
        # The final state is drawn at once: before wait()/await return, in the cell that waits.
        job.add_done_callback(lambda _job: self._throttle.trigger(now=True))
        self.refresh()

    def __repr__(self) -> str:
        return repr(self.job)

    # -- drawing -------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Redraw from the job's current snapshot (called by the throttle and the ticker)."""
        with self._lock:
            if self._closed:
                return
            finished = self.job.finished  # read first: the snapshot below is then at least as new
            snapshot = html.snapshot(self.job)
            self._draw(html.job_view(snapshot))
            final = self._final = finished and snapshot["terminal"]
        self._after_draw(final)

    def _draw_current(self, rebuild: bool = False) -> None:
        if rebuild:
            self._rows_key = None  # the rows are rebuilt, so they are opened again too
        self._draw(html.job_view(html.snapshot(self.job)))

    def _synced_parts(self) -> tuple[w.Widget, ...]:
        return (self.header, self.bar, self.action, self.messages, self.notes, self.outputs_box)

    def _draw(self, view: dict[str, Any]) -> None:
        status = view["status"]
        self._failed = self._failed or status in (JobStatus.FAILED.value, JobStatus.CANCELED.value)
        style = view["bar_style"]
        bar = dict(view["bar"])
        if self._failed and style == "":  # deleted/expired after failing: keep the failure visible
            style = self.badge_style or "danger"
        if view["terminal"]:
            fraction = 1.0
            details = view["message"] if status != JobStatus.COMPLETED.value else ""
        elif bar["indeterminate"]:
            fraction, details = -1.0, "waiting" if status != JobStatus.PROCESSING.value else "progress unknown"
        else:
            fraction = view["progress"]
            details = progress_details(fraction, *self._clock.estimate(fraction))
        status_changed = self._shown_status is not None and status != self._shown_status
        with self.hold_sync():
            self.badge_style = style
            self.redraws += 1
            self.header.value = html.render("job_header.html.j2", job=view)
            self.bar.value = html.render("live_bar.html.j2", bar=bar, details=details)
            self.fraction = fraction
            self._draw_action()
            self.messages.value = html.render("messages.html.j2", job=view)
            if status_changed:  # what a button said belongs to the old state
                self.notes.value = ""
            self._draw_outputs(view)
            self._shown_status = status
            # Last, so whoever watches `status` (observers, tests) sees the card already drawn.
            self.status = status

    def _draw_action(self) -> None:
        job = self.job
        if not job.status.is_terminal:
            self._confirm_delete.reset()
            self.action.description = self._busy or "Cancel"
            self.action.icon = "stop"
            self.action.button_style = ""
            self.action.disabled = bool(self._busy) or not (job.provider.can_cancel and job.id)
            self.action.tooltip = ("stop the job at the provider" if job.provider.can_cancel
                                   else f"{job.provider.label or job.provider.name} cannot cancel running jobs")
        elif not self._confirm_delete.asking:
            gone = job.status.is_gone
            self.action.description = self._busy or ("Deleted" if job.status == JobStatus.DELETED else
                                                     "Expired" if job.status == JobStatus.EXPIRED else "Delete")
            self.action.icon = "trash"
            self.action.button_style = ""
            self.action.disabled = bool(self._busy) or gone
            self.action.tooltip = ("results are gone" if gone
                                   else "delete the job and its results at the provider (asks once more)")

    def _draw_outputs(self, view: dict[str, Any]) -> None:
        # Rows, and the key that says they are current, come from one read of the job's outputs:
        # the job's snapshot in `view` may be older than the list (the tracker runs meanwhile).
        outputs = self.job.outputs[: html.MAX_OUTPUTS]
        saved = [Path(p) for p in list(self.job.saved)]
        key = tuple((o.name, o.availability) for o in outputs) + (len(saved),)
        if key == self._rows_key:
            return
        self._rows_key = key
        for row in self.outputs_box.children:
            if row is not self.save_dir:  # the replaced rows (the folder box is kept)
                for part in (*getattr(row, "children", ()), row):
                    part.close()
        rows = []
        for out in outputs:
            label = w.HTML(html.render("output_row.html.j2", out=html.output_view(out.to_dict(), saved)),
                           layout=w.Layout(min_width="0", overflow="hidden"))
            save = w.Button(description="Save", icon="download", layout=w.Layout(width="auto", flex="0 0 auto"),
                            disabled=not out.available, tooltip="save into the folder named in 'save to'")
            show = w.Button(description="Preview", icon="eye", layout=w.Layout(width="auto", flex="0 0 auto"),
                            disabled=not out.available)
            save.on_click(lambda _b, out=out: self.save_output(out))
            show.on_click(lambda _b, out=out: self.preview_output(out))
            rows.append(w.HBox([label, save, show], layout=w.Layout(align_items="center")))
        if view["outputs_more"]:
            rows.append(w.HTML(f"shown {len(outputs)} of {view['outputs_total']} outputs"))
        if rows:
            rows.append(self.save_dir)
        self.outputs_box.children = rows
        if not any(o.available for o in outputs) and outputs:
            self.output_area.outputs = ()  # a preview of results that are gone would mislead

    # -- actions (run on the kernel's main thread, from button clicks) -------------------------
    def save_output(self, out) -> Path | None:
        """Save one output into the folder in ``save_dir``; say where (with links) or why not, above any preview."""
        folder = self.save_dir.value.strip() or "."
        try:
            [path] = self.job.save(folder, overwrite=True, outputs=[out])  # every view of the job gains the link
        except Exception as exc:
            self.notes.value = _message_html(f"Could not save {out.name}: {mask_text(str(exc))}", error=True)
            return None
        self.notes.value = _message_html(f"Saved {out.name} to {path}")
        self._throttle.trigger(now=True)
        return path

    def preview_output(self, out) -> None:
        """Show ``out.preview()`` below the card, or say clearly why it cannot be shown."""
        try:
            bundle = _bundle(_preview_of(self.job, out))
        except Exception as exc:
            self.output_area.outputs = (
                _message_output(f"No preview of {out.name}: {type(exc).__name__}: {mask_text(str(exc))}", error=True),)
            return
        self.output_area.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def _on_action(self, _button=None) -> None:
        """Cancel (while running) or delete (once final, on a second click) the job, off the kernel's main thread.

        A cloud provider's DELETE can take as long as its HTTP timeout; running it
        here would freeze the kernel's comm handling, so the card says
        "Canceling…"/"Deleting…" at once and the request runs in ``action_thread``.
        """
        if self._busy:
            return
        job = self.job
        verb = "cancel" if not job.status.is_terminal else "delete"
        if verb == "delete" and not self._confirm_delete.confirmed():
            return
        self._busy = "Canceling…" if verb == "cancel" else "Deleting…"
        self._draw_action()
        self.action_thread = threading.Thread(
            target=self._run_action, args=(verb,), name=f"docconvert-{verb}-{job.id}", daemon=True)
        self.action_thread.start()

    def confirm_and_delete(self) -> None:
        """Click Delete twice (what a user does to delete from the card)."""
        self._on_action()
        if self._confirm_delete.asking:
            self._on_action()

    def _run_action(self, verb: str) -> None:
        job = self.job
        try:
            job.cancel() if verb == "cancel" else job.delete()
        except Exception as exc:
            self.notes.value = _message_html(f"Could not {verb} the job: {mask_text(str(exc))}", error=True)
        finally:
            self._busy = ""
        with self._lock:
            self._draw_action()  # the job may not have changed (the call failed): re-enable the button
        self._throttle.trigger(now=True)

    def close(self) -> None:
        """Stop following the job and close the card with every part (no model left behind)."""
        self._closed = True
        self._unsubscribe()
        _close_parts(self)
        super().close()


def _close_parts(box: w.Widget) -> None:
    """Close every widget inside ``box`` (ipywidgets closes only the one it is asked to)."""
    for child in list(getattr(box, "children", ())):
        _close_parts(child)
        child.close()


def _preview_of(job: Job, out):
    """``out.preview()``; word boxes (hOCR, Tesseract TSV) are drawn over the job's own source page."""
    name = out.name.lower()
    if name.endswith((".hocr", ".hocr.html", ".tsv")) or out.format in ("hocr", "tsv"):
        try:
            source = job.request.source.read_bytes()
        except OSError:  # the source file moved: boxes without the page
            source = None
        if source is not None:
            return out.preview(image=source)
    return out.preview()


class JobGroupWidget(_LiveView, w.VBox):
    """A live view of a :class:`~docconvert_nb.jobs.JobGroup` of any size.

    Aggregate progress (``bar``: a green/red split with done/total, percent,
    rate and time left), counts per state (``header``), the group actions
    (``cancel_all``, ``save_all``, ``retry_failed``, ``delete_all``), and one
    HTML table (``table``) showing ``page_size`` jobs of the current page,
    filtered by ``show``. ``open_job`` opens one row's card in ``details``.
    A thousand jobs cost one table of twenty rows per redraw, never a
    thousand widgets.
    """

    status = Unicode(help="the group's summary as shown").tag(sync=False)
    page = Int(0, help="current page, from 0").tag(sync=False)
    finished_count = Int(0, help="finished jobs as shown").tag(sync=False)
    redraws = Int(0, help="redraws so far").tag(sync=False)

    FILTERS = {
        "all": None,
        "running": (JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.PROCESSING),
        "completed": (JobStatus.COMPLETED,),
        "failed": (JobStatus.FAILED, JobStatus.CANCELED),
        "gone": (JobStatus.EXPIRED, JobStatus.DELETED),
    }

    def __init__(self, group: JobGroup, *, page_size: int = html.GROUP_ROWS, interval: float = MIN_INTERVAL, **kwargs):
        self.group = group
        self.page_size = page_size
        self.header = w.HTML(layout=w.Layout(width="auto", min_width="0"))
        self.bar = w.HTML(layout=w.Layout(width="auto"))
        def button(**options) -> w.Button:  # each its own Layout: they are shown and hidden one by one
            return w.Button(layout=w.Layout(width="auto", flex="0 0 auto"), **options)

        self.cancel_all = button(description="Cancel all", icon="stop", tooltip="stop every running job")
        self.save_all = button(description="Save all", icon="download",
                               tooltip="save the outputs of every completed job into the 'save to' folder")
        self.retry_failed = button(description="Retry failed", icon="redo",
                                   tooltip="submit the failed and canceled jobs again, as a new group")
        self.delete_all = button(description="Delete all", icon="trash",
                                 tooltip="delete every finished job and its results (asks once more)")
        self._confirm_delete = _Confirm(self.delete_all, "Click again to delete all")
        self.cancel_all.on_click(lambda _b: self._in_background("cancel", self.group.cancel))
        self.save_all.on_click(lambda _b: self.save_outputs())
        self.retry_failed.on_click(lambda _b: self.retry())
        self.delete_all.on_click(self._on_delete_all)
        self.save_dir = w.Text(value=_default_folder(group), description="save to", layout=w.Layout(width="200px"),
                               style={"description_width": "initial"})
        self.show = w.Dropdown(options=list(self.FILTERS), value="all", description="show",
                               layout=w.Layout(width="130px"), style={"description_width": "initial"})
        self.prev_button = w.Button(description="◀", tooltip="previous page", layout=w.Layout(width="auto"))
        self.next_button = w.Button(description="▶", tooltip="next page", layout=w.Layout(width="auto"))
        self.page_label = w.Label(layout=w.Layout(min_width="0"))
        self.table = w.HTML(layout=w.Layout(width="auto", min_width="0"))
        self.open_job = w.Dropdown(options=[("—", -1)], value=-1, description="open",
                                   layout=w.Layout(width="200px"), style={"description_width": "initial"})
        self.details = w.HTML(layout=w.Layout(width="auto"))
        self.notes = w.HTML()
        self.retry_area = w.Output()
        self.prev_button.on_click(lambda _b: self.go_to(self.page - 1))
        self.next_button.on_click(lambda _b: self.go_to(self.page + 1))
        self.show.observe(lambda _change: self.go_to(0), names="value")
        self.open_job.observe(lambda _change: self._draw_details(), names="value")
        #: The last background action (tests and callers may join it).
        self.action_thread: threading.Thread | None = None
        self._busy = False
        self._failed = False
        self._final = False
        self._closed = False
        self._tick_pending = False
        self._lock = threading.RLock()
        self._throttle = Throttle(self.refresh, interval)
        wrap = w.Layout(flex_flow="row wrap", align_items="center", width="auto")
        super().__init__(
            children=[
                self.header,
                self.bar,
                w.HBox([self.cancel_all, self.save_all, self.retry_failed, self.delete_all, self.save_dir], layout=wrap),
                self.notes,
                w.HBox([self.show, self.prev_button, self.page_label, self.next_button, self.open_job], layout=wrap),
                self.table,
                self.details,
                self.retry_area,
            ],
            layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)", padding="4px 8px", max_width="1000px",
                            width="100%", min_width="0"),
            **kwargs,
        )
        self.add_class("docconvert-group-widget")
        self._unsubscribe = group.on_change(lambda _group, _job: self._throttle.trigger())
        group.add_done_callback(lambda _group: self._throttle.trigger(now=True))
        self.refresh()

    def __repr__(self) -> str:
        return repr(self.group)

    def _page_of(self, page: int) -> tuple[list[Job], int, int]:
        """The jobs shown on ``page`` (clamped), the page, and how many jobs the filter keeps:
        from the group's tally, so a redraw never walks every job."""
        states = self.FILTERS[self.show.value]
        total = len(self.group.jobs) if states is None else self.group._page_in(states, 0, 0)[1]
        pages = max(1, -(-total // self.page_size))
        page = min(page, pages - 1)
        start, stop = page * self.page_size, (page + 1) * self.page_size
        if states is None:
            return self.group.jobs[start:stop], page, total
        shown, total = self.group._page_in(states, start, stop)
        return shown, page, total

    def go_to(self, page: int) -> None:
        """Show page ``page`` (clamped to the pages that exist)."""
        with self._lock:
            self.page = max(0, page)
            self._draw()

    def refresh(self) -> None:
        """Redraw counts, bar and the current page (throttled by the caller)."""
        with self._lock:
            if self._closed:
                return
            final = self.group.finished_all  # read first: the page drawn below is then the final one
            self._draw()
            self._final = final
        self._after_draw(final)

    def _draw_current(self, rebuild: bool = False) -> None:
        self._draw()

    def _synced_parts(self) -> tuple[w.Widget, ...]:
        return (self.header, self.bar, self.page_label, self.prev_button, self.next_button, self.table,
                self.details, self.open_job, self.cancel_all, self.save_all, self.retry_failed, self.delete_all)

    def _draw(self) -> None:
        shown, page, filtered = self._page_of(self.page)
        pages = max(1, -(-filtered // self.page_size))
        view, rows = html.group_view(self.group, shown)
        counts = view["counts"]
        failed = bool(counts.get(JobStatus.FAILED.value) or counts.get(JobStatus.CANCELED.value))
        self._failed = self._failed or failed
        completed = counts.get(JobStatus.COMPLETED.value, 0)
        with self.hold_sync():
            self.page = page
            self.redraws += 1
            self.status = self.group.summary(view)
            self.header.value = html.render("group_header.html.j2", group=view)
            self.bar.value = html.render("live_split_bar.html.j2", group=view)
            self.finished_count = view["finished"]
            first = page * self.page_size + 1 if shown else 0
            self.page_label.value = f"{first}–{first + len(shown) - 1 if shown else 0} of {filtered}"
            self.prev_button.disabled = page == 0
            self.next_button.disabled = page >= pages - 1
            self.table.value = html.render("jobs_table.html.j2", jobs=rows) if rows else html.render(
                "message.html.j2", text="no jobs to show", color="var(--jp-ui-font-color2, #666)")
            # An action appears once it can apply (a narrow notebook has no room for idle buttons).
            cancelable = view["cancelable"] > 0
            deletable = any(counts.get(s.value) for s in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED))
            _show(self.cancel_all, not view["done"])
            _show(self.save_all, completed)
            _show(self.save_dir, completed)
            _show(self.retry_failed, failed)
            _show(self.delete_all, deletable or self._confirm_delete.asking)
            self.cancel_all.disabled = self._busy or not cancelable
            self.save_all.disabled = self._busy or not completed
            self.retry_failed.disabled = self._busy or not failed
            if not self._confirm_delete.asking:
                self.delete_all.disabled = self._busy or not deletable
            for part in (self.prev_button, self.page_label, self.next_button):
                _show(part, pages > 1)
            options = [("—", -1)] + [(f"#{row['position']} {html.shorten(row['source'], 40)}", row["position"] - 1)
                                     for row in rows]
            if self.open_job.value not in [value for _label, value in options]:
                options.append((f"#{self.open_job.value + 1}", self.open_job.value))
            self.open_job.options = options
            self._draw_details()

    def _draw_details(self) -> None:
        index = self.open_job.value
        if index is None or index < 0 or index >= len(self.group.jobs):
            self.details.value = ""
            return
        self.details.value = html.job_html(self.group.jobs[index])

    def show_job(self, position: int) -> None:
        """Open the card of the job at ``position`` (1 = the group's first job) under the table."""
        with self._lock:
            job_index = position - 1
            if not 0 <= job_index < len(self.group.jobs):
                raise IndexError(f"the group has {len(self.group.jobs)} jobs; there is no #{position}")
            self.go_to(job_index // self.page_size if self.show.value == "all" else self.page)
            self.open_job.value = job_index

    # -- actions -----------------------------------------------------------------------------------
    def save_outputs(self) -> list[Path]:
        """Save every completed job's outputs into the 'save to' folder; say how many and where."""
        folder = self.save_dir.value.strip() or "."
        try:
            paths = self.group.save(folder, overwrite=True)
        except Exception as exc:
            self.notes.value = _message_html(f"Could not save the outputs: {mask_text(str(exc))}", error=True)
            return []
        self.notes.value = _message_html(f"Saved {len(paths)} file(s) to {folder}" if paths else "Nothing to save yet")
        self.refresh()
        return paths

    def retry(self) -> JobGroup | None:
        """Submit the failed jobs again as a new group, shown live below the table."""
        try:
            again = self.group.retry_failed()
        except Exception as exc:
            self.notes.value = _message_html(f"Could not retry: {mask_text(str(exc))}", error=True)
            return None
        if not len(again):
            self.notes.value = _message_html("No failed jobs to retry")
            return again
        self.notes.value = _message_html(f"Retrying {len(again)} job(s): see the new group below")
        view = widget_for(again)
        self.retry_area.outputs = ({"output_type": "display_data", "metadata": {},
                                    "data": {"text/plain": repr(again), **view._repr_mimebundle_()}},)
        return again

    def _on_delete_all(self, _button=None) -> None:
        if self._confirm_delete.confirmed():
            self._in_background("delete", self.group.delete)

    def _in_background(self, verb: str, action: Callable[[], Any]) -> None:
        if self._busy:
            return
        self._busy = True
        self.refresh()

        def run() -> None:
            try:
                action()
            except Exception as exc:
                self.notes.value = _message_html(f"Could not {verb} every job: {mask_text(str(exc))}", error=True)
            finally:
                self._busy = False
                self._throttle.trigger(now=True)

        self.action_thread = threading.Thread(target=run, name=f"docconvert-group-{verb}", daemon=True)
        self.action_thread.start()

    def close(self) -> None:
        """Stop following the group and close the view with every part."""
        self._closed = True
        self._unsubscribe()
        _close_parts(self)
        super().close()


def _show(widget: w.Widget, visible) -> None:
    widget.layout.display = None if visible else "none"


def _default_folder(group: JobGroup) -> str:
    folders = {job.save_to for job in group.jobs if job.save_to}
    if len(folders) == 1:
        return str(folders.pop())
    return safe_filename(group.name) if group.name else "outputs"


_widgets: "weakref.WeakKeyDictionary[object, w.Widget]" = weakref.WeakKeyDictionary()
_widgets_lock = threading.Lock()


def new_widget(obj: Job | JobGroup) -> JobWidget | JobGroupWidget:
    """A new live widget of a job or group (each displayed output gets its own, closed once final)."""
    return JobWidget(obj) if isinstance(obj, Job) else JobGroupWidget(obj)


def widget_for(obj: Job | JobGroup) -> JobWidget | JobGroupWidget:
    """The live widget of a job or group to embed yourself; asking twice gives the same one."""
    with _widgets_lock:
        widget = _widgets.get(obj)
        if widget is None or widget.comm is None:
            widget = new_widget(obj)
            _widgets[obj] = widget
        return widget
