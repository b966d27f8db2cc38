"""The embedded conversion engine: real conversions on this machine, no network.

:class:`Engine` is a local job queue with a bounded worker pool and a
per-user result store; converters register in :mod:`.registry`.
"""

from .core import DEFAULT_RETENTION, Engine
from .registry import REGISTRY, Converter, Option, converter

__all__ = ["DEFAULT_RETENTION", "Engine", "REGISTRY", "Converter", "Option", "converter"]
