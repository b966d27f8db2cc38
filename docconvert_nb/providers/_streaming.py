"""Parse a JSON body whose big base64 fields go straight to files, in bounded memory.

Aspose.OCR Cloud answers ``GET /v5.0/ocr/{Task}?id=`` with the results as
base64 strings inside the JSON (``results[].data``, see
https://docs.aspose.cloud/ocr/ ). Parsing that with ``json.load`` holds the
body, its text and every decoded string at once: about four times the
output's size. :class:`Base64JsonSink` takes the body chunk by chunk as it
arrives (it has ``write``, so it can be the sink of a streamed download),
decodes the string value of every object member named in ``keys`` slice by
slice into its own temporary file, and keeps only the rest of the document,
which it parses at the end::

    sink = Base64JsonSink(keys={"data"}, directory=cache)
    http.download(url, sink)              # or: for chunk in response.iter_content(1 << 20): sink.write(chunk)
    document = sink.finish()              # results[i]["data"] is now a DecodedFile(path, size)

Peak memory is a chunk plus the document without those strings (bounded by
``max_text``), whatever the size of the results. The scanner only tracks
string boundaries and nesting (byte-level, which is safe for UTF-8: no byte
of a multi-byte character is a quote or a backslash); ``json.loads`` of the
remaining text does the real validation.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Collection, Iterable

#: Outside strings: the bytes that change the structure.
_STRUCTURE = re.compile(rb'[{}\[\]:,"]')
_WHITESPACE = b" \t\r\n"
#: JSON escapes allowed inside a base64 string: ``\/`` is a base64 character, the others wrap lines.
_BASE64_ESCAPES = {ord("/"): b"/", ord("n"): b"", ord("r"): b"", ord("t"): b""}
_PLACEHOLDER = "\u0000docconvert-stream:{}"


def _string_stop(chunk: bytes, pos: int) -> int:
    """Inside a string: where it may end (a quote) or an escape starts (a backslash); -1 if neither.

    Two ``bytes.find`` calls (memchr speed) rather than a regex: this runs over every byte of the results.
    """
    quote = chunk.find(b'"', pos)
    backslash = chunk.find(b"\\", pos, quote if quote >= 0 else len(chunk))
    return backslash if backslash >= 0 else quote


class StreamingJsonError(ValueError):
    """The body is not JSON, a decoded field is not valid base64, or the rest of the document is too large."""


@dataclass(frozen=True)
class DecodedFile:
    """A base64 field of the document, decoded into ``path`` (``size`` bytes). The caller owns the file."""

    path: Path
    size: int


class _Base64File:
    """Decodes base64 text written in arbitrary slices into a temporary file."""

    def __init__(self, directory: str | os.PathLike | None):
        fd, name = tempfile.mkstemp(prefix="field-", suffix=".bin", dir=directory)
        self.path = Path(name)
        self._out = os.fdopen(fd, "wb")
        self._carry = b""  # fewer than 4 base64 characters waiting for the rest of their quantum
        self.size = 0
        self.padded = False

    def write(self, text: bytes) -> None:
        text = text.translate(None, _WHITESPACE)
        if not text:
            return
        if self.padded:
            raise StreamingJsonError("base64 text continues after its '=' padding")
        data = self._carry + text if self._carry else text
        usable = len(data) - len(data) % 4
        if usable:
            try:
                decoded = base64.b64decode(data[:usable], validate=True)
            except (binascii.Error, ValueError):
                raise StreamingJsonError("a field is not valid base64") from None
            self._out.write(decoded)
            self.size += len(decoded)
            self.padded = data[usable - 1:usable] == b"="
        self._carry = data[usable:]

    def close(self) -> DecodedFile:
        self._out.close()
        if self._carry:
            raise StreamingJsonError("a base64 field ends in the middle of a 4-character group (truncated?)")
        return DecodedFile(self.path, self.size)

    def discard(self) -> None:
        self._out.close()
        self.path.unlink(missing_ok=True)


class Base64JsonSink:
    """A writable sink for a JSON body; :meth:`finish` returns the document with ``keys`` decoded to files.

    ``keys``: names of the object members whose string values are base64 (at
    any depth; a ``null`` or non-string value is left as it is).
    ``directory``: where the decoded files go (default: the system temp folder).
    ``max_text``: the most bytes of the *rest* of the document kept in memory;
    more raises :class:`StreamingJsonError` (a body that is big for another
    reason is refused, never held whole).
    On any error every file written so far is removed; call :meth:`discard`
    when the body stops arriving (a broken download) to do the same.
    """

    def __init__(self, keys: Collection[str], directory: str | os.PathLike | None = None, *,
                 max_text: int = 16 << 20):
        self.keys = frozenset(keys)
        self.directory = directory
        self.max_text = max_text
        self._kept = bytearray()
        self._stack: list[list] = []  # per open container: [kind b"{" or b"[", current member name]
        self._expect_key = False
        self._in_string = False
        self._escape = False
        self._key: bytearray | None = None  # the member name being read, raw
        self._field: _Base64File | None = None  # the base64 value being decoded
        self._pending = b""  # an escape cut by a chunk boundary, inside a base64 value
        self._files: list[_Base64File] = []
        self._decoded: dict[str, DecodedFile] = {}
        self._failed = False

    # -- feeding ----------------------------------------------------------------------------
    def write(self, chunk: bytes) -> int:
        """Take the next slice of the body (any size, cut anywhere)."""
        if self._failed:
            raise StreamingJsonError("the body already failed to parse")
        try:
            self._feed(bytes(chunk))
        except BaseException:
            self._abort()
            raise
        return len(chunk)

    def finish(self) -> Any:
        """The parsed document; each decoded field is a :class:`DecodedFile`."""
        try:
            if self._in_string or self._stack or self._pending:
                raise StreamingJsonError("the JSON body ends in the middle of a value (truncated?)")
            try:
                return json.loads(self._kept.decode("utf-8"), object_pairs_hook=self._substitute)
            except (UnicodeDecodeError, ValueError) as exc:
                raise StreamingJsonError(f"the body is not valid JSON ({exc})") from None
        except BaseException:
            self._abort()
            raise

    def discard(self) -> None:
        """Remove every file decoded so far (the download broke off, or the caller gives up)."""
        self._abort()

    def seek(self, offset: int, whence: int = 0) -> int:
        """Only ``seek(0)``: start over for a download that is sent again (files so far removed)."""
        if offset or whence:
            raise OSError("a Base64JsonSink can only start over from the beginning")
        self._abort()
        type(self).__init__(self, self.keys, self.directory, max_text=self.max_text)
        return 0

    def truncate(self, size: int | None = None) -> int:
        """Nothing to cut after :meth:`seek` ``(0)``: the sink holds nothing then."""
        return 0

    def _substitute(self, pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        return {key: self._decoded.get(value, value) if key in self.keys and isinstance(value, str) else value
                for key, value in pairs}

    def _keep(self, data: bytes) -> None:
        self._kept += data
        if len(self._kept) > self.max_text:
            raise StreamingJsonError(
                f"the JSON body holds more than {self.max_text} bytes besides its base64 fields {sorted(self.keys)}")

    # -- the scanner ----------------------------------------------------------------------------
    def _feed(self, chunk: bytes) -> None:
        if self._pending:
            chunk, self._pending = self._pending + chunk, b""
        pos, end = 0, len(chunk)
        while pos < end:
            if self._field is not None:
                pos = self._scan_field(chunk, pos)
            elif self._in_string:
                pos = self._scan_string(chunk, pos)
            else:
                pos = self._scan_structure(chunk, pos)

    def _scan_structure(self, chunk: bytes, pos: int) -> int:
        match = _STRUCTURE.search(chunk, pos)
        if match is None:
            self._keep(chunk[pos:])
            return len(chunk)
        at = match.start()
        self._keep(chunk[pos:at])
        char = chunk[at:at + 1]
        top = self._stack[-1] if self._stack else None
        if char == b'"':
            if top is not None and top[0] == b"{" and self._expect_key:
                self._expect_key = False
                self._key = bytearray()
                self._in_string = True
                self._keep(char)
            elif top is not None and top[0] == b"{" and top[1] in self.keys:
                self._start_field()
            else:
                self._in_string = True
                self._keep(char)
            return at + 1
        self._keep(char)
        if char in (b"{", b"["):
            self._stack.append([char, None])
            self._expect_key = char == b"{"
        elif char in (b"}", b"]"):
            if not self._stack:
                raise StreamingJsonError("the JSON body closes a bracket it never opened")
            self._stack.pop()
            self._expect_key = False
        elif char == b",":
            self._expect_key = top is not None and top[0] == b"{"
        return at + 1

    def _scan_string(self, chunk: bytes, pos: int) -> int:
        """An ordinary string (kept as text); a member name is also remembered."""
        if self._escape:  # the byte after a backslash cannot end the string
            self._escape = False
            self._keep_string(chunk[pos:pos + 1])
            pos += 1
            if pos >= len(chunk):
                return pos
        at = _string_stop(chunk, pos)
        if at < 0:
            self._keep_string(chunk[pos:])
            return len(chunk)
        self._keep_string(chunk[pos:at + 1])
        if chunk[at:at + 1] == b"\\":
            self._escape = True
            return at + 1
        self._in_string = False
        if self._key is not None:  # the closing quote of a member name
            name_text = bytes(self._key[:-1])
            self._key = None
            try:
                name = json.loads(b'"' + name_text + b'"')
            except ValueError:
                raise StreamingJsonError("the JSON body has a malformed member name") from None
            if self._stack:
                self._stack[-1][1] = name
        return at + 1

    def _keep_string(self, data: bytes) -> None:
        self._keep(data)
        if self._key is not None:
            self._key += data

    def _start_field(self) -> None:
        field = _Base64File(self.directory)
        self._files.append(field)
        self._field = field

    def _scan_field(self, chunk: bytes, pos: int) -> int:
        """Inside a base64 value: decode up to the closing quote."""
        field = self._field
        at = _string_stop(chunk, pos)
        if at < 0:
            field.write(chunk[pos:])
            return len(chunk)
        field.write(chunk[pos:at])
        if chunk[at:at + 1] == b'"':
            decoded = field.close()
            placeholder = _PLACEHOLDER.format(len(self._decoded))
            self._decoded[placeholder] = decoded
            self._keep(json.dumps(placeholder).encode())
            self._field = None
            return at + 1
        # an escape: \/ \n \r \t, or \uXXXX standing for one of those characters
        if at + 1 >= len(chunk):
            self._pending = chunk[at:]
            return len(chunk)
        code = chunk[at + 1]
        if code == ord("u"):
            if at + 6 > len(chunk):
                self._pending = chunk[at:]
                return len(chunk)
            try:
                char = chr(int(chunk[at + 2:at + 6], 16))
            except ValueError:
                raise StreamingJsonError("the JSON body has a malformed \\u escape") from None
            if not (char.isascii() and (char.isalnum() or char in "+/=" or char in " \t\r\n")):
                raise StreamingJsonError("a base64 field holds a character base64 does not use")
            field.write(char.encode())
            return at + 6
        if code not in _BASE64_ESCAPES:
            raise StreamingJsonError("a base64 field holds an escape base64 does not use")
        field.write(_BASE64_ESCAPES[code])
        return at + 2

    def _abort(self) -> None:
        self._failed = True
        for field in self._files:
            field.discard()
        self._files.clear()
        self._decoded.clear()


def load_base64_json(body: IO[bytes] | Iterable[bytes], keys: Collection[str], directory=None, *,
                     chunk_size: int = 1 << 20, max_text: int = 16 << 20) -> Any:
    """Parse a JSON body (a binary file or an iterable of chunks) with ``keys`` decoded to files."""
    sink = Base64JsonSink(keys, directory, max_text=max_text)
    if hasattr(body, "read"):
        while chunk := body.read(chunk_size):
            sink.write(chunk)
    else:
        for chunk in body:
            sink.write(chunk)
    return sink.finish()


__all__ = ["Base64JsonSink", "DecodedFile", "StreamingJsonError", "load_base64_json"]
