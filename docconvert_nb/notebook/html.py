"""Static views of jobs and groups: the HTML card and the text that go everywhere.

Both are built from the same view model (:func:`job_view`, :func:`group_view`),
itself made from the job's own ``to_dict()`` snapshot, so the live widget,
the HTML saved in a notebook and the plain text carry the same facts. Every
list is capped and every message shortened, so a saved notebook stays small;
messages pass through :func:`~docconvert_nb.redact.mask_text` on the way.
Markup lives in ``templates/*.html.j2``, rendered with autoescaping and kept
well-formed XML.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable
from urllib.parse import quote

from ..jobs import Job, JobGroup
from ..redact import mask_text
from ..status import JobStatus
from ..util import format_bytes, format_seconds

_TEMPLATES = Path(__file__).parent / "templates"

#: Caps that keep one display small whatever the job holds.
MAX_OUTPUTS = 20
MAX_MESSAGES = 10
MAX_MESSAGE_CHARS = 500
SHORT_MESSAGE_CHARS = 120
#: Jobs listed in a group's static card (and per page in its widget).
GROUP_ROWS = 20

#: Per status: the colour (a JupyterLab theme variable with a fallback) and the ipywidgets bar style.
STATUS_STYLES: dict[str, tuple[str, str]] = {
    JobStatus.SUBMITTING.value: ("var(--jp-ui-font-color2, #757575)", "info"),
    JobStatus.QUEUED.value: ("var(--jp-ui-font-color2, #757575)", "info"),
    JobStatus.PROCESSING.value: ("var(--jp-info-color1, #0277bd)", "info"),
    JobStatus.COMPLETED.value: ("var(--jp-success-color1, #2e7d32)", "success"),
    JobStatus.FAILED.value: ("var(--jp-error-color1, #c62828)", "danger"),
    JobStatus.CANCELED.value: ("var(--jp-warn-color1, #b26a00)", "warning"),
    JobStatus.EXPIRED.value: ("var(--jp-ui-font-color3, #9e9e9e)", ""),
    JobStatus.DELETED.value: ("var(--jp-ui-font-color3, #9e9e9e)", ""),
}
_UNKNOWN_STYLE = ("var(--jp-ui-font-color2, #757575)", "")


def status_color(status: str) -> str:
    return STATUS_STYLES.get(status, _UNKNOWN_STYLE)[0]


def bar_style(status: str) -> str:
    """The ipywidgets ``bar_style`` / ``button_style`` matching a status."""
    return STATUS_STYLES.get(status, _UNKNOWN_STYLE)[1]


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(_TEMPLATES)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
        auto_reload=False,  # the templates ship with the package: no stat() of each file at every redraw
    )


def render(template: str, **context: Any) -> str:
    """Render one of the notebook templates (autoescaped)."""
    return _environment().get_template(template).render(**context)


def shorten(text: str, limit: int) -> str:
    text = " ".join(str(text).split()) if limit <= SHORT_MESSAGE_CHARS else str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _clean(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    return shorten(mask_text(str(text)), limit)


def _capped(items: list, limit: int) -> tuple[list, int]:
    return items[:limit], max(0, len(items) - limit)


# -- view models -----------------------------------------------------------------------------

_TASK_WORDS = {"convert": "Converting", "ocr": "Recognizing the text of", "tables": "Reading the tables of"}


def human_message(snapshot: dict[str, Any]) -> str:
    """The job's message in a user's words: no internal function names, no queue where there is none."""
    message = snapshot["message"] or snapshot["status"]
    if re.fullmatch(r"Converting with [\w.]+\.?", message):
        verb = _TASK_WORDS.get(snapshot["task"], "Converting")
        return f"{verb} {snapshot['source']} ({snapshot['source_format']} → {snapshot['target']})."
    if message == JobStatus.QUEUED.description and snapshot.get("provider_name") == "embedded":
        return "Waiting for a free worker of the local engine."
    return message


def progress_text(progress: float | None, terminal: bool, elapsed: float) -> str:
    """``"42% · 3.1 s"`` while running with known progress, ``"3.1 s"`` otherwise (never "100 %" before the end)."""
    text = format_seconds(elapsed)
    if terminal or progress is None:
        return text
    if progress >= 1.0:
        return f"finishing · {text}"
    return f"{progress:.0%} · {text}"


def job_view(snapshot: dict[str, Any], position: int | None = None) -> dict[str, Any]:
    """What every view of one job shows, from ``job.to_dict()``: capped, shortened, masked.

    ``position`` numbers the job within its group (1, 2, ...), instead of the session-wide number.
    """
    status = snapshot["status"]
    outputs, outputs_more = _capped(snapshot["outputs"], MAX_OUTPUTS)
    errors, errors_more = _capped([_clean(e) for e in snapshot["errors"]], MAX_MESSAGES)
    warnings, warnings_more = _capped([_clean(w) for w in snapshot["warnings"]], MAX_MESSAGES)
    sizes = [o["size"] for o in snapshot["outputs"] if o["size"] is not None]
    message = _clean(human_message(snapshot))
    progress = snapshot.get("progress")
    terminal = snapshot["terminal"]
    # A failed card says its error once: the header's message is left out when the list repeats it.
    message_repeated = bool(errors) and any(message.strip(". ") in e or e in message for e in errors)
    saved = [Path(p) for p in snapshot.get("saved") or []]
    return {
        **{k: snapshot[k] for k in ("number", "id", "provider", "simulator", "task", "source_format", "target",
                                     "status", "terminal", "progress")},
        "position": position if position is not None else snapshot["number"],
        "provider_name": snapshot.get("provider_name", snapshot["provider"]),
        "cached": bool(snapshot.get("cached")),
        "worker": _clean(str(_worker(snapshot.get("details") or {})), 80),
        "source": _clean(snapshot["source"], 200),
        "message": message,
        "header_message": "" if message_repeated and status == JobStatus.FAILED.value else message,
        "short_message": shorten(_row_message(status, message, errors, snapshot["outputs"]), SHORT_MESSAGE_CHARS),
        "color": status_color(status),
        "bar_style": bar_style(status),
        "elapsed": snapshot["elapsed"],
        "elapsed_text": progress_text(progress, terminal, snapshot["elapsed"]),
        "outputs": [output_view(o, saved) for o in outputs],
        "outputs_total": len(snapshot["outputs"]),
        "outputs_more": outputs_more,
        "outputs_size_text": format_bytes(sum(sizes)) if sizes else "",
        "errors": errors,
        "errors_more": errors_more,
        "warnings": warnings,
        "warnings_more": warnings_more,
        "bar": job_bar(status, progress),
    }


def _worker(details: dict[str, Any]) -> str:
    """Which machine ran the job, when the provider says (Dask workers)."""
    return details.get("worker_name") or details.get("worker") or ""


def _row_message(status: str, message: str, errors: list[str], outputs: list[dict]) -> str:
    """What a one-line row says: the last error of a failed job, the outputs of a completed one."""
    if errors and status == JobStatus.FAILED.value:
        return errors[-1]
    if status == JobStatus.COMPLETED.value and message == JobStatus.COMPLETED.description and outputs:
        return ", ".join(_clean(o["name"], 80) for o in outputs[:3]) + (" …" if len(outputs) > 3 else "")
    return message


def job_bar(status: str, progress: float | None) -> dict[str, Any]:
    """How a job's bar is drawn: a share and a colour, or an indeterminate animation while unknown."""
    if status in (JobStatus.SUBMITTING.value, JobStatus.QUEUED.value):
        return {"indeterminate": True, "percent": "0", "color": status_color(JobStatus.QUEUED.value)}
    if status == JobStatus.PROCESSING.value:
        if progress is None:
            return {"indeterminate": True, "percent": "0", "color": status_color(status)}
        return {"indeterminate": False, "percent": f"{100 * min(max(progress, 0.0), 1.0):.1f}",
                "color": status_color(status)}
    return {"indeterminate": False, "percent": "100", "color": status_color(status)}


def saved_path(name: str, saved: list[Path]) -> Path | None:
    """The newest saved file of output ``name`` (``save_to`` may have named it ``stem-2.ext``)."""
    stem, dot, suffix = name.partition(".")
    pattern = re.compile(re.escape(stem) + r"(-\d+)?" + re.escape(dot + suffix) + "$")
    for path in reversed(saved):
        if pattern.match(path.name):
            return path
    return None


def file_link(path: Path, base: Path | None = None) -> str | None:
    """A link relative to the notebook's folder (the kernel's working directory) when ``path`` lies under it.

    JupyterLab resolves such links against the notebook and opens them in a
    tab (or downloads them, with the ``download`` attribute); outside that
    folder the server may not serve the file, so there is no link.
    """
    try:
        relative = Path(os.path.abspath(path)).relative_to(os.path.abspath(base or Path.cwd()))
    except ValueError:
        return None
    return "/".join(quote(part) for part in relative.parts)


def output_view(out: dict[str, Any], saved: list[Path] | None = None) -> dict[str, Any]:
    """What a view shows of one output (``Output.to_dict()``): escaped name, type, size, details,
    and where it was saved (``path``, ``link`` when the notebook's folder holds it)."""
    meta = out.get("metadata") or {}
    details = []
    for key, label in (("pages", "pages"), ("language", "lang"), ("mean_confidence", "confidence"),
                       ("tables", "tables")):
        value = meta.get(key)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            text = f"{value:.0f}" if isinstance(value, float) else str(value)
            details.append(f"{label} {shorten(text, 20)}")
    path = saved_path(out["name"], saved or [])
    return {
        "name": _clean(out["name"], 200),
        "path": _clean(str(path), 300) if path else "",
        "link": file_link(path) if path and path.exists() else None,
        "content_type": shorten(out["content_type"], 80),
        "size_text": "?" if out["size"] is None else format_bytes(out["size"]),
        "availability": out["availability"],
        "details": ", ".join(details),
    }


def snapshot(job: Job) -> dict[str, Any]:
    """``job.to_dict()`` plus the files saved from it (for output links)."""
    return {**job.to_dict(), "saved": [str(path) for path in list(job.saved)]}


def group_progress(total: int, finished: int, elapsed: float, partial: float | None = None) -> dict[str, Any]:
    """done/total, percent, rate and ETA of a group, like tqdm's ``9/20 45% [00:06<00:07, 1.5 jobs/s]``.

    ``partial`` is the sum of the running jobs' own progress when every one of them reports
    it: the percent then counts their share, and the time left can be told before any job ends.
    """
    fraction = (finished + (partial or 0.0)) / total if total else 1.0
    percent = 100.0 * min(fraction, 1.0)
    rate = finished / elapsed if finished and elapsed > 0 else None
    remaining = total - finished
    eta = None
    if remaining and rate:
        eta = remaining / rate
    elif remaining and partial and elapsed > 0 and 0 < fraction < 1:
        eta = elapsed * (1 - fraction) / fraction
    parts = [f"{finished}/{total} done", f"{percent:.0f}%", format_seconds(elapsed)]
    if rate is not None and remaining:
        parts.append(f"{rate:.2g} jobs/s" if rate < 10 else f"{rate:.0f} jobs/s")
    if eta is not None:
        parts.append(f"~{format_seconds(eta)} left")
    return {"percent": percent, "rate": rate, "eta": eta, "text": " · ".join(parts)}


#: The group bar's parts, left to right: successes (green), failures (red), gone (grey), running.
_BAR_ORDER = [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.EXPIRED, JobStatus.DELETED]


def group_view(group: JobGroup, jobs: list[Job] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The group's aggregate facts and the view models of ``jobs`` (default: the first rows).

    Rows are numbered by their place in the group (1…n).
    """
    shown = group.jobs[:GROUP_ROWS] if jobs is None else jobs
    facts = group._summary_facts(failures=MAX_MESSAGES)  # one moment; O(1) while the group is followed
    counts = facts["counts"]
    total = len(group)
    failures = facts["failures"]
    failures_more = max(0, facts["failures_total"] - len(failures))
    states = [
        {"label": f"{counts[s.value]} {s.value}", "status": s.value, "count": counts[s.value], "color": status_color(s.value)}
        for s in JobStatus
        if counts.get(s.value)
    ]
    bar = [
        {"percent": f"{100.0 * counts[s.value] / total:.2f}", "color": status_color(s.value), "status": s.value}
        for s in _BAR_ORDER
        if total and counts.get(s.value)
    ]
    finished = sum(n for state, n in counts.items() if JobStatus(state).is_terminal)
    elapsed = facts["elapsed"]
    partial = facts["running_progress"]
    position = _positions(group, [*shown, *failures])
    view = {
        "name": _clean(group.name, 200) if group.name else None,
        "total": total,
        "finished": finished,
        "done": finished == total,
        "running": total - finished,
        "counts": dict(counts),
        "states": states,
        "bar": bar,
        "progress": group_progress(total, finished, elapsed, partial),
        # the running jobs' share of the bar, when they all tell it (else the bar's end is animated)
        "running_percent": f"{100.0 * partial / total:.2f}" if partial is not None and total and finished < total
        else None,
        "elapsed_text": format_seconds(elapsed),
        "more": max(0, total - len(shown)),
        "failures": [job_view(snapshot(job), position(job)) for job in failures],
        "failures_more": failures_more,
        "cancelable": facts["cancelable"],
    }
    return view, [job_view(snapshot(job), position(job)) for job in shown]


def _running_progress(jobs: list[Job]) -> float | None:
    """The sum of the running jobs' progress, if every running job reports one (else None)."""
    return JobGroup(jobs)._summary_facts()["running_progress"]


def _positions(group: JobGroup, jobs: list[Job]) -> Callable[[Job], int | None]:
    """``position(job)``: the place (1…n) of each of ``jobs`` in the group, found in O(len(jobs))."""
    return group._position_finder(jobs)


# -- HTML ------------------------------------------------------------------------------------

def job_html(job: Job) -> str:
    """The static HTML card of a job (what a saved notebook, nbconvert and GitHub show)."""
    return render("job.html.j2", job=job_view(snapshot(job)))


def group_html(group: JobGroup) -> str:
    """The static HTML card of a group: counts, a bar, the first rows, the failures."""
    view, jobs = group_view(group)
    return render("group.html.j2", group=view, jobs=jobs)


# -- text ------------------------------------------------------------------------------------

def job_text(job: Job) -> str:
    """The job's repr followed by its outputs, errors and warnings (capped)."""
    view = job_view(snapshot(job))
    lines = [_safe_repr(job) + (" (from the cache)" if view["cached"] else "")]
    if view["worker"]:
        lines.append(f"  worker: {view['worker']}")
    lines += [f"  output: {o['name']} ({o['content_type']}, {o['size_text']}) {o['availability']}"
              + (f", saved as {o['path']}" if o["path"] else "")
              for o in view["outputs"]]
    if view["outputs_more"]:
        lines.append(f"  shown {len(view['outputs'])} of {view['outputs_total']} outputs")
    lines += [f"  error: {e}" for e in view["errors"]]
    if view["errors_more"]:
        lines.append(f"  … {view['errors_more']} more error(s)")
    lines += [f"  warning: {w}" for w in view["warnings"]]
    if view["warnings_more"]:
        lines.append(f"  … {view['warnings_more']} more warning(s)")
    return "\n".join(lines)


def group_text(group: JobGroup) -> str:
    """The group's repr, then one line per job (capped) and the failures."""
    view, jobs = group_view(group)
    lines = [_safe_repr(group), f"  {view['progress']['text']}"]
    for job in jobs:
        lines.append(f"  #{job['position']} {job['source']} → {job['target']} on {job['provider_name']} {job['status']} "
                     f"({job['elapsed_text']}): {job['short_message']}")
    if view["more"]:
        lines.append(f"  shown {len(jobs)} of {view['total']} jobs")
    for job in view["failures"]:
        lines.append(f"  failed #{job['position']} {job['source']}: {job['short_message']}")
    if view["failures_more"]:
        lines.append(f"  … {view['failures_more']} more failed job(s)")
    return "\n".join(lines)


def _safe_repr(obj) -> str:
    return shorten(mask_text(repr(obj)), 2 * MAX_MESSAGE_CHARS)
