"""Converter modules; importing this package registers every converter."""

from . import djvu, images, ocr, office, pdf, tables  # noqa: F401
