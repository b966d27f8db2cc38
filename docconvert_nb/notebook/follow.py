"""Displayed cards that stay true: live while the work runs, a static final card after, redrawn on every change.

JupyterLab draws a widget output only while its model exists. A notebook
saved with default settings (and on Binder) keeps no widget state, so on
reopening every widget output reads "Error displaying widget: model not
found" and the bundle's ``text/html`` is never shown. A displayed job
therefore carries the live widget only while it runs: once it is final, the
same output (by its display id) is replaced with the static card and text,
which is what the saved notebook keeps, and the widget is closed.

Later changes (deleted, expired, downloaded again) arrive through
``on_change``; every output showing the object is redrawn with the new
static card, throttled. Updates sent from the tracker's threads are sent
again after the next cell (:mod:`.settle`), for headless runners.
"""

from __future__ import annotations

import logging
import threading
import weakref
from typing import Any, Callable

from ..jobs import Job, JobGroup
from . import settle
from .throttle import MIN_INTERVAL, Throttle

log = logging.getLogger(__name__)

#: The newest outputs kept per object: older ones are usually gone from the notebook (cells re-run).
MAX_HANDLES = 20


def is_finished(obj: Job | JobGroup) -> bool:
    """True once the job (or every job of the group) is final, saved and told its done callbacks."""
    return obj.finished if isinstance(obj, Job) else obj.finished_all


def _version(obj: Job | JobGroup) -> tuple:
    if isinstance(obj, Job):
        return (obj.version,)
    return tuple(job.version for job in obj.jobs)


class Follower:
    """Every output displaying one job or group, and what keeps them current.

    ``static_bundle`` builds the bundle drawn once the object is final.
    """

    def __init__(self, obj: Job | JobGroup, static_bundle: Callable[[Any], dict], interval: float = MIN_INTERVAL):
        self._obj = weakref.ref(obj)
        self._static_bundle = static_bundle
        self._lock = threading.Lock()
        self._handles: list = []  # DisplayHandles drawing the static card
        #: How many times the object was displayed in a kernel.
        self.shown = 0
        self._drawn: tuple | None = None
        self._throttle = Throttle(self.redraw, interval)
        if isinstance(obj, Job):
            obj.on_change(lambda _job: self._changed())
        else:
            obj.on_change(lambda _group, _job: self._changed())

    @property
    def handles(self) -> list:
        with self._lock:
            return list(self._handles)

    def add_static(self, handle) -> None:
        """Follow an output that already shows the static card."""
        with self._lock:
            self._handles = [h for h in self._handles if h.display_id != handle.display_id][-(MAX_HANDLES - 1):]
            self._handles.append(handle)

    def finish(self, handle, view=None) -> None:
        """The object is final: draw its static card in ``handle``'s output, then close the live ``view``."""
        self.add_static(handle)
        obj = self._obj()
        if obj is not None:
            self._update(handle, obj)
        if view is not None:
            try:
                view.close()
            except Exception:  # the kernel may be shutting down
                log.debug("could not close the live view", exc_info=True)

    def _changed(self) -> None:
        obj = self._obj()
        if obj is not None and self._handles and is_finished(obj):
            self._throttle.trigger()

    def redraw(self) -> None:
        """Draw the current static card in every followed output (skipped when nothing changed)."""
        obj = self._obj()
        if obj is None:
            return
        version = _version(obj)
        with self._lock:
            if version == self._drawn:
                return
            self._drawn = version
            handles = list(self._handles)
        for handle in handles:
            self._update(handle, obj)

    def _update(self, handle, obj) -> None:
        def send() -> None:
            try:
                handle.update(self._static_bundle(obj), raw=True)
            except Exception:  # the kernel may be shutting down
                log.debug("could not update the display of %r", obj, exc_info=True)

        send()
        settle.after_next_cell(("display", handle.display_id), send)


_followers: "weakref.WeakKeyDictionary[object, Follower]" = weakref.WeakKeyDictionary()
_followers_lock = threading.Lock()


def follower(obj: Job | JobGroup, static_bundle: Callable[[Any], dict]) -> Follower:
    """The one :class:`Follower` of ``obj`` (made on first use)."""
    with _followers_lock:
        found = _followers.get(obj)
        if found is None:
            found = _followers[obj] = Follower(obj, static_bundle)
        return found


def existing(obj: Job | JobGroup) -> Follower | None:
    with _followers_lock:
        return _followers.get(obj)
