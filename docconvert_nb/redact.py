"""Keeping secrets out of everything a user or a log can see.

Option values, URLs and headers pass through here before they reach a repr,
a widget, a log line or an exception message.
"""

from __future__ import annotations

import re
from typing import Any, Iterable

#: Words that mark a name (option, header, query parameter) as holding a secret.
SECRET_WORDS = ("password", "secret", "token", "key", "authorization", "credential")

MASK = "***"


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


def mask_options(options: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``options`` with secret-looking values replaced by ``'***'``."""
    return {k: (MASK if is_secret_name(k) else v) for k, v in options.items()}


_QUERY_SECRET = re.compile(
    r"(?i)([?&](?:[a-z_]*(?:secret|token|key|password)[a-z_]*)=)([^&#\s]+)"
)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every known secret value, and secret query parameters, from ``text``."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return _QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)
