"""Converter modules; importing this package registers every converter."""

from . import images, pdf  # noqa: F401
