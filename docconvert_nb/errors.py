"""Exception hierarchy.

Every error the library raises on purpose derives from :class:`DocconvertError`,
so ``except dc.DocconvertError`` catches them all. Messages are written for the
person at the notebook: what went wrong and, where we know it, what to do.
"""

from __future__ import annotations


class DocconvertError(Exception):
    """Base class of every docconvert_nb error."""


class UnsupportedConversion(DocconvertError, ValueError):
    """No converter of the chosen provider turns this source into that target."""


class UnknownFormat(DocconvertError, ValueError):
    """The input's format could not be recognised from its bytes or its name."""


class InputError(DocconvertError, OSError):
    """The document a call names cannot be read as input (missing, a folder, not a regular file).

    Also an ``OSError`` (and the matching subclass), so ``except OSError`` keeps working.
    """


class InputNotFound(InputError, FileNotFoundError):
    """No file at the path given (or a symbolic link to nothing)."""


class InputIsFolder(InputError, IsADirectoryError):
    """The path given is a folder, not a document."""


class InputNotRegular(InputError):
    """The path is not a regular file: a FIFO, socket or device, a symbolic-link loop, or unreadable."""


class InvalidOptions(DocconvertError, ValueError):
    """An option the converter does not know, or a value it cannot take."""


class ProviderError(DocconvertError):
    """A provider (a cloud service or the embedded engine) refused or failed a call.

    ``status_code`` is the HTTP status where there is one, ``code`` the
    provider's own error code where it sends one.
    """

    def __init__(self, message: str, *, status_code: int | None = None, code: object = None):
        super().__init__(message)
        self.status_code = status_code
        self.code = code


class AuthenticationError(ProviderError):
    """Credentials are missing, wrong or expired."""


class JobError(DocconvertError):
    """Base class of the errors about one job; ``job`` is the job concerned."""

    def __init__(self, message: str, job=None):
        super().__init__(message)
        self.job = job


class JobFailed(JobError):
    """The job ended in the failed (or canceled) state; ``messages`` has its errors."""

    def __init__(self, message: str, job=None, messages: list[str] | None = None):
        super().__init__(message, job)
        self.messages = list(messages or [])


class JobExpired(JobError):
    """The job or its results are gone: past the retention window, or deleted."""


class JobNotFound(JobError):
    """The provider does not know this job id."""


class JobTimeout(JobError, TimeoutError):
    """``wait(timeout=...)`` ran out before the job reached a final state.

    The job itself goes on and stays tracked.
    """


class OutputUnavailable(DocconvertError):
    """An output cannot be read: expired, deleted or over its download limit."""


class ChecksumMismatch(ProviderError):
    """A downloaded output does not match the checksum the provider announced."""


class ToolMissing(DocconvertError):
    """A system tool a converter needs (Tesseract, LibreOffice, djvulibre) is absent."""

    def __init__(self, tool: str, install_hint: str):
        super().__init__(f"{tool} is not installed. Install it with: {install_hint}")
        self.tool = tool
        self.install_hint = install_hint
