"""The notebook layer: how jobs and groups display.

:func:`mimebundle` is the display hook the package installs for
:class:`~docconvert_nb.jobs.Job` and :class:`~docconvert_nb.jobs.JobGroup`.
Every bundle carries ``text/plain`` and a static ``text/html`` card (what
plain IPython, nbconvert and GitHub show); inside a running Jupyter kernel
with ipywidgets, a job or group that is still running also carries the live
widget view. Once it is final, its output is replaced by the static final
card, which a saved notebook keeps and any JupyterLab shows again without
widget state (see :mod:`.follow`); :func:`widget` gives a view that stays
live wherever you put it. The decision is made at display time, never at import.
"""

from __future__ import annotations

import logging
from typing import Any

from ..jobs import Job, JobGroup
from . import follow, habits, html, settle

log = logging.getLogger(__name__)

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def in_kernel() -> bool:
    """True inside a Jupyter kernel that can talk to a frontend (comms), False in scripts and terminals."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    return type(shell).__name__ == "ZMQInteractiveShell" or getattr(shell, "kernel", None) is not None


def widgets_available() -> bool:
    """True when ipywidgets 8 can be imported."""
    try:
        import ipywidgets
    except ImportError:
        return False
    return int(ipywidgets.__version__.split(".")[0]) >= 8


def static_bundle(obj: Job | JobGroup) -> dict[str, str]:
    """``text/plain`` and ``text/html`` of a job or group: a snapshot, no widget."""
    if isinstance(obj, JobGroup):
        return {"text/plain": html.group_text(obj), "text/html": html.group_html(obj)}
    return {"text/plain": html.job_text(obj), "text/html": html.job_html(obj)}


def widget(obj: Job | JobGroup):
    """The live ipywidgets view of a job or group (to embed in your own layout)."""
    from .widgets import widget_for

    return widget_for(obj)


def mimebundle(obj: Job | JobGroup, include=None, exclude=None) -> dict[str, Any]:
    """The display bundle of a job or group: HTML card and text, plus the live widget while it runs.

    A finished job or group has no widget in its bundle: a saved notebook
    keeps no widget state by default, and JupyterLab would show "model not
    found" instead of the card (see :mod:`.follow`).
    """
    bundle: dict[str, Any] = static_bundle(obj)
    if not follow.is_finished(obj) and in_kernel() and widgets_available():
        try:
            view = widget(obj)._repr_mimebundle_()
        except Exception:  # a broken frontend link must not hide the job
            log.exception("could not build the live view; showing the static card")
        else:
            if WIDGET_MIME in view:
                bundle[WIDGET_MIME] = view[WIDGET_MIME]
    if include:
        bundle = {k: v for k, v in bundle.items() if k in include}
    if exclude:
        bundle = {k: v for k, v in bundle.items() if k not in exclude}
    return bundle


def display(obj: Job | JobGroup) -> None:
    """Show a job or group in the current cell, and keep that output true.

    While the work runs the output is the live widget (with the static card
    and text as fallbacks). Once it is final the same output is replaced by
    the final static card — what a saved, reopened or exported notebook shows
    — and every later change (delete, expiry...) redraws it. IPython calls
    this for every displayed job or group (see :func:`register`).
    """
    from IPython.display import display as show

    if not in_kernel():
        show(static_bundle(obj), raw=True)
        return
    if habits.repeats_a_shown_card(obj):
        return
    followed = follow.follower(obj, static_bundle)
    followed.shown += 1
    if follow.is_finished(obj):
        followed.add_static(show(static_bundle(obj), raw=True, display_id=True))
        return
    view = None
    bundle: dict[str, Any] = static_bundle(obj)
    if widgets_available():
        try:
            from .widgets import new_widget

            view = new_widget(obj)
            bundle[WIDGET_MIME] = view._repr_mimebundle_()[WIDGET_MIME]
        except Exception:  # a broken frontend link must not hide the job
            log.exception("could not build the live view; showing the static card")
            view = None
    handle = show(bundle, raw=True, display_id=True)
    # The job may finish while its first bundle is built: the done callback then runs at once.
    obj.add_done_callback(lambda _obj: followed.finish(handle, view))


def register(shell) -> None:
    """Make ``shell`` display jobs and groups through :func:`display` (idempotent)."""
    formatter = shell.display_formatter.ipython_display_formatter
    for cls in (Job, JobGroup):
        formatter.for_type(cls, display)
    settle.install(shell)
    if not in_kernel():  # a terminal IPython: wait() draws a progress line on stderr
        from ..jobs import set_wait_reporter
        from .terminal import report

        set_wait_reporter(report)


__all__ = [
    "WIDGET_MIME",
    "display",
    "in_kernel",
    "mimebundle",
    "register",
    "static_bundle",
    "widget",
    "widgets_available",
]
