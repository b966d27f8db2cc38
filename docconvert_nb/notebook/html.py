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

from functools import lru_cache
from pathlib import Path
from typing import Any

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

def job_view(snapshot: dict[str, Any]) -> dict[str, Any]:
    """What every view of one job shows, from ``job.to_dict()``: capped, shortened, masked."""
    status = snapshot["status"]
    outputs, outputs_more = _capped(snapshot["outputs"], MAX_OUTPUTS)
    errors, errors_more = _capped([_clean(e) for e in snapshot["errors"]], MAX_MESSAGES)
    warnings, warnings_more = _capped([_clean(w) for w in snapshot["warnings"]], MAX_MESSAGES)
    sizes = [o["size"] for o in snapshot["outputs"] if o["size"] is not None]
    message = _clean(snapshot["message"] or status)
    progress = snapshot.get("progress")
    elapsed = format_seconds(snapshot["elapsed"])
    if progress is not None and not snapshot["terminal"]:
        elapsed = f"{progress:.0%} after {elapsed}"
    return {
        **{k: snapshot[k] for k in ("number", "id", "provider", "simulator", "task", "source_format", "target",
                                     "status", "terminal", "progress")},
        "source": _clean(snapshot["source"], 200),
        "message": message,
        "short_message": shorten(errors[-1] if errors and status == JobStatus.FAILED.value else message,
                                 SHORT_MESSAGE_CHARS),
        "color": status_color(status),
        "bar_style": bar_style(status),
        "elapsed_text": elapsed if snapshot["terminal"] or progress is not None else f"{elapsed} so far",
        "outputs": [output_view(o) for o in outputs],
        "outputs_total": len(snapshot["outputs"]),
        "outputs_more": outputs_more,
        "outputs_size_text": format_bytes(sum(sizes)) if sizes else "",
        "errors": errors,
        "errors_more": errors_more,
        "warnings": warnings,
        "warnings_more": warnings_more,
    }


def output_view(out: dict[str, Any]) -> dict[str, Any]:
    """What a view shows of one output (``Output.to_dict()``): escaped name, type, size, details."""
    meta = out.get("metadata") or {}
    details = []
    for key, label in (("pages", "pages"), ("language", "lang"), ("mean_confidence", "confidence"),
                       ("tables", "tables")):
        value = meta.get(key)
        if isinstance(value, (int, float, str)) and not isinstance(value, bool):
            text = f"{value:.0f}" if isinstance(value, float) else str(value)
            details.append(f"{label} {shorten(text, 20)}")
    return {
        "name": _clean(out["name"], 200),
        "content_type": shorten(out["content_type"], 80),
        "size_text": "?" if out["size"] is None else format_bytes(out["size"]),
        "availability": out["availability"],
        "details": ", ".join(details),
    }


def group_view(group: JobGroup, jobs: list[Job] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The group's aggregate facts and the view models of ``jobs`` (default: the first rows)."""
    shown = group.jobs[:GROUP_ROWS] if jobs is None else jobs
    counts = group.counts()
    total = len(group)
    failed = group.failed
    failures, failures_more = _capped(failed, MAX_MESSAGES)
    states = [
        {"label": f"{counts[s.value]} {s.value}", "status": s.value, "count": counts[s.value], "color": status_color(s.value)}
        for s in JobStatus
        if counts.get(s.value)
    ]
    bar_order = [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELED, JobStatus.EXPIRED,
                 JobStatus.DELETED, JobStatus.PROCESSING]
    bar = [
        {"percent": f"{100.0 * counts[s.value] / total:.2f}", "color": status_color(s.value)}
        for s in bar_order
        if total and counts.get(s.value)
    ]
    finished = sum(n for state, n in counts.items() if JobStatus(state).is_terminal)
    view = {
        "name": _clean(group.name, 200) if group.name else None,
        "total": total,
        "finished": finished,
        "done": finished == total,
        "counts": dict(counts),
        "states": states,
        "bar": bar,
        "elapsed_text": format_seconds(group.elapsed),
        "more": max(0, total - len(shown)),
        "failures": [job_view(job.to_dict()) for job in failures],
        "failures_more": failures_more,
    }
    return view, [job_view(job.to_dict()) for job in shown]


# -- HTML ------------------------------------------------------------------------------------

def job_html(job: Job) -> str:
    """The static HTML card of a job (what nbconvert and GitHub show)."""
    return render("job.html.j2", job=job_view(job.to_dict()))


def group_html(group: JobGroup) -> str:
    """The static HTML card of a group: counts, a bar, the first rows, the failures."""
    view, jobs = group_view(group)
    return render("group.html.j2", group=view, jobs=jobs)


# -- text ------------------------------------------------------------------------------------

def job_text(job: Job) -> str:
    """The job's repr followed by its outputs, errors and warnings (capped)."""
    view = job_view(job.to_dict())
    lines = [_safe_repr(job)]
    lines += [f"  output: {o['name']} ({o['content_type']}, {o['size_text']}) {o['availability']}"
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
    lines = [_safe_repr(group)]
    for job in jobs:
        lines.append(f"  #{job['number']} {job['source']} → {job['target']} {job['status']} "
                     f"({job['elapsed_text']}): {job['short_message']}")
    if view["more"]:
        lines.append(f"  shown {len(jobs)} of {view['total']} jobs")
    for job in view["failures"]:
        lines.append(f"  failed #{job['number']} {job['source']}: {job['short_message']}")
    if view["failures_more"]:
        lines.append(f"  … {view['failures_more']} more failed job(s)")
    return "\n".join(lines)


def _safe_repr(obj) -> str:
    return shorten(mask_text(repr(obj)), 2 * MAX_MESSAGE_CHARS)
