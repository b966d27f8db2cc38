"""Providers: the embedded engine and the cloud services, behind one interface.

``get("aspose")`` returns a provider configured from the environment;
``get(instance)`` returns the instance; ``get()`` the default (the embedded
engine unless :func:`set_default` chose another). Provider classes are
importable from here: ``dc.providers.Aspose(base_url=..., client_id=...)``.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from ..errors import DocconvertError
from .base import Capability, JobSnapshot, Provider

#: name → "module:Class" (imported on first use, so `import docconvert_nb` stays light).
BUILTIN = {
    "embedded": "docconvert_nb.providers.embedded:EmbeddedProvider",
    "aspose": "docconvert_nb.providers.aspose:Aspose",
    "onlineconvert": "docconvert_nb.providers.onlineconvert:OnlineConvert",
    "convertapi": "docconvert_nb.providers.convertapi:ConvertAPI",
    "groupdocs": "docconvert_nb.providers.groupdocs:GroupDocs",
    # Converters of the embedded engine as tasks on a Dask cluster (the `dask` extra).
    "dask": "docconvert_nb.providers.dask:DaskProvider",
}
_CLASS_NAMES = {spec.split(":")[1]: name for name, spec in BUILTIN.items()}

_instances: dict[str, Provider] = {}
_default: str | Provider = "embedded"
_lock = threading.Lock()


def provider_class(name: str) -> type[Provider]:
    try:
        module_name, class_name = BUILTIN[name].split(":")
    except KeyError:
        raise DocconvertError(f"unknown provider {name!r}; known: {', '.join(BUILTIN)}") from None
    return getattr(importlib.import_module(module_name), class_name)


def get(provider: str | Provider | None = None) -> Provider:
    """Resolve ``provider`` (a name, an instance, or None for the default) to an instance."""
    if isinstance(provider, Provider):
        return provider
    if provider is None:
        provider = _default
        if isinstance(provider, Provider):
            return provider
    name = provider.strip().lower().replace("-", "").replace("_", "")
    with _lock:
        if name not in _instances:
            _instances[name] = provider_class(name)()
        return _instances[name]


def set_default(provider: str | Provider) -> Provider:
    """Make ``provider`` the one used when a call names none; returns it."""
    global _default
    resolved = get(provider)
    _default = provider if isinstance(provider, Provider) else resolved.name
    return resolved


def default() -> Provider:
    return get(None)


def available() -> list[dict[str, Any]]:
    """Every built-in provider: whether it is configured and whether it is a simulator."""
    rows = []
    for name in BUILTIN:
        try:
            info = get(name).describe()
        except ImportError as exc:
            info = {"name": name, "label": name, "configured": False, "simulator": False, "error": str(exc)}
        except DocconvertError as exc:
            info = {"name": name, "label": name, "configured": False, "simulator": False, "error": str(exc)}
        info["default"] = name == default().name
        rows.append(info)
    return rows


def __getattr__(attr: str):
    if attr in _CLASS_NAMES:
        return provider_class(_CLASS_NAMES[attr])
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")


__all__ = ["BUILTIN", "Capability", "JobSnapshot", "Provider", "available", "default", "get", "set_default"]
