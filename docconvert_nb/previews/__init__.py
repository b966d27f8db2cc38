"""Previews of documents and job results that notebooks display well, within a byte budget.

>>> import docconvert_nb as dc
>>> dc.preview(job)                    # source next to result
>>> dc.preview(job.outputs[0])         # PDF thumbnails, text, word boxes, tables...
>>> dc.preview(hocr_output, image="scan.png")
"""

from .base import DEFAULT_MAX_BYTES, Preview, Rendered
from .boxes import BoxesPreview, OcrPage, WordBox, parse_hocr, parse_tsv
from .compare import ComparePreview, compare
from .dispatch import preview, preview_document
from .files import FilePreview
from .frames import TablesPreview
from .pages import PagesPreview
from .text import TextPreview

__all__ = [
    "DEFAULT_MAX_BYTES",
    "BoxesPreview",
    "ComparePreview",
    "FilePreview",
    "OcrPage",
    "PagesPreview",
    "Preview",
    "Rendered",
    "TablesPreview",
    "TextPreview",
    "WordBox",
    "compare",
    "parse_hocr",
    "parse_tsv",
    "preview",
    "preview_document",
]
