"""Live views: a card per job and a paginated table per group (ipywidgets 8).

A view subscribes with ``on_change`` and redraws through a
:class:`~docconvert_nb.notebook.throttle.Throttle` (≤ 4 redraws a second,
the last state always delivered), batching trait changes with
``hold_sync()``. Redraws run on the tracker's or the views' thread; trait
updates from threads are fine in ipywidgets, and nothing here calls
``display()`` (previews are written into an ``Output`` widget's
``outputs``). Once the job (or every job of the group) is final the view
unsubscribes and stops ticking. Failure styling is sticky: a bar that
turned "danger" never goes back.
"""

from __future__ import annotations

import logging
import threading
import weakref
from pathlib import Path
from typing import Any, Callable

import ipywidgets as w
from traitlets import Int, Unicode

from ..jobs import Job, JobGroup
from ..redact import mask_text
from ..status import JobStatus
from . import html, settle
from .throttle import MIN_INTERVAL, Throttle, call_later

log = logging.getLogger(__name__)

#: While a job runs, its elapsed time is redrawn this often (seconds).
TICK_SECONDS = 1.0


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
    return bundle


def _message_output(text: str, *, error: bool = False) -> dict[str, Any]:
    colour = "var(--jp-error-color1, #c62828)" if error else "var(--jp-ui-font-color1, #222)"
    markup = html.render("message.html.j2", text=text, color=colour)
    return {"output_type": "display_data", "data": {"text/plain": text, "text/html": markup}, "metadata": {}}


class _LiveView:
    """The life of a live view: while unfinished it redraws itself every ``TICK_SECONDS``
    (elapsed time moves on between changes; at most one tick pending); once it has drawn
    the final state it stops listening, and that state is sent again after the next cell
    when it was drawn off the main thread (see :mod:`.settle`).

    A view provides ``refresh()``, ``_redraw_final()`` and ``_synced_parts()``.
    """

    _lock: threading.Lock
    _finished: bool
    _tick_pending: bool
    _unsubscribe: Callable[[], None]

    def _after_draw(self, final: bool) -> None:
        if final:
            self._unsubscribe()
            settle.after_next_cell(self, self._replay)
        else:
            self._schedule_tick()

    def _replay(self) -> None:
        with self._lock:
            if self.comm is None:  # closed meanwhile
                return
            self._redraw_final()
        for part in self._synced_parts():
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
        if not self._finished and self.comm is not None:
            self.refresh()


class JobWidget(_LiveView, w.VBox):
    """A compact live card for one :class:`~docconvert_nb.jobs.Job`.

    ``status`` and ``badge_style`` mirror what the card shows (handy in
    tests and code); the parts are attributes: ``header`` (HTML), ``bar``
    (progress), ``outputs_box`` (one row per output with Save/Preview),
    ``save_dir`` (folder for Save), ``action`` (Cancel/Delete),
    ``messages`` (errors and warnings), ``output_area`` (previews, notes).
    """

    status = Unicode(help="the job's status as shown").tag(sync=False)
    badge_style = Unicode(help="ipywidgets style of the status: info, success, danger, warning or ''").tag(sync=False)
    redraws = Int(0, help="redraws so far").tag(sync=False)

    def __init__(self, job: Job, *, interval: float = MIN_INTERVAL, **kwargs):
        self.job = job
        self.header = w.HTML()
        self.bar = w.FloatProgress(min=0.0, max=1.0, value=0.0, layout=w.Layout(width="240px", height="14px"))
        self.action = w.Button(layout=w.Layout(width="auto"))
        self.action.on_click(self._on_action)
        self.save_dir = w.Text(value=".", description="save to", layout=w.Layout(width="260px"),
                               style={"description_width": "initial"})
        self.outputs_box = w.VBox()
        self.messages = w.HTML()
        self.output_area = w.Output()
        self._rows_key: tuple | None = None
        self._failed = False
        self._busy = ""
        #: The thread running the last Cancel/Delete click (tests and callers may join it).
        self.action_thread: threading.Thread | None = None
        self._finished = False
        self._tick_pending = False
        self._lock = threading.Lock()
        self._throttle = Throttle(self.refresh, interval)
        super().__init__(
            children=[self.header, w.HBox([self.bar, self.action]), self.outputs_box, self.messages, self.output_area],
            layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)", padding="4px 8px", max_width="900px"),
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
            if self._finished:
                return
            finished = self.job.finished  # read first: the snapshot below is then at least as new
            snapshot = self.job.to_dict()
            self._draw(html.job_view(snapshot))
            final = self._finished = finished and snapshot["terminal"]
        self._after_draw(final)

    def _redraw_final(self) -> None:
        self._rows_key = None  # the rows are rebuilt, so they are opened again too
        self._draw(html.job_view(self.job.to_dict()))

    def _synced_parts(self) -> tuple[w.Widget, ...]:
        return (self.header, self.bar, self.action, self.messages, self.outputs_box)

    def _draw(self, view: dict[str, Any]) -> None:
        status = view["status"]
        self._failed = self._failed or status in (JobStatus.FAILED.value, JobStatus.CANCELED.value)
        style = view["bar_style"]
        if self._failed and style == "":  # deleted/expired after failing: keep the failure visible
            style = self.badge_style or "danger"
        if status == JobStatus.PROCESSING.value and view["progress"] is None:
            value = 0.5  # running, progress unknown: half a bar, labelled "processing"
        else:
            value = 1.0 if view["terminal"] else (view["progress"] or 0.0)
        with self.hold_sync(), self.bar.hold_sync(), self.action.hold_sync():
            self.badge_style = style
            self.redraws += 1
            self.header.value = html.render("job_header.html.j2", job=view)
            self.bar.value = value
            self.bar.bar_style = style
            self._draw_action()
            self.messages.value = html.render("messages.html.j2", job=view)
            self._draw_outputs(view)
            # Last, so whoever watches `status` (observers, tests) sees the card already drawn.
            self.status = status

    def _draw_action(self) -> None:
        job = self.job
        if not job.status.is_terminal:
            self.action.description = self._busy or "Cancel"
            self.action.icon = "stop"
            self.action.disabled = bool(self._busy) or not (job.provider.can_cancel and job.id)
            self.action.tooltip = ("stop the job at the provider" if job.provider.can_cancel
                                   else f"{job.provider.label or job.provider.name} cannot cancel running jobs")
        else:
            gone = job.status.is_gone
            self.action.description = self._busy or ("Deleted" if job.status == JobStatus.DELETED else "Delete")
            self.action.icon = "trash"
            self.action.disabled = bool(self._busy) or gone
            self.action.tooltip = "results are gone" if gone else "delete the job and its results at the provider"

    def _draw_outputs(self, view: dict[str, Any]) -> None:
        # Rows, and the key that says they are current, come from one read of the job's outputs:
        # the job's snapshot in `view` may be older than the list (the tracker runs meanwhile).
        outputs = self.job.outputs[: html.MAX_OUTPUTS]
        key = tuple((o.name, o.availability) for o in outputs)
        if key == self._rows_key:
            return
        self._rows_key = key
        for row in self.outputs_box.children:
            if row is not self.save_dir:  # the replaced rows (the folder box is kept)
                for part in (*row.children, row):
                    part.close()
        rows = []
        for out in outputs:
            label = w.HTML(html.render("output_row.html.j2", out=html.output_view(out.to_dict())))
            save = w.Button(description="Save", icon="download", layout=w.Layout(width="auto"),
                            disabled=not out.available, tooltip="save into the folder named in 'save to'")
            show = w.Button(description="Preview", icon="eye", layout=w.Layout(width="auto"),
                            disabled=not out.available)
            save.on_click(lambda _b, out=out: self.save_output(out))
            show.on_click(lambda _b, out=out: self.preview_output(out))
            rows.append(w.HBox([label, save, show]))
        if view["outputs_more"]:
            rows.append(w.HTML(f"shown {len(outputs)} of {view['outputs_total']} outputs"))
        if rows:
            rows.append(self.save_dir)
        self.outputs_box.children = rows

    # -- actions (run on the kernel's main thread, from button clicks) -------------------------
    def save_output(self, out) -> Path | None:
        """Save one output into the folder in ``save_dir``; report the path or the error below."""
        folder = self.save_dir.value.strip() or "."
        try:
            path = out.save(folder, overwrite=True)
        except Exception as exc:
            self.output_area.outputs = (_message_output(f"Could not save {out.name}: {mask_text(str(exc))}", error=True),)
            return None
        self.output_area.outputs = (_message_output(f"Saved {out.name} to {path}"),)
        return path

    def preview_output(self, out) -> None:
        """Show ``out.preview()`` below the card, or say clearly why it cannot be shown."""
        try:
            bundle = _bundle(out.preview())
        except Exception as exc:
            self.output_area.outputs = (
                _message_output(f"No preview of {out.name}: {type(exc).__name__}: {mask_text(str(exc))}", error=True),)
            return
        self.output_area.outputs = ({"output_type": "display_data", "data": bundle, "metadata": {}},)

    def _on_action(self, _button=None) -> None:
        """Cancel (while running) or delete (once final) the job, off the kernel's main thread.

        A cloud provider's DELETE can take as long as its HTTP timeout; running it
        here would freeze the kernel's comm handling, so the card says
        "Canceling…"/"Deleting…" at once and the request runs in ``action_thread``.
        """
        if self._busy:
            return
        job = self.job
        verb = "cancel" if not job.status.is_terminal else "delete"
        self._busy = "Canceling…" if verb == "cancel" else "Deleting…"
        self._draw_action()
        self.action_thread = threading.Thread(
            target=self._run_action, args=(verb,), name=f"docconvert-{verb}-{job.id}", daemon=True)
        self.action_thread.start()

    def _run_action(self, verb: str) -> None:
        job = self.job
        try:
            job.cancel() if verb == "cancel" else job.delete()
        except Exception as exc:
            self.output_area.outputs = (_message_output(f"Could not {verb} the job: {mask_text(str(exc))}", error=True),)
        finally:
            self._busy = ""
        with self._lock:
            if self._finished:  # already terminal before the click: redraw once for the new state
                self._draw(html.job_view(job.to_dict()))
            else:
                self._draw_action()  # the job did not change (the call failed): re-enable the button
        self._throttle.trigger()

    def close(self) -> None:
        self._finished = True
        self._unsubscribe()
        super().close()


class JobGroupWidget(_LiveView, w.VBox):
    """A live view of a :class:`~docconvert_nb.jobs.JobGroup` of any size.

    Aggregate progress (``bar``: finished of total), counts per state
    (``header``), and one HTML table (``table``) showing ``page_size`` jobs
    of the current page, filtered by ``show``. A thousand jobs cost one
    table of twenty rows per redraw, never a thousand widgets.
    """

    status = Unicode(help="the group's summary as shown").tag(sync=False)
    page = Int(0, help="current page, from 0").tag(sync=False)
    redraws = Int(0, help="redraws so far").tag(sync=False)

    FILTERS = {
        "all": None,
        "running": (JobStatus.SUBMITTING, JobStatus.QUEUED, JobStatus.PROCESSING),
        "completed": (JobStatus.COMPLETED,),
        "failed": (JobStatus.FAILED, JobStatus.CANCELED),
    }

    def __init__(self, group: JobGroup, *, page_size: int = html.GROUP_ROWS, interval: float = MIN_INTERVAL, **kwargs):
        self.group = group
        self.page_size = page_size
        self.header = w.HTML()
        self.bar = w.IntProgress(min=0, max=max(1, len(group)), value=0, layout=w.Layout(width="300px", height="14px"))
        self.show = w.Dropdown(options=list(self.FILTERS), value="all", description="show",
                               layout=w.Layout(width="170px"), style={"description_width": "initial"})
        self.prev_button = w.Button(description="◀ prev", layout=w.Layout(width="auto"))
        self.next_button = w.Button(description="next ▶", layout=w.Layout(width="auto"))
        self.page_label = w.Label()
        self.table = w.HTML()
        self.prev_button.on_click(lambda _b: self.go_to(self.page - 1))
        self.next_button.on_click(lambda _b: self.go_to(self.page + 1))
        self.show.observe(lambda _change: self.go_to(0), names="value")
        self._failed = False
        self._finished = False
        self._tick_pending = False
        self._lock = threading.Lock()
        self._throttle = Throttle(self.refresh, interval)
        super().__init__(
            children=[
                self.header,
                self.bar,
                w.HBox([self.show, self.prev_button, self.page_label, self.next_button]),
                self.table,
            ],
            layout=w.Layout(border="1px solid var(--jp-border-color2, #ddd)", padding="4px 8px", max_width="1000px"),
            **kwargs,
        )
        self.add_class("docconvert-group-widget")
        self._unsubscribe = group.on_change(lambda _group, _job: self._throttle.trigger())
        group.add_done_callback(lambda _group: self._throttle.trigger(now=True))
        self.refresh()

    def __repr__(self) -> str:
        return repr(self.group)

    def _filtered(self) -> list[Job]:
        states = self.FILTERS[self.show.value]
        if states is None:
            return self.group.jobs
        return [job for job in self.group.jobs if job.status in states]

    def go_to(self, page: int) -> None:
        """Show page ``page`` (clamped to the pages that exist)."""
        with self._lock:
            self.page = max(0, page)
            self._draw()

    def refresh(self) -> None:
        """Redraw counts, bar and the current page (throttled by the caller)."""
        with self._lock:
            if self._finished:
                return
            final = self.group.finished_all  # read first: the page drawn below is then the final one
            self._draw()
            self._finished = final
        self._after_draw(final)

    def _redraw_final(self) -> None:
        self._draw()

    def _synced_parts(self) -> tuple[w.Widget, ...]:
        return (self.header, self.bar, self.page_label, self.prev_button, self.next_button, self.table)

    def _draw(self) -> None:
        jobs = self._filtered()
        pages = max(1, -(-len(jobs) // self.page_size))
        page = min(self.page, pages - 1)
        shown = jobs[page * self.page_size: (page + 1) * self.page_size]
        view, rows = html.group_view(self.group, shown)
        self._failed = self._failed or bool(view["counts"].get(JobStatus.FAILED.value)
                                            or view["counts"].get(JobStatus.CANCELED.value))
        style = "danger" if self._failed else ("success" if view["done"] else "info")
        with self.hold_sync(), self.bar.hold_sync():
            self.page = page
            self.redraws += 1
            self.status = self.group.summary()
            self.header.value = html.render("group_header.html.j2", group=view)
            self.bar.max = max(1, view["total"])
            self.bar.value = view["finished"]
            self.bar.bar_style = style
            self.bar.description = f"{view['finished']}/{view['total']}"
            first = page * self.page_size + 1 if shown else 0
            self.page_label.value = f"{first}–{first + len(shown) - 1 if shown else 0} of {len(jobs)} · page {page + 1}/{pages}"
            self.prev_button.disabled = page == 0
            self.next_button.disabled = page >= pages - 1
            self.table.value = html.render("jobs_table.html.j2", jobs=rows) if rows else html.render(
                "message.html.j2", text="no jobs to show", color="var(--jp-ui-font-color2, #666)")

    def close(self) -> None:
        self._finished = True
        self._unsubscribe()
        super().close()


_widgets: "weakref.WeakKeyDictionary[object, w.Widget]" = weakref.WeakKeyDictionary()
_widgets_lock = threading.Lock()


def widget_for(obj: Job | JobGroup) -> JobWidget | JobGroupWidget:
    """The live widget of a job or group; displaying it twice shows one model twice."""
    with _widgets_lock:
        widget = _widgets.get(obj)
        if widget is None or widget.comm is None:
            widget = JobWidget(obj) if isinstance(obj, Job) else JobGroupWidget(obj)
            _widgets[obj] = widget
        return widget
