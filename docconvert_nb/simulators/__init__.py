"""Local simulators of the four cloud services' wire protocols (see docconvert_nb.protocols).

>>> import docconvert_nb as dc
>>> with dc.simulate("aspose") as sim:
...     job = dc.recognize_tables("table.png", provider=sim.provider)
...     job.wait()

Each simulator listens on 127.0.0.1, speaks the service's real protocol
(checked against the official SDKs in the tests), and does the conversion
for real with the embedded engine. From a shell:
``python -m docconvert_nb.simulators aspose --port 8081``.
"""

from __future__ import annotations

import importlib

from .base import FAULT_KINDS, Faults, SimClock, Simulator

SIMULATORS = {
    "aspose": "docconvert_nb.simulators.aspose:AsposeSimulator",
    "onlineconvert": "docconvert_nb.simulators.onlineconvert:OnlineConvertSimulator",
    "convertapi": "docconvert_nb.simulators.convertapi:ConvertAPISimulator",
    "groupdocs": "docconvert_nb.simulators.groupdocs:GroupDocsSimulator",
}


def simulator_class(name: str) -> type[Simulator]:
    key = name.strip().lower().replace("-", "").replace("_", "")
    try:
        module_name, class_name = SIMULATORS[key].split(":")
    except KeyError:
        raise ValueError(f"unknown simulator {name!r}; choose from {', '.join(SIMULATORS)}") from None
    return getattr(importlib.import_module(module_name), class_name)


def simulate(name: str, **options) -> Simulator:
    """Start the simulator of service ``name`` on loopback and return it.

    Use it in a ``with`` block (stopped on exit) or call ``.stop()``.
    Options: ``port=`` (default: a free one), ``clock=`` (a :class:`SimClock`),
    ``durations={"queued": s, "processing": s}``, and per-simulator ones.
    """
    return simulator_class(name)(**options).start()


__all__ = ["FAULT_KINDS", "SIMULATORS", "Faults", "SimClock", "Simulator", "simulate", "simulator_class"]
