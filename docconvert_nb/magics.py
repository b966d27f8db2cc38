"""IPython magics: submit conversions from a cell without writing Python.

``%load_ext docconvert_nb`` registers:

* ``%convert PATH_OR_GLOB --to FORMAT`` (and ``%%convert --to FORMAT --name NAME.ext``
  whose cell text is the document),
* ``%ocr PATH``, ``%table PATH``,
* ``%docconvert`` (status, default provider, providers, formats, jobs).

The magics only parse and route to the library (``dc.convert``, ``dc.ocr``...);
the job they return is the same live object the Python API gives. Settings are
traitlets, so ``%config DocconvertMagics.default_provider = "aspose"`` works.

Errors a user can fix (a missing file, an unknown format or provider, a bad
option) show as one line without a traceback, yet still raise, so a notebook
run top to bottom stops at the failing cell.
"""

from __future__ import annotations

import glob
import logging
import os
import sys
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from IPython.utils.process import arg_split
from traitlets import Float, TraitError, Unicode, observe, validate

from . import api, providers
from .errors import DocconvertError
from .jobs import Job, JobGroup

log = logging.getLogger(__name__)

#: ``%ocr --format`` spellings → the library's target format.
OCR_FORMATS = {"text": "txt", "txt": "txt", "hocr": "hocr", "tsv": "tsv", "pdf": "pdf"}
TABLE_FORMATS = ("csv", "xlsx")


class MagicError(Exception):
    """A library error raised from a magic, shown by IPython as its one-line message.

    IPython calls ``_render_traceback_`` instead of printing a traceback; the
    exception still propagates, so an executed notebook stops at the cell.
    """

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def _render_traceback_(self) -> list[str]:
        return [self.message]


def describe_error(exc: BaseException) -> str:
    """``"UnknownFormat: ..."``: the error's type and message on one line."""
    text = " ".join(str(exc).split())
    if isinstance(exc, FileNotFoundError) and exc.filename and not text.startswith("no such"):
        text = f"no such file: {exc.filename}"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _friendly(call, *args, **kwargs):
    """Run a library call; expected errors become a :class:`MagicError`."""
    try:
        return call(*args, **kwargs)
    except UsageError:
        raise
    except (DocconvertError, OSError) as exc:
        raise MagicError(describe_error(exc)) from None


def parse_options(pairs: list[str] | None) -> dict[str, str]:
    """``["dpi=200", "pages=1-3"]`` → ``{"dpi": "200", "pages": "1-3"}`` (the engine coerces types)."""
    options: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--opt expects key=value, got {pair!r} (e.g. --opt dpi=200)")
        options[key] = value
    return options


def _parse(method, line: str):
    """Parse a magic's line with POSIX quoting, so ``"my scans/page 1.png"`` is one argument."""
    try:
        argv = arg_split(line, posix=True, strict=True)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"cannot parse the arguments: {exc}") from None
    return method.parser.parse_args(argv)


def _variable_name(name: str | None) -> str | None:
    if name is not None and not name.isidentifier():
        raise UsageError(f"-o expects a Python variable name, got {name!r}")
    return name


@magics_class
class DocconvertMagics(Magics):
    """The ``%convert``, ``%ocr``, ``%table`` and ``%docconvert`` magics."""

    default_provider = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Provider the magics (and every call naming none) use: embedded, aspose, onlineconvert, "
        "convertapi or groupdocs. None keeps the library's default.",
    )
    wait_timeout = Float(
        None,
        allow_none=True,
        config=True,
        help="Seconds --wait blocks before giving up (the job keeps running). None waits as long as it takes.",
    )
    save_to = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Folder where every magic saves its outputs once a job completes (--save-to overrides it).",
    )

    dask_scheduler = Unicode(
        None,
        allow_none=True,
        config=True,
        help="Address of the Dask scheduler that --provider dask runs on (default: "
        "$DOCCONVERT_NB_DASK_SCHEDULER, else a LocalCluster).",
    )

    @observe("dask_scheduler")
    def _apply_dask_scheduler(self, change):
        from .providers.dask import use_scheduler

        use_scheduler(change["new"])

    @validate("default_provider")
    def _check_provider(self, proposal):
        name = proposal["value"]
        if name is None:
            return None
        canonical = name.strip().lower().replace("-", "").replace("_", "")
        if canonical not in providers.BUILTIN:
            raise TraitError(f"unknown provider {name!r}; known: {', '.join(providers.BUILTIN)}")
        return canonical

    @observe("default_provider")
    def _apply_provider(self, change):
        if change["new"] is not None:
            providers.set_default(change["new"])

    # -- %convert / %%convert -------------------------------------------------------
    @magic_arguments()
    @argument("path", nargs="?", help="a file, a folder, or a glob pattern such as 'scans/*.png' (line magic only)")
    @argument("--to", required=True, metavar="FORMAT", help="target format: pdf, png, jpeg, tiff...")
    @argument("--provider", metavar="NAME", help="embedded (default), aspose, onlineconvert, convertapi, groupdocs")
    @argument("--opt", action="append", metavar="KEY=VALUE", help="a converter option, repeatable: --opt dpi=200")
    @argument("--name", metavar="NAME.ext", help="cell magic: the document's file name (its extension names the format)")
    @argument("--save-to", dest="save_to", metavar="DIR", help="save the outputs into DIR once the job completes")
    @argument("--wait", action="store_true", help="block until the job (or every job) is done")
    @argument("-o", "--output", metavar="NAME", help="store the job in the variable NAME instead of displaying it")
    @line_cell_magic
    def convert(self, line: str, cell: str | None = None):
        """Convert a document; returns the live Job (a JobGroup for a folder or a glob).

        Examples::

            %convert scan.png --to pdf
            %convert "my scans/*.png" --to pdf --save-to out
            %convert report.pdf --to png --opt dpi=150 --opt pages=1-2 -o pages
            job = %convert scan.png --to pdf       # IPython's own assignment works too

            %%convert --to pdf --name invoice.html
            <h1>Invoice 42</h1><p>Total: 12.50</p>

        In a cell magic the cell's text (HTML, CSV, RTF: any text format the provider reads) is
        the document; ``--name`` gives its file name and so its format.
        """
        args = _parse(self.convert, line)
        options = parse_options(args.opt)
        common = dict(provider=self._provider(args.provider), save_to=self._save_to(args.save_to))
        if cell is not None:
            if args.path:
                raise UsageError("%%convert converts the cell's text: give --name NAME.ext, not a path")
            if not args.name:
                raise UsageError("%%convert needs --name NAME.ext (the extension names the cell's format)")
            result = _friendly(api.convert, cell.encode("utf-8"), args.to, name=args.name, **common, **options)
        else:
            if not args.path:
                raise UsageError("%convert needs a file, folder or glob: %convert PATH --to FORMAT")
            if args.name:
                raise UsageError("--name is for the cell magic %%convert; a file keeps its own name")
            result = self._submit_path("convert", args.path, args.to, common, options)
        return self._finish(result, args.output, args.wait)

    # -- %ocr -----------------------------------------------------------------------
    @magic_arguments()
    @argument("path", help="an image, PDF or DjVu (a folder or glob makes a group)")
    @argument("--lang", default="eng", help="Tesseract language code(s), e.g. eng or eng+deu (default eng)")
    @argument("--format", default="text", choices=sorted(OCR_FORMATS), help="text (default), hocr, tsv or pdf")
    @argument("--provider", metavar="NAME", help="the provider to run on (default: the default provider)")
    @argument("--opt", action="append", metavar="KEY=VALUE", help="an OCR option, repeatable: --opt dpi=300")
    @argument("--save-to", dest="save_to", metavar="DIR", help="save the outputs into DIR once the job completes")
    @argument("--wait", action="store_true", help="block until the job is done")
    @argument("-o", "--output", metavar="NAME", help="store the job in the variable NAME instead of displaying it")
    @line_magic
    def ocr(self, line: str):
        """Recognize the text of an image, PDF or DjVu; returns the live Job.

        Examples::

            %ocr scan.png
            %ocr "letters/page 1.tiff" --lang eng+deu --format pdf -o searchable
            %ocr scan.png --wait        # then: _.outputs[0].text()
        """
        args = _parse(self.ocr, line)
        options = {"lang": args.lang, **parse_options(args.opt)}
        common = dict(provider=self._provider(args.provider), save_to=self._save_to(args.save_to))
        result = self._submit_path("ocr", args.path, OCR_FORMATS[args.format], common, options)
        return self._finish(result, args.output, args.wait)

    # -- %table ---------------------------------------------------------------------
    @magic_arguments()
    @argument("path", help="an image or PDF page holding a table")
    @argument("--format", default="csv", choices=TABLE_FORMATS, help="csv (default) or xlsx")
    @argument("--provider", metavar="NAME", help="the provider to run on (default: the default provider)")
    @argument("--opt", action="append", metavar="KEY=VALUE", help="a table option, repeatable")
    @argument("--save-to", dest="save_to", metavar="DIR", help="save the outputs into DIR once the job completes")
    @argument("--wait", action="store_true", help="block until done and return the DataFrame")
    @argument("-o", "--output", metavar="DF_NAME", help="put the DataFrame in the variable DF_NAME when the job completes")
    @line_magic
    def table(self, line: str):
        """Recognize the tables of an image or PDF page as a pandas DataFrame.

        Without ``--wait`` the cell returns at once with the live Job; with
        ``-o df`` the DataFrame lands in ``df`` as soon as the job completes
        (the cell does not block). With ``--wait`` the cell blocks and returns
        the DataFrame (or stores it in ``-o``'s variable). Several tables give
        a dict of DataFrames keyed by output name.

        Examples::

            %table invoice.png -o df       # df appears when the job completes
            %table invoice.png --wait      # the DataFrame, now
        """
        args = _parse(self.table, line)
        name = _variable_name(args.output)
        options = parse_options(args.opt)
        common = dict(provider=self._provider(args.provider), save_to=self._save_to(args.save_to))
        job = _friendly(api.recognize_tables, args.path, args.format, **common, **options)
        if args.wait:
            self._wait(job)
            frame = _friendly(job.to_dataframe)
            if name:
                self.shell.user_ns[name] = frame
                return None
            return frame
        if name:
            self._assign_when_complete(job, name)
        return job

    def _assign_when_complete(self, job: Job, name: str) -> None:
        """Put ``job``'s DataFrame into the user namespace once it completes (on the tracker's thread).

        Until then ``name`` holds a :class:`PendingTable` that says so (instead of a NameError on
        the next line); a failed job leaves it saying why. A value the user put there meanwhile is kept.
        """
        pending = PendingTable(job, name)
        self.shell.user_ns[name] = pending

        def assign(finished: Job) -> None:
            if self.shell.user_ns.get(name) is not pending:
                return  # the user reassigned the name meanwhile
            if not finished.ok:
                return
            try:
                self.shell.user_ns[name] = finished.to_dataframe()
            except Exception as exc:  # a background thread has nowhere to raise to
                pending.error = describe_error(exc)
                log.exception("could not read the tables of job %s into %s", finished.id, name)

        job.add_done_callback(assign)

    # -- %docconvert ------------------------------------------------------------------
    @magic_arguments()
    @argument("command", nargs="?", default="status",
              help="status (default), provider [NAME], providers, formats, jobs")
    @argument("value", nargs="?", help="the provider name for 'provider NAME'")
    @argument("--provider", metavar="NAME", help="formats: of this provider")
    @argument("--task", choices=("convert", "ocr", "tables"), help="formats: only this task")
    @line_magic
    def docconvert(self, line: str):
        """Status and settings of docconvert_nb.

        Examples::

            %docconvert                    # default provider and tracked jobs
            %docconvert provider aspose    # make aspose the default provider
            %docconvert providers          # every provider, configured or not
            %docconvert formats --task ocr
            %docconvert jobs               # the jobs of this session as a table
        """
        args = _parse(self.docconvert, line)
        command = args.command.lower()
        if command != "provider" and args.value:
            raise UsageError(f"%docconvert {command} takes no argument {args.value!r}")
        if command == "status":
            return Status.now()
        if command == "provider":
            if args.value is None:
                return Status.now()
            try:
                self.default_provider = args.value
            except TraitError as exc:
                raise UsageError(str(exc)) from None
            return Status.now()
        if command == "providers":
            return providers_frame()
        if command == "formats":
            return _friendly(api.formats, provider=self._provider(args.provider), task=args.task)
        if command == "jobs":
            return jobs_frame(api.jobs())
        raise UsageError(
            f"unknown %docconvert command {args.command!r}; use status, provider, providers, formats or jobs"
        )

    # -- helpers ------------------------------------------------------------------------
    def _provider(self, name: str | None) -> str | None:
        """The provider a call uses: --provider, else the configured default (validated here, once)."""
        chosen = name or self.default_provider
        if chosen is None:
            return None
        _friendly(providers.provider_class, chosen.strip().lower().replace("-", "").replace("_", ""))
        return chosen

    def _save_to(self, folder: str | None) -> str | None:
        folder = folder or self.save_to
        return os.path.expanduser(folder) if folder else None

    def _submit_path(self, task: str, path: str, to: str, common: dict, options: dict) -> Job | JobGroup:
        """One job for a file; a JobGroup for a folder or a glob pattern."""
        expanded = Path(path).expanduser()
        if expanded.is_file() or not (expanded.is_dir() or glob.has_magic(path)):
            return _friendly(api.submit, task, expanded, to, options=options, **common)
        if not api.expand(path):
            what = "the folder holds no file" if expanded.is_dir() else "no file matches"
            raise MagicError(f"FileNotFoundError: {what}: {path}")
        return _friendly(api.convert_many, path, to, task=task, name=path, **common, **options)

    def _wait(self, result: Job | JobGroup) -> None:
        try:
            result.wait(self.wait_timeout)
        except KeyboardInterrupt:
            raise MagicError("interrupted; the job keeps running (it is still tracked)") from None
        except DocconvertError as exc:
            raise MagicError(describe_error(exc)) from None

    def _finish(self, result: Job | JobGroup, variable: str | None, wait: bool):
        """Store the result in ``-o``'s variable (returning None, so it is not shown twice) or return it."""
        name = _variable_name(variable)
        if name:
            self.shell.user_ns[name] = result
        if wait:
            self._wait(result)
        return None if name else result


class TableNotReady(DocconvertError, AttributeError):
    """Raised on using a ``%table -o`` variable before its job completed (an AttributeError too,
    so ``hasattr()`` checks answer False instead of failing)."""


class PendingTable:
    """What ``%table PATH -o df`` leaves in ``df`` until the job completes: a hint, not a NameError.

    Any use other than looking at it raises :class:`DocconvertError` saying
    what to do: wait for the job (``df.job.wait()``), or use ``--wait``.
    """

    def __init__(self, job: Job, name: str):
        self.job = job
        self.name = name
        self.error: str | None = None

    def _hint(self) -> str:
        job = self.job
        if self.error or (job.done and not job.ok):
            why = self.error or "; ".join(job.errors) or job.message
            return f"{self.name} holds no DataFrame: the job for {job.source_name} {job.status}: {why}"
        if job.ok:
            return f"{self.name} is being filled with the tables of {job.source_name}; run the cell again"
        return (f"{self.name} is not ready yet: the job for {job.source_name} is {job.status}. "
                f"It becomes the DataFrame when the job completes; wait with `{self.name}.job.wait()` "
                f"first, or use `%table ... --wait -o {self.name}`.")

    def __repr__(self) -> str:
        return f"<{self._hint()}>"

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(self._hint())

    def __getattr__(self, attribute: str):
        if attribute.startswith("_"):
            raise AttributeError(attribute)
        raise TableNotReady(self._hint())

    def __getitem__(self, key):
        raise TableNotReady(self._hint())

    def __len__(self) -> int:
        raise TableNotReady(self._hint())

    def __iter__(self):
        raise TableNotReady(self._hint())


class Status:
    """What ``%docconvert`` shows: the default provider and the jobs tracked in this session."""

    def __init__(self, provider: dict[str, Any], counts: dict[str, int]):
        self.provider = provider
        self.counts = counts

    @classmethod
    def now(cls) -> "Status":
        from collections import Counter

        info = _friendly(providers.default).describe()
        counts = Counter(job.status.value for job in api.jobs())
        return cls(info, dict(counts))

    def __repr__(self) -> str:
        label = self.provider.get("label") or self.provider.get("name")
        simulator = " (simulator)" if self.provider.get("simulator") else ""
        total = sum(self.counts.values())
        states = ", ".join(f"{n} {state}" for state, n in sorted(self.counts.items(), key=lambda kv: -kv[1]))
        jobs = f"{total} job{'s' if total != 1 else ''} tracked" + (f" ({states})" if states else "")
        return (
            f"docconvert_nb: default provider {self.provider.get('name')} — {label}{simulator}; {jobs}\n"
            "  %docconvert provider NAME | providers | formats | jobs"
        )

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(repr(self))


JOB_COLUMNS = ["id", "provider", "source", "target", "status", "elapsed"]


def jobs_frame(jobs: list[Job]):
    """The jobs as a DataFrame: id, provider, source, target, status, elapsed (seconds)."""
    import pandas as pd

    rows = [
        {
            "id": job.id,
            "provider": job.provider.name,
            "source": job.source_name,
            "target": job.target,
            "status": job.status.value,
            "elapsed": round(job.elapsed, 1),
        }
        for job in jobs
    ]
    return pd.DataFrame(rows, columns=JOB_COLUMNS)


def providers_frame():
    """``dc.available_providers()`` as a DataFrame, one row per provider."""
    import pandas as pd

    rows = providers.available()
    preferred = ["name", "label", "default", "configured", "simulator"]
    frame = pd.DataFrame(rows)
    columns = [c for c in preferred if c in frame.columns] + [c for c in frame.columns if c not in preferred]
    return frame[columns]


def load_ipython_extension(ipython) -> None:
    """Register the magics (``%load_ext docconvert_nb``); %config sees DocconvertMagics."""
    if isinstance(ipython.magics_manager.registry.get(DocconvertMagics.__name__), DocconvertMagics):
        return
    try:
        magics = DocconvertMagics(shell=ipython)
    except TraitError as exc:  # a bad `%config DocconvertMagics...` earlier in the session
        print(f"docconvert_nb: ignoring the DocconvertMagics settings: {exc}", file=sys.stderr)
        ipython.config.pop(DocconvertMagics.__name__, None)
        # Magics.__init__ joined shell.configurables before failing: drop the broken instance.
        ipython.configurables[:] = [c for c in ipython.configurables if not isinstance(c, DocconvertMagics)]
        magics = DocconvertMagics(shell=ipython)
    ipython.register_magics(magics)  # Magics.__init__ already made it one of shell.configurables


def unload_ipython_extension(ipython) -> None:
    """Remove the magics again (``%unload_ext docconvert_nb``)."""
    magics = ipython.magics_manager.registry.pop(DocconvertMagics.__name__, None)
    if not isinstance(magics, DocconvertMagics):
        return
    for kind, names in magics.magics.items():
        table = ipython.magics_manager.magics[kind]
        for name in names:
            table.pop(name, None)
    if magics in ipython.configurables:
        ipython.configurables.remove(magics)


__all__ = [
    "DocconvertMagics",
    "MagicError",
    "Status",
    "jobs_frame",
    "load_ipython_extension",
    "parse_options",
    "providers_frame",
    "unload_ipython_extension",
]
