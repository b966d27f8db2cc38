"""Notebook habits the display hook respects.

A cell ending in ``job.wait()`` (or ``await job``, ``job.delete()``...)
returns the job, and IPython's display hook would draw it again under a
card that already shows it and updates itself. That second, identical
card is left out; ``job`` alone on a line, or ``display(job)``, still draws one.
"""

from __future__ import annotations

import ast
import logging

from . import follow

log = logging.getLogger(__name__)

#: Methods returning the job or group they were called on.
RETURNS_SELF = frozenset({"wait", "wait_async", "delete", "cancel", "refresh", "raise_for_status"})


def repeats_a_shown_card(obj) -> bool:
    """True when the display hook shows ``obj`` as the value of ``x.wait()`` & co. and a card already shows it."""
    followed = follow.existing(obj)
    if followed is None or not followed.shown:
        return False
    try:
        from IPython import get_ipython

        shell = get_ipython()
        if shell is None or getattr(shell.displayhook, "msg", None) is None:
            return False  # not the display hook: an explicit display() always draws
        return ends_with_self_returning_call(shell.history_manager.input_hist_parsed[-1])
    except Exception:  # never let a habit hide a card by accident
        log.debug("could not read the running cell", exc_info=True)
        return False


def ends_with_self_returning_call(source: str) -> bool:
    """Whether the cell's last statement is ``<expr>.wait(...)``, ``await <expr>`` or the like."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    if not body or not isinstance(body[-1], ast.Expr):
        return False
    value = body[-1].value
    if isinstance(value, ast.Await):
        value = value.value
        if isinstance(value, (ast.Name, ast.Attribute, ast.Subscript)):
            return True
    return (isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute)
            and value.func.attr in RETURNS_SELF)
