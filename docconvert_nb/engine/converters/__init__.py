"""Converter modules; importing this package registers every converter."""

from . import images, pdf, ocr, djvu  # noqa: F401
