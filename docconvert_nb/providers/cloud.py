"""What the four cloud adapters share beyond the HTTP layer.

A :class:`CloudProvider` knows its base URL, notices when the endpoint is one
of our simulators (they mark every answer with :data:`SIMULATOR_HEADER`), and
owns a private cache folder (mode 0700) for request bodies and downloaded
results, made on first use and removed on :meth:`close` or at exit.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from pathlib import Path
from typing import Any

from .base import Provider
from .http import HttpClient

#: Header a docconvert_nb simulator adds to every answer (twin of simulators._common.SIMULATOR_HEADER).
SIMULATOR_HEADER = "X-Docconvert-Simulator"


class CloudProvider(Provider):
    """Base of the adapters that talk to a service over HTTP."""

    def __init__(self, base_url: str, *, simulator: bool = False, cache_dir: str | os.PathLike | None = None):
        self.base_url = base_url.rstrip("/")
        self._simulator = simulator
        self._cache_lock = threading.Lock()
        self._cache: Path | None = Path(cache_dir) if cache_dir is not None else None
        self._cleanup: weakref.finalize | None = None

    def watch_for_simulator(self, http: HttpClient) -> HttpClient:
        """Let ``http``'s answers tell whether the endpoint is a simulator; returns ``http``."""
        http.session.hooks["response"].append(self._notice_simulator)
        return http

    @property
    def is_simulator(self) -> bool:
        """True when built for a simulator, or once any answer came from one."""
        return self._simulator

    def _notice_simulator(self, response, *args, **kwargs):
        if response.headers.get(SIMULATOR_HEADER):
            self._simulator = True
        return response

    @property
    def cache(self) -> Path:
        """The private folder (mode 0700) for request bodies and downloads, made on first use."""
        with self._cache_lock:
            if self._cache is None:
                self._cache = Path(tempfile.mkdtemp(prefix=f"docconvert-{self.name}-"))
                self._cleanup = weakref.finalize(self, shutil.rmtree, self._cache, True)
            cache = self._cache
        cache.mkdir(parents=True, exist_ok=True)
        return cache

    def remove_cache(self) -> None:
        """Delete the cache folder this instance made (a folder given by the caller is kept)."""
        with self._cache_lock:
            if self._cleanup is not None:
                self._cleanup()
                self._cache = self._cleanup = None

    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info["base_url"] = self.base_url
        return info
