"""Converter modules; importing this package registers every converter."""

from . import images, pdf, ocr, djvu, tables, office  # noqa: F401
