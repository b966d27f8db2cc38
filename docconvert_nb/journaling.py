"""The job journal: what every job was, in one small SQLite file the user's kernels share.

Each job the tracker follows gets one row in ``journal.sqlite3`` under the
docconvert_nb home (``$DOCCONVERT_NB_HOME``, else ``~/.cache/docconvert_nb``,
the folder the embedded engine keeps its store in): its provider and the
provider's job id, the source's name and sha256, task, target, options (secret
values masked), status, message, outputs, the files saved, and timestamps.
The row follows the job as it changes, so a new kernel can list earlier jobs
(:func:`frame`, i.e. ``dc.journal()``) and pick up the unfinished ones
(``dc.reattach()``). It is also what the result cache (:mod:`docconvert_nb.cache`)
looks in. Finished jobs not heard of for :data:`KEEP_DAYS` days are dropped.

(The module is ``journaling`` because ``docconvert_nb.journal`` is the function.)

Writing never gets in a job's way: each change is queued from the job's
``recorder`` hook (called with every change, the final one after the outputs
are saved) and a single background thread writes them, several per
transaction. If the file cannot be written the failure is logged once and
the jobs carry on. Several processes can share the file: it is in WAL mode
(readers never wait for writers), writers wait up to :data:`BUSY_TIMEOUT_S`
for one another, and every transaction is short. A process killed mid-job
loses at most the changes it had not written yet (milliseconds' worth);
what was committed stays. The file must be on a local disk: SQLite's WAL
mode does not work over network file systems.

Turn it off with ``DOCCONVERT_NB_JOURNAL=0`` in the environment or
``dc.set_journal(False)`` (which also turns off the result cache).
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import socket
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from .errors import DocconvertError
from .redact import is_secret_name, mask_options

if TYPE_CHECKING:  # the journal records jobs; it never creates or drives them
    from .jobs import Job
    from .providers.base import Provider

log = logging.getLogger(__name__)

FILE_NAME = "journal.sqlite3"
#: How long one writer waits for another process's transaction before giving up (seconds).
BUSY_TIMEOUT_S = 10.0
#: How long a reader (``dc.journal()``, the cache, reattach) waits at most.
READ_TIMEOUT_S = 5.0
SCHEMA_VERSION = 1
#: The writer thread ends after this many idle seconds (the next change starts it again).
IDLE_SECONDS = 60.0
#: Finished jobs not heard of for this long are dropped from the journal (their results are long gone).
KEEP_DAYS = 30

_TERMINAL = ("completed", "failed", "canceled", "expired", "deleted")

COLUMNS = (
    "key", "provider", "provider_id", "endpoint", "task", "source_name", "source_format", "source_sha256",
    "source_size", "target", "options", "cache_key", "status", "message", "errors", "warnings", "outputs",
    "saved", "save_to", "cached", "submitted_at", "started_at", "finished_at", "updated_at", "pid", "host",
)
_JSON_COLUMNS = ("options", "errors", "warnings", "outputs", "saved")

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    provider_id TEXT,
    endpoint TEXT,
    task TEXT,
    source_name TEXT,
    source_format TEXT,
    source_sha256 TEXT,
    source_size INTEGER,
    target TEXT,
    options TEXT,
    cache_key TEXT,
    status TEXT NOT NULL,
    message TEXT,
    errors TEXT,
    warnings TEXT,
    outputs TEXT,
    saved TEXT,
    save_to TEXT,
    cached INTEGER NOT NULL DEFAULT 0,
    submitted_at TEXT,
    started_at TEXT,
    finished_at TEXT,
    updated_at TEXT,
    pid INTEGER,
    host TEXT
);
CREATE INDEX IF NOT EXISTS jobs_cache ON jobs (cache_key, status);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
PRAGMA user_version = {SCHEMA_VERSION};
"""

_UPSERT = (
    f"INSERT INTO jobs ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    f"ON CONFLICT(key) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in COLUMNS[1:])} "
    # Another process's stale "still running" never overwrites an outcome already recorded.
    f"WHERE jobs.status NOT IN {_TERMINAL} OR excluded.status IN {_TERMINAL}"
)


def home() -> Path:
    """The docconvert_nb home: where the embedded engine keeps its store and the journal lives."""
    from .engine.store import default_root  # imported late: the engine is heavy and may never be needed

    return default_root()


def enabled_by_environment() -> bool:
    return os.environ.get("DOCCONVERT_NB_JOURNAL", "1").strip().lower() not in ("0", "false", "no", "off")


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment else None


def parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


# -- what identifies a job's work ------------------------------------------------------------------
def source_sha256(source) -> str | None:
    """sha256 of a :class:`~docconvert_nb.documents.Source`'s bytes (None if it cannot be read)."""
    digest = hashlib.sha256()
    try:
        if source.data is not None:
            digest.update(source.data)
        else:
            with source.open() as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
    except (OSError, AttributeError, TypeError):
        return None
    return digest.hexdigest()


def endpoint(provider: "Provider") -> str | None:
    """Where a provider's jobs live: a cloud adapter's base URL, the embedded engine's store folder."""
    base_url = getattr(provider, "base_url", None)
    if isinstance(base_url, str):
        return base_url.rstrip("/")
    store = getattr(getattr(provider, "engine", None), "store", None)
    root = getattr(store, "root", None)
    if root is not None:
        return str(Path(root).expanduser().resolve())
    return None


def cache_key(provider: "Provider", task: str, target: str, sha256: str | None, options: dict[str, Any]) -> str | None:
    """One digest of everything a result depends on, or None when the job must never be shared.

    Jobs with a secret-looking option (a PDF password...) and jobs whose
    options are not plain JSON values are never cached: the key would have to
    carry the secret, and an option without a stable value cannot be compared.
    Nor are jobs of a provider without an endpoint (no base URL, no store):
    two of its instances could not be told apart.
    """
    where = endpoint(provider)
    if sha256 is None or where is None or any(is_secret_name(name) for name in options):
        return None
    try:
        canonical = json.dumps(
            [provider.name, type(provider).__qualname__, where, task, target, sha256, options],
            sort_keys=True, allow_nan=False,
        )
    except (TypeError, ValueError):
        return None
    return hashlib.sha256(canonical.encode()).hexdigest()


# -- rows -------------------------------------------------------------------------------------------
def row_for(job: "Job") -> dict[str, Any]:
    """The journal row describing ``job`` now (cheap: called on every change)."""
    with job._lock:
        source = job.request.source
        sha = job.source_sha256
        return {
            "key": job.journal_key,
            "provider": job.provider.name,
            "provider_id": job.id,
            "endpoint": endpoint(job.provider),
            "task": job.task,
            "source_name": source.name,
            "source_format": source.format,
            "source_sha256": sha,
            "source_size": _source_size(source) if sha else None,
            "target": job.target,
            "options": mask_options(job.request.options),
            "cache_key": cache_key(job.provider, job.task, job.target, sha, job.request.options),
            "status": job.status.value,
            "message": job.message,
            "errors": list(job.errors),
            "warnings": list(job.warnings),
            "outputs": [
                {"name": o.name, "content_type": o.content_type, "size": o.size, "availability": o.availability.value}
                for o in job.outputs
            ],
            "saved": [str(p) for p in job.saved],
            "save_to": str(job.save_to) if job.save_to else None,
            "cached": int(bool(job.cached)),
            "submitted_at": _iso(job.submitted_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at),
            "updated_at": _now_iso(),
            "pid": os.getpid(),
            "host": _HOST,
        }


_HOST = socket.gethostname()


def _source_size(source) -> int | None:
    try:
        return source.size
    except OSError:
        return None


def _encode(row: dict[str, Any]) -> tuple:
    return tuple(json.dumps(row[c], default=str) if c in _JSON_COLUMNS else row[c] for c in COLUMNS)


def _decode(record: sqlite3.Row) -> dict[str, Any]:
    row = dict(record)
    for column in _JSON_COLUMNS:
        try:
            row[column] = json.loads(row[column]) if row[column] else ([] if column != "options" else {})
        except ValueError:
            row[column] = None
    row["cached"] = bool(row["cached"])
    return row


def _built(batch: dict[str, "_Pending"]) -> list[dict[str, Any]]:
    rows = []
    for item in batch.values():
        try:
            rows.append(item.build())
        except Exception:  # one odd job must not keep the others out of the journal
            log.debug("cannot describe a job for the journal", exc_info=True)
    return rows


def _transient(exc: Exception) -> bool:
    """Another process held the file longer than the busy timeout: worth trying again."""
    return isinstance(exc, sqlite3.OperationalError) and any(w in str(exc) for w in ("locked", "busy"))


@dataclass
class _Pending:
    """A row to write, or a job whose row is built when it is written (its latest state)."""

    row: dict[str, Any] | None = None
    job: "Job | None" = None
    attempts: int = 0

    def build(self) -> dict[str, Any]:
        return self.row if self.row is not None else row_for(self.job)


class Journal:
    """One journal file. Writes are queued and written by a background thread; reads are direct."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).expanduser()
        self._pending: dict[str, _Pending] = {}
        self._cond = threading.Condition()
        self._writing = False
        self._inflight: dict[str, _Pending] = {}
        #: Cache keys of completed jobs queued / being written (the cache waits for those).
        self._pending_results: set[str] = set()
        self._inflight_results: set[str] = set()
        #: The writer thread's own connection (only that thread uses it).
        self._writer: sqlite3.Connection | None = None
        self._thread: threading.Thread | None = None
        self._ready = False
        self._complained = False
        self._write_failures = 0

    # -- connections --------------------------------------------------------------------------------
    def connect(self, timeout: float = READ_TIMEOUT_S) -> sqlite3.Connection:
        """A new connection to the file, schema in place (caller closes it)."""
        if not self._ready:
            self._create()
        return self._open(timeout)

    def _open(self, timeout: float) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=timeout, isolation_level=None, check_same_thread=False)
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        connection.execute("PRAGMA synchronous = NORMAL")  # with WAL: durable across a killed process
        return connection

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        new = not self.path.exists()
        with closing(self._open(BUSY_TIMEOUT_S)) as connection:
            if new:
                try:
                    os.chmod(self.path, 0o600)  # source names and folders are the user's business
                except OSError:
                    pass
            try:
                connection.execute("PRAGMA journal_mode = WAL")
            except sqlite3.OperationalError:  # another process is switching it right now
                pass
            connection.executescript(f"BEGIN IMMEDIATE; {_SCHEMA} COMMIT;")
            horizon = datetime.fromtimestamp(time.time() - KEEP_DAYS * 86400, timezone.utc)
            connection.execute(f"DELETE FROM jobs WHERE status IN {_TERMINAL} AND updated_at < ?", (_iso(horizon),))
        self._ready = True

    # -- writing ------------------------------------------------------------------------------------
    def record(self, row: dict[str, Any]) -> None:
        """Queue ``row`` to be written (a later row of the same job replaces it in the queue)."""
        with self._cond:
            self._pending[row["key"]] = _Pending(row)
            if row.get("status") == "completed" and row.get("cache_key"):
                self._pending_results.add(row["cache_key"])
            self._wake()

    def record_job(self, job: "Job") -> None:
        """Queue ``job``'s row; it is built by the writer thread, so this costs the job next to nothing."""
        result = None
        if job.status.value == "completed" and job.source_sha256:
            result = cache_key(job.provider, job.task, job.target, job.source_sha256, job.request.options)
        with self._cond:
            queued = self._pending.get(job.journal_key)
            if queued is None or queued.job is not job:
                self._pending[job.journal_key] = _Pending(job=job)
            if result:
                self._pending_results.add(result)
            self._wake()

    def _wake(self) -> None:
        """(Lock held) tell the writer, starting it if needed."""
        self._cond.notify_all()
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._run, name="docconvert-journal", daemon=True)
            self._thread.start()

    def has_pending(self, cache_key: str) -> bool:
        """Whether a completed job with ``cache_key`` is still waiting to be written."""
        with self._cond:
            return any(cache_key in keys or "*" in keys for keys in (self._pending_results, self._inflight_results))

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every queued row is written (or dropped); returns False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._writing:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self._thread is None or not self._thread.is_alive():
                    return not (self._pending or self._writing)
                self._cond.wait(remaining)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending:
                    self._writing = False
                    self._cond.notify_all()
                    if not self._cond.wait(IDLE_SECONDS) and not self._pending:
                        # Nothing to write for a while: let the thread and its connection go.
                        self._thread = None
                        self._drop_writer()
                        return
                batch, self._pending = self._pending, {}
                self._inflight = batch
                self._inflight_results, self._pending_results = self._pending_results, set()
                self._writing = True
            failed = self._write(batch)
            with self._cond:
                self._inflight, self._inflight_results = {}, set()
                for key, item in failed.items():
                    self._pending.setdefault(key, item)  # a newer row of the job wins
                    if item.row and item.row.get("status") == "completed" and item.row.get("cache_key"):
                        self._pending_results.add(item.row["cache_key"])
                    elif item.job is not None and item.job.status.value == "completed":
                        self._pending_results.add("*")  # rare (a failed write): wait for any result
                if failed:
                    self._writing = False
                    self._cond.notify_all()
            if failed:
                time.sleep(0.2 * min(self._write_failures, 10))

    def _write(self, batch: dict[str, _Pending]) -> dict[str, _Pending]:
        """Write ``batch`` in one transaction; return what should be tried again."""
        try:
            if self._writer is None:
                self._writer = self.connect(BUSY_TIMEOUT_S)
            connection = self._writer
            connection.execute("BEGIN IMMEDIATE")
            try:
                connection.executemany(_UPSERT, [_encode(row) for row in _built(batch)])
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        except (sqlite3.Error, OSError, ValueError, TypeError) as exc:
            self._drop_writer()
            self._write_failures += 1
            self._complain(exc)
            retry = {}
            for key, item in batch.items():
                item.attempts += 1
                if item.attempts < 5 and _transient(exc):
                    retry[key] = item
            return retry
        self._write_failures = 0
        return {}

    def _drop_writer(self) -> None:
        if self._writer is not None:
            try:
                self._writer.close()
            except sqlite3.Error:
                pass
            self._writer = None

    def _complain(self, exc: Exception) -> None:
        if not self._complained:
            self._complained = True
            log.warning("cannot write the job journal %s (%s); jobs go on without it", self.path, exc)
        else:
            log.debug("job journal write failed again: %s", exc)

    def update_status(self, key: str, status: str, message: str) -> None:
        """Record that a job's results are gone (found out by someone else than its owner)."""
        try:
            with closing(self.connect(BUSY_TIMEOUT_S)) as connection:
                connection.execute(
                    "UPDATE jobs SET status = ?, message = ?, updated_at = ? WHERE key = ? "
                    f"AND status IN {_TERMINAL} AND status NOT IN ('expired', 'deleted')",
                    (status, message, _now_iso(), key),
                )
        except sqlite3.Error as exc:
            self._complain(exc)

    def claim(self, row: dict[str, Any]) -> bool:
        """Make this process the one following ``row``'s job, unless another process claimed it since
        ``row`` was read (two kernels reattaching at once must not both follow one job)."""
        try:
            with closing(self.connect(BUSY_TIMEOUT_S)) as connection:
                cursor = connection.execute(
                    "UPDATE jobs SET pid = ?, host = ?, updated_at = ? WHERE key = ? AND pid IS ? AND host IS ?",
                    (os.getpid(), _HOST, _now_iso(), row["key"], row.get("pid"), row.get("host")),
                )
                return cursor.rowcount == 1
        except sqlite3.Error as exc:
            self._complain(exc)
            return True  # no journal to share: nobody else can have claimed it through it

    def abandon(self, key: str, message: str) -> None:
        """Record an unfinished job as failed: no one can follow it any more."""
        try:
            with closing(self.connect(BUSY_TIMEOUT_S)) as connection:
                connection.execute(
                    f"UPDATE jobs SET status = 'failed', message = ?, errors = ?, updated_at = ?, "
                    f"finished_at = COALESCE(finished_at, ?) WHERE key = ? AND status NOT IN {_TERMINAL}",
                    (message, json.dumps([message]), _now_iso(), _now_iso(), key),
                )
        except sqlite3.Error as exc:
            self._complain(exc)

    # -- reading ------------------------------------------------------------------------------------
    def rows(self, where: str = "", params: Iterable[Any] = (), order: str = "submitted_at, rowid") -> list[dict[str, Any]]:
        """Rows of the journal (decoded), oldest first. Missing file: no rows."""
        if not self._ready and not self.path.exists():
            return []
        with closing(self.connect()) as connection:
            query = f"SELECT * FROM jobs {('WHERE ' + where) if where else ''} ORDER BY {order}"
            return [_decode(record) for record in connection.execute(query, tuple(params))]

    def unfinished(self) -> list[dict[str, Any]]:
        return self.rows("status NOT IN " + str(_TERMINAL))

    def completed_like(self, key: str, limit: int = 5) -> list[dict[str, Any]]:
        """The newest completed, not-cached rows with cache key ``key`` (candidates for the cache)."""
        return self.rows(
            "cache_key = ? AND status = 'completed' AND cached = 0 AND provider_id IS NOT NULL",
            (key,), order=f"finished_at DESC LIMIT {int(limit)}",
        )


# -- the process's journal -----------------------------------------------------------------------
_enabled: bool | None = None  # None: as the environment says
_path_override: Path | None = None
_journals: dict[Path, Journal] = {}
_journals_lock = threading.Lock()


def set_journal(enabled: bool | None = None, *, path: str | os.PathLike | None = None) -> None:
    """Turn the journal (and with it the result cache) on or off for this process, or move it.

    ``set_journal(False)`` stops recording; ``set_journal(True)`` resumes
    even if ``DOCCONVERT_NB_JOURNAL=0``; ``set_journal(None)`` goes back to
    what the environment says. ``path=`` uses another file.
    """
    global _enabled, _path_override
    _enabled = enabled
    if path is not None:
        _path_override = Path(path).expanduser()


def is_enabled() -> bool:
    return enabled_by_environment() if _enabled is None else _enabled


def current() -> Journal | None:
    """This process's journal (None when turned off)."""
    if not is_enabled():
        return None
    path = _path_override or home() / FILE_NAME
    with _journals_lock:
        journal = _journals.get(path)
        if journal is None:
            journal = _journals[path] = Journal(path)
        return journal


def flush(timeout: float = 5.0) -> bool:
    """Write every queued change of every journal this process uses; False if that took too long."""
    with _journals_lock:
        journals = list(_journals.values())
    deadline = time.monotonic() + timeout
    return all(j.flush(max(0.0, deadline - time.monotonic())) for j in journals)


atexit.register(flush, 2.0)


def watch(job: "Job") -> None:
    """Record ``job`` now and after every change (the tracker calls this for every job it follows)."""
    journal = current()
    if journal is None:
        return

    def write(changed: "Job") -> None:
        try:
            journal.record_job(changed)
        except Exception as exc:  # the journal must never break a job
            journal._complain(exc)

    write(job)
    job.recorder = write


def frame(*, unfinished: bool = False):
    """The journal as a pandas DataFrame: every job of this process and earlier ones, oldest first.

    Columns: ``key``, ``provider``, ``provider_id``, ``task``, ``source_name``,
    ``source_sha256``, ``target``, ``options`` (secrets masked), ``status``,
    ``message``, ``cached``, ``outputs``, ``saved``, ``submitted_at``,
    ``finished_at``... ``unfinished=True`` keeps the jobs not final yet.
    """
    import pandas as pd

    journal = current()
    rows: list[dict[str, Any]] = []
    if journal is not None:
        journal.flush(2.0)
        try:
            rows = journal.unfinished() if unfinished else journal.rows()
        except sqlite3.Error as exc:
            raise DocconvertError(f"cannot read the job journal {journal.path}: {exc}") from exc
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    for column in ("submitted_at", "started_at", "finished_at", "updated_at"):
        table[column] = pd.to_datetime(table[column], utc=True, format="ISO8601")
    return table


__all__ = ["Journal", "current", "flush", "frame", "home", "is_enabled", "set_journal", "watch"]
