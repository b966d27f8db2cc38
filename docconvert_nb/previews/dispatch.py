"""``preview()``: pick the right preview for what a result holds."""

from __future__ import annotations

from ..errors import DocconvertError
from ..fileformats import IMAGE_FORMATS
from ..jobs import Job
from ..tables import to_dataframe
from ..tables.inputs import Document, resolve
from ..tables.reading import looks_tabular
from .base import DEFAULT_MAX_BYTES
from .boxes import BoxesPreview, is_tesseract_tsv, parse_boxes
from .files import FilePreview
from .frames import TablesPreview
from .pages import DEFAULT_PAGES, image_preview, pdf_preview
from .text import DEFAULT_LINES, TextPreview

TEXT_KINDS = frozenset({"txt", "md", "html", "json", "tsv", "csv"})


def preview(result, *, pages: int = DEFAULT_PAGES, page: int = 1, image=None, lines: int = DEFAULT_LINES,
            max_bytes: int = DEFAULT_MAX_BYTES, format: str | None = None, password: str | None = None,
            outputs: int = 3):
    """Something a notebook displays well for ``result``.

    ``result`` is an :class:`~docconvert_nb.outputs.Output`, a completed
    :class:`~docconvert_nb.jobs.Job` (then: the source next to the result,
    see :func:`compare`), a path, bytes or a base64 string.

    - PDF: thumbnails of the first ``pages`` pages and the page count,
      rendered only when displayed; images: the image scaled down (or
      thumbnails of a multi-page TIFF's frames).
    - Text: the first ``lines`` lines, numbered.
    - hOCR and Tesseract TSV: the word boxes drawn over the page image,
      coloured by confidence. For a job the image is its source; for an
      output or a file pass ``image=`` (path, bytes, Output). ``page=`` picks
      the page.
    - CSV/XLSX: the DataFrame from :func:`~docconvert_nb.tables.to_dataframe`
      (several tables: a preview listing each).

    A preview's display never exceeds ``max_bytes`` (images are shrunk to
    fit). ``format=`` overrides the detected format.
    """
    if isinstance(result, Job):
        from .compare import compare

        return compare(result, pages=pages, page=page, lines=lines, max_bytes=max_bytes, outputs=outputs)
    documents = resolve(result, format=format)
    source = _image_document(image)
    if len(documents) == 1:
        return preview_document(documents[0], pages=pages, page=page, source=source, lines=lines,
                                max_bytes=max_bytes, password=password)
    return [preview_document(doc, pages=pages, page=page, source=source, lines=lines,
                             max_bytes=max_bytes // len(documents), password=password) for doc in documents]


def preview_document(doc: Document, *, pages: int = DEFAULT_PAGES, page: int = 1, source: Document | None = None,
                     lines: int = DEFAULT_LINES, max_bytes: int = DEFAULT_MAX_BYTES, password: str | None = None):
    """The preview of one document (see :func:`preview`)."""
    fmt = doc.format
    if fmt == "pdf":
        return pdf_preview(doc.name, doc.data, pages=pages, password=password, max_bytes=max_bytes)
    if fmt in IMAGE_FORMATS:
        return image_preview(doc.name, doc.data, pages=pages, max_bytes=max_bytes)
    if fmt == "hocr" or (fmt in ("tsv", "txt") and is_tesseract_tsv(doc.data[:4096].decode("utf-8", "replace"))):
        if fmt != "hocr":
            doc = Document(doc.name, "tsv", doc.data, doc.metadata)
        return BoxesPreview(doc.name, parse_boxes(doc), page=page, source=source, max_bytes=max_bytes)
    if _is_table(doc):
        return table_preview(doc, max_bytes=max_bytes)
    if fmt in TEXT_KINDS:
        return TextPreview.from_bytes(doc.name, doc.data, lines=lines, max_bytes=max_bytes)
    return FilePreview(doc.name, fmt, len(doc.data), max_bytes=max_bytes)


def table_preview(doc: Document, *, max_bytes: int = DEFAULT_MAX_BYTES):
    """The DataFrame of a single table; a :class:`TablesPreview` for several."""
    frames = to_dataframe(doc, as_dict=True)
    if len(frames) == 1:
        return next(iter(frames.values()))
    return TablesPreview(frames, title=f"{doc.name}: {len(frames)} tables", max_bytes=max_bytes)


def _is_table(doc: Document) -> bool:
    if doc.format in ("csv", "xlsx"):
        return True
    if doc.format == "tsv":
        return True
    if doc.format == "json":
        return b'"tables"' in doc.data[:4096] and b'"cells"' in doc.data
    if doc.format == "txt" and not doc.name.lower().endswith(".txt"):
        return looks_tabular(doc.data)
    return False


def _image_document(image) -> Document | None:
    if image is None:
        return None
    documents = resolve(image)
    if len(documents) != 1:
        raise DocconvertError("image= must be one image or PDF (a path, bytes or an Output)")
    return documents[0]
