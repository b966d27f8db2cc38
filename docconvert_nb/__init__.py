"""docconvert_nb: asynchronous document conversion and OCR jobs for notebooks.

>>> import docconvert_nb as dc
>>> job = dc.convert("scan.png", to="pdf")   # returns at once; the job runs
>>> job.wait().outputs[0].save("out/")

Jobs run on the embedded engine by default (no account, no network), or on
a cloud service (``provider="aspose"``, ``"onlineconvert"``, ``"convertapi"``,
``"groupdocs"``) or its local simulator (``dc.simulate("aspose")``).
"""

from __future__ import annotations

import importlib

from . import providers
from ._version import __version__ as __version__
from .api import convert, convert_many, formats, jobs, ocr, recognize_tables, submit
from .errors import (
    AuthenticationError,
    ChecksumMismatch,
    DocconvertError,
    InvalidOptions,
    JobError,
    JobExpired,
    JobFailed,
    JobNotFound,
    JobTimeout,
    OutputUnavailable,
    ProviderError,
    ToolMissing,
    UnknownFormat,
    UnsupportedConversion,
)
from .jobs import Job, JobGroup, set_renderer
from .outputs import Output, set_result_helper
from .status import Availability, JobStatus

# Heavy or optional parts load on first use: `import docconvert_nb` stays fast.
_LAZY = {
    "doctor": "docconvert_nb.engine.doctor:doctor",
    "to_dataframe": "docconvert_nb.tables:to_dataframe",
    "preview": "docconvert_nb.previews:preview",
    "compare": "docconvert_nb.previews:compare",
    "clean_table": "docconvert_nb.tables:clean_table",
    "describe_table": "docconvert_nb.tables:describe_table",
    "plot_table": "docconvert_nb.tables:plot_table",
    "simulate": "docconvert_nb.simulators:simulate",
    "available_providers": "docconvert_nb.providers:available",
    "set_default_provider": "docconvert_nb.providers:set_default",
    "journal": "docconvert_nb.api:journal",
    "reattach": "docconvert_nb.api:reattach",
    "set_journal": "docconvert_nb.journaling:set_journal",
}


def __getattr__(name: str):
    if name in _LAZY:
        module_name, attr = _LAZY[name].split(":")
        value = getattr(importlib.import_module(module_name), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'docconvert_nb' has no attribute {name!r}")


def _render(obj, include=None, exclude=None):
    """Display hook for jobs and groups: the notebook layer, loaded when first needed."""
    try:
        notebook = importlib.import_module("docconvert_nb.notebook")
    except ImportError:
        return {"text/plain": repr(obj)}
    return notebook.mimebundle(obj, include=include, exclude=exclude)


set_renderer(_render)


def _lazy_helper(name: str):
    """``Job.<name>()``/``Output.<name>()`` call the helper layer, imported on first use."""

    def call(obj, **options):
        return __getattr__(name)(obj, **options)

    call.__name__ = name
    return call


for _helper in ("to_dataframe", "preview"):
    set_result_helper(_helper, _lazy_helper(_helper))


def _register_with_ipython() -> None:
    """Inside IPython, display jobs through the notebook layer, which refreshes the
    cell's output when the job is final (so saved notebooks show how it ended)."""
    import sys

    if "IPython" not in sys.modules:
        return
    shell = sys.modules["IPython"].get_ipython()
    if shell is None:
        return
    try:
        importlib.import_module("docconvert_nb.notebook").register(shell)
    except ImportError:
        pass


_register_with_ipython()


def load_ipython_extension(ipython) -> None:
    """``%load_ext docconvert_nb``: register the magics."""
    from .magics import load_ipython_extension as load

    importlib.import_module("docconvert_nb.notebook").register(ipython)
    load(ipython)


def unload_ipython_extension(ipython) -> None:
    from .magics import unload_ipython_extension as unload

    unload(ipython)


__all__ = [
    "Availability",
    "AuthenticationError",
    "ChecksumMismatch",
    "DocconvertError",
    "InvalidOptions",
    "Job",
    "JobError",
    "JobExpired",
    "JobFailed",
    "JobGroup",
    "JobNotFound",
    "JobStatus",
    "JobTimeout",
    "Output",
    "OutputUnavailable",
    "ProviderError",
    "ToolMissing",
    "UnknownFormat",
    "UnsupportedConversion",
    "available_providers",
    "clean_table",
    "compare",
    "convert",
    "convert_many",
    "describe_table",
    "doctor",
    "formats",
    "jobs",
    "journal",
    "ocr",
    "plot_table",
    "preview",
    "providers",
    "reattach",
    "recognize_tables",
    "set_default_provider",
    "set_journal",
    "simulate",
    "submit",
    "to_dataframe",
]
