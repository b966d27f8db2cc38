"""Format names, detection from content, and media types.

Formats are short lower-case names (``"png"``, ``"pdf"``, ``"docx"``). Detection
looks at the bytes first and at the file name only where bytes cannot decide
(plain-text formats, and the old binary Office formats when their directory
does not name the application).
"""

from __future__ import annotations

import io
import zipfile

from .errors import UnknownFormat

ALIASES = {
    "jpg": "jpeg",
    "jpe": "jpeg",
    "tif": "tiff",
    "htm": "html",
    "text": "txt",
    "djv": "djvu",
    "excel": "xlsx",
    "hocr.html": "hocr",
}

MEDIA_TYPES = {
    "png": "image/png",
    "jpeg": "image/jpeg",
    "tiff": "image/tiff",
    "webp": "image/webp",
    "bmp": "image/bmp",
    "gif": "image/gif",
    "pdf": "application/pdf",
    "djvu": "image/vnd.djvu",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
    "wpd": "application/vnd.wordperfect",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "rtf": "application/rtf",
    "html": "text/html",
    "hocr": "text/html",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "txt": "text/plain",
    "md": "text/markdown",
    "json": "application/json",
    "zip": "application/zip",
}

IMAGE_FORMATS = frozenset({"png", "jpeg", "tiff", "webp", "bmp", "gif"})
OFFICE_FORMATS = frozenset(
    {"docx", "doc", "odt", "rtf", "xlsx", "xls", "ods", "csv", "pptx", "ppt", "odp", "html"}
)
TEXT_FORMATS = frozenset({"txt", "csv", "tsv", "md", "html", "hocr", "json"})
#: Formats LibreOffice opens besides :data:`OFFICE_FORMATS` (only the embedded engine converts them).
LIBREOFFICE_EXTRA_FORMATS = frozenset({"wpd"})
#: Old binary formats whose many variants (Excel 2–4 sheets, WordPerfect or Works files named .doc, ...)
#: LibreOffice recognises by content: bytes we cannot place are handed to it as the name says.
_LEGACY_BINARY = frozenset({"doc", "xls", "ppt", "wpd"})

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE2_STREAMS = {
    "doc": "WordDocument".encode("utf-16-le"),
    "xls": "Workbook".encode("utf-16-le"),
    "ppt": "PowerPoint Document".encode("utf-16-le"),
}
_ENCRYPTED_OOXML = "EncryptedPackage".encode("utf-16-le")
#: BOF record of a bare BIFF2/3/4 worksheet (Excel 2.x–4.0 wrote no OLE2 container).
_BIFF_BOF = (b"\x09\x00\x04\x00", b"\x09\x02\x06\x00", b"\x09\x04\x06\x00")
_WORDPERFECT = b"\xffWPC"
_ODF_MIMETYPES = {
    b"application/vnd.oasis.opendocument.text": "odt",
    b"application/vnd.oasis.opendocument.spreadsheet": "ods",
    b"application/vnd.oasis.opendocument.presentation": "odp",
}

#: How many leading bytes detection reads.
SNIFF_BYTES = 8192


def normalize(fmt: str) -> str:
    """Canonical name of a format: ``"JPG"`` → ``"jpeg"``, ``".tif"`` → ``"tiff"``."""
    name = fmt.strip().lower().lstrip(".")
    return ALIASES.get(name, name)


def media_type(fmt: str) -> str:
    return MEDIA_TYPES.get(normalize(fmt), "application/octet-stream")


def extension(fmt: str) -> str:
    """File extension (without dot) used for outputs of this format."""
    fmt = normalize(fmt)
    return {"jpeg": "jpg", "hocr": "hocr.html"}.get(fmt, fmt)


def from_name(name: str | None) -> str | None:
    """Format implied by a file name's extension, or None."""
    if not name or "." not in name:
        return None
    lowered = name.lower()
    if lowered.endswith(".hocr.html") or lowered.endswith(".hocr"):
        return "hocr"
    return normalize(lowered.rsplit(".", 1)[1])


def detect(head: bytes, name: str | None = None, *, whole: bytes | None = None, path=None) -> str:
    """Detect the format of a document from its first bytes (and its name).

    ``head`` is the start of the file (``SNIFF_BYTES`` is plenty). Zip-based
    formats need the whole file to look inside: pass ``whole`` (bytes) or
    ``path``. Raises :class:`UnknownFormat` when neither content nor name tells.
    """
    by_name = from_name(name)
    if not head:
        raise UnknownFormat(f"{name or 'the input'} is empty (0 bytes)")

    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    if b"%PDF-" in head[:1024]:
        return "pdf"
    if head[:4] == b"AT&T" and head[12:16] in (b"DJVU", b"DJVM", b"DJVI"):
        return "djvu"
    if head.startswith(b"{\\rtf"):
        return "rtf"
    if head.startswith(_OLE2):
        return _detect_ole2(head, whole, path, by_name)
    if head.startswith(b"PK\x03\x04"):
        return _detect_zip(whole, path, by_name)
    if head[:4] in _BIFF_BOF:
        return "xls"
    if head.startswith(_WORDPERFECT):
        return "wpd"

    text = _as_text(head)
    if text is None:
        if by_name in _LEGACY_BINARY:
            return by_name  # LibreOffice tells the variant apart itself; see guess_note()
        raise UnknownFormat(
            f"cannot tell the format of {name or 'the input'}: its bytes match no known format"
        )
    stripped = text.lstrip("\ufeff \t\r\n").lower()
    if by_name in TEXT_FORMATS or by_name in {"rtf"}:
        return by_name
    if stripped.startswith("<!doctype html") or stripped.startswith("<html"):
        return "hocr" if "ocr_page" in text else "html"
    if by_name is None:
        return "txt"
    if by_name in OFFICE_FORMATS:
        return by_name  # LibreOffice opens plain text whatever the name says; see guess_note()
    raise UnknownFormat(
        f"{name} looks like plain text, not .{by_name}: the file may be truncated or misnamed"
    )


def guess_note(head: bytes, name: str | None, fmt: str) -> str | None:
    """A sentence for the user when ``fmt`` came from the name because the bytes did not confirm it.

    ``None`` when the content itself says ``fmt`` (the usual case).
    """
    if not head or not name or from_name(name) != fmt or fmt not in OFFICE_FORMATS | LIBREOFFICE_EXTRA_FORMATS:
        return None
    if fmt in {"doc", "xls", "ppt"} and (head.startswith(_OLE2) or (fmt == "xls" and head[:4] in _BIFF_BOF)):
        return None
    if fmt in {"docx", "xlsx", "pptx", "odt", "ods", "odp"} and head.startswith((b"PK\x03\x04", _OLE2)):
        return None
    if fmt == "wpd" and head.startswith(_WORDPERFECT):
        return None
    if fmt in TEXT_FORMATS or fmt == "rtf":
        return None
    text = _as_text(head)
    if text is None:
        return (f"{name}'s bytes are not a .{fmt} file this toolkit recognises; it was handed to LibreOffice "
                f"as .{fmt}, going by its name, and LibreOffice recognised the content itself")
    kind = "HTML" if text.lstrip("\ufeff \t\r\n").lower().startswith(("<!doctype html", "<html")) else "plain text"
    return f"{name} is {kind}, not a .{fmt} document; LibreOffice read it as {kind}"


def _as_text(head: bytes) -> str | None:
    utf16 = _as_utf16(head)
    if utf16 is not None:
        return utf16
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of the sniffed block is fine.
        if exc.start >= len(head) - 4:
            return head[: exc.start].decode("utf-8")
        try:
            return head.decode("cp1252")
        except UnicodeDecodeError:
            return None


def _as_utf16(head: bytes) -> str | None:
    """Text in UTF-16 (as Windows writes HTML and text files): a byte-order mark, or ASCII with every other byte 0."""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        encoding = "utf-16"
    elif len(head) >= 8 and head[1::2].count(0) > 0.9 * (len(head) // 2) and head[0::2].count(0) == 0:
        encoding = "utf-16-le"
    elif len(head) >= 8 and head[0::2].count(0) > 0.9 * (len(head) // 2) and head[1::2].count(0) == 0:
        encoding = "utf-16-be"
    else:
        return None
    text = head[: len(head) // 2 * 2].decode(encoding, errors="replace")
    if "\x00" in text or text.count("\ufffd") > 2:
        return None
    return text.lstrip("\ufeff")


def _read_all(whole, path) -> bytes | None:
    if whole is not None:
        return whole
    if path is not None:
        with open(path, "rb") as fh:
            return fh.read()
    return None


def _detect_ole2(head, whole, path, by_name) -> str:
    data = _read_all(whole, path) or head
    if _ENCRYPTED_OOXML in data:
        # Password-protected DOCX/XLSX/PPTX are OLE2 containers around the zip.
        return by_name if by_name in {"docx", "xlsx", "pptx"} else "docx"
    for fmt, marker in _OLE2_STREAMS.items():
        if marker in data:
            return fmt
    if by_name in {"doc", "xls", "ppt"}:
        return by_name
    raise UnknownFormat("an OLE2 (old Microsoft Office) file of unknown kind")


def _detect_zip(whole, path, by_name) -> str:
    data = _read_all(whole, path)
    if data is None:
        return by_name or "zip"
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = set(zf.namelist())
            if "mimetype" in names:
                kind = _ODF_MIMETYPES.get(zf.read("mimetype").strip())
                if kind:
                    return kind
            if "[Content_Types].xml" in names:
                for prefix, fmt in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                    if any(n.startswith(prefix) for n in names):
                        return fmt
    except zipfile.BadZipFile:
        if by_name in OFFICE_FORMATS:
            raise UnknownFormat(f"the .{by_name} file is damaged or truncated (broken zip)")
        raise UnknownFormat("a damaged or truncated zip archive")
    return "zip"


def is_password_protected(path) -> bool:
    """True for a password-protected document: OOXML, Word/Excel/PowerPoint 97–2003 or OpenDocument.

    Reads only the few bytes that say so: the OLE2 ``EncryptedPackage`` of OOXML, the
    ``fEncrypted`` bit of a Word FIB, an Excel ``FILEPASS`` record, PowerPoint's encrypted
    ``CurrentUserAtom`` token, an ODF manifest's ``encryption-data``. Unreadable files are not
    called protected (LibreOffice then says what is wrong with them).
    """
    with open(path, "rb") as fh:
        head = fh.read(8)
    try:
        if head.startswith(_OLE2):
            return _ole2_is_protected(path)
        if head.startswith(b"PK\x03\x04"):
            return _odf_is_protected(path)
    except Exception:  # noqa: BLE001  a damaged container is LibreOffice's to report
        return False
    return False


def _ole2_is_protected(path) -> bool:
    import olefile

    with olefile.OleFileIO(str(path)) as ole:
        streams = {"/".join(entry) for entry in ole.listdir()}
        if "EncryptedPackage" in streams or "EncryptedSummary" in streams:
            return True
        if "WordDocument" in streams:
            # [MS-DOC] 2.5.2 FibBase: flags at offset 0x0A, fEncrypted = 0x0100.
            fib = ole.openstream("WordDocument").read(12)
            return len(fib) >= 12 and bool(int.from_bytes(fib[10:12], "little") & 0x0100)
        for name in ("Workbook", "Book"):
            if name in streams:
                return _biff_has_filepass(ole.openstream(name).read(1 << 16))
        if "Current User" in streams:
            # [MS-PPT] 2.3.2 CurrentUserAtom: headerToken 0xF3D1C4DF marks an encrypted presentation.
            atom = ole.openstream("Current User").read(16)
            return len(atom) >= 16 and int.from_bytes(atom[12:16], "little") == 0xF3D1C4DF
    return False


def _biff_has_filepass(stream: bytes) -> bool:
    """[MS-XLS] 2.4.117 FilePass: right after the workbook globals' BOF when the workbook is encrypted."""
    offset = 0
    for _ in range(64):
        if offset + 4 > len(stream):
            return False
        kind = int.from_bytes(stream[offset:offset + 2], "little")
        size = int.from_bytes(stream[offset + 2:offset + 4], "little")
        if kind == 0x002F:
            return True
        if kind in (0x0085, 0x000A):  # BoundSheet8 or EOF: past the place a FilePass would be
            return False
        offset += 4 + size
    return False


def _odf_is_protected(path) -> bool:
    with zipfile.ZipFile(path) as zf:
        if "META-INF/manifest.xml" not in zf.namelist():
            return False
        return b"encryption-data" in zf.read("META-INF/manifest.xml")
