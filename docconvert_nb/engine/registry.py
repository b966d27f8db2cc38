"""The converter registry: which function turns what into what, with which options.

Converters register themselves with :func:`converter`; the engine looks them
up by ``(task, source format, target format)``. Each declares its options, so
a misspelt option fails at submission with the list of valid ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

from ..errors import InvalidOptions

#: Bounds of every ``dpi`` option that does not set its own.
DPI_RANGE = (10, 2400)

if TYPE_CHECKING:
    from .context import ConversionContext


@dataclass(frozen=True)
class Option:
    """One option a converter accepts."""

    name: str
    type: type | tuple[type, ...]
    default: Any = None
    help: str = ""
    choices: tuple | None = None
    #: Inclusive bounds of a numeric option. Numbers must be finite whatever the bounds.
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self):
        if self.name == "dpi" and self.minimum is None and self.maximum is None:
            object.__setattr__(self, "minimum", DPI_RANGE[0])
            object.__setattr__(self, "maximum", DPI_RANGE[1])

    def coerce(self, value: Any) -> Any:
        if self.type is bool and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "yes", "1", "on"):
                return True
            if lowered in ("false", "no", "0", "off"):
                return False
        types = self.type if isinstance(self.type, tuple) else (self.type,)
        if isinstance(value, str) and str not in types:
            # Values from magics and the command line arrive as text: "200" for dpi=(int, float).
            for numeric in (int, float):
                if numeric in types:
                    try:
                        value = numeric(value)
                        break
                    except ValueError:
                        pass
        if float in types and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if value is not None and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
            names = " or ".join(t.__name__ for t in types)
            raise InvalidOptions(f"option {self.name!r} takes {names}, not {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            self._check_number(value)
        if self.choices is not None and value not in self.choices:
            raise InvalidOptions(
                f"option {self.name!r} must be one of {', '.join(map(repr, self.choices))}, not {value!r}"
            )
        return value


    def _check_number(self, value: float) -> None:
        if not math.isfinite(value):
            raise InvalidOptions(f"option {self.name!r} must be a finite number, not {value!r}")
        low, high = self.minimum, self.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            if low is not None and high is not None:
                span = f"between {low:g} and {high:g}"
            else:
                span = f"at least {low:g}" if low is not None else f"at most {high:g}"
            raise InvalidOptions(f"option {self.name!r} must be {span}, not {value!r}")


@dataclass(frozen=True)
class Converter:
    name: str
    task: str
    sources: frozenset[str]
    targets: frozenset[str]
    run: Callable[["ConversionContext"], None]
    options: tuple[Option, ...] = ()
    tools: tuple[str, ...] = ()
    description: str = ""

    def validate(self, options: dict[str, Any]) -> dict[str, Any]:
        """Options with defaults filled in; unknown names or bad values raise InvalidOptions."""
        known = {opt.name: opt for opt in self.options}
        unknown = sorted(set(options) - set(known))
        if unknown:
            valid = ", ".join(sorted(known)) or "none"
            raise InvalidOptions(
                f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                f"for {self.task} {'/'.join(sorted(self.sources))} → {'/'.join(sorted(self.targets))}; "
                f"valid options: {valid}"
            )
        result = {name: opt.default for name, opt in known.items()}
        for name, value in options.items():
            result[name] = known[name].coerce(value)
        return result


@dataclass
class Registry:
    converters: list[Converter] = field(default_factory=list)

    def add(self, conv: Converter) -> None:
        self.converters.append(conv)

    def find(self, task: str, source: str, target: str) -> Converter | None:
        # Later registrations win, so a specialised converter can override a general one.
        for conv in reversed(self.converters):
            if conv.task == task and source in conv.sources and target in conv.targets:
                return conv
        return None

    def pairs(self) -> Iterable[tuple[Converter, str, str]]:
        seen = set()
        for conv in reversed(self.converters):
            for src in sorted(conv.sources):
                for dst in sorted(conv.targets):
                    if src == dst and conv.task == "convert":
                        continue
                    key = (conv.task, src, dst)
                    if key not in seen:
                        seen.add(key)
                        yield conv, src, dst


REGISTRY = Registry()


def converter(
    *,
    task: str = "convert",
    sources: Iterable[str],
    targets: Iterable[str],
    options: Iterable[Option] = (),
    tools: Iterable[str] = (),
):
    """Register the decorated function as a converter."""

    def decorate(fn: Callable[["ConversionContext"], None]):
        REGISTRY.add(
            Converter(
                name=fn.__name__,
                task=task,
                sources=frozenset(sources),
                targets=frozenset(targets),
                run=fn,
                options=tuple(options),
                tools=tuple(tools),
                description=(fn.__doc__ or "").strip().splitlines()[0] if fn.__doc__ else "",
            )
        )
        return fn

    return decorate
