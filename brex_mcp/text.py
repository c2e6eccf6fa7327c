"""Text from Brex is untrusted: invisible and bidirectional control characters never reach the model."""

from __future__ import annotations

import unicodedata
from typing import Any

_KEEP = frozenset("\n\t")
# Cc: control characters; Cf: format characters (zero-width, bidi overrides and isolates, tag characters);
# Co/Cs: private-use and lone surrogates, which render as nothing or as something other than they are.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs"})


def clean(text: str) -> str:
    if text.isascii() and text.isprintable():
        return text
    return "".join(ch for ch in text if ch in _KEEP or unicodedata.category(ch) not in _DROP_CATEGORIES)


def clean_deep(value: Any) -> Any:
    """Clean every string (keys too) in a JSON value."""
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {clean(k) if isinstance(k, str) else k: clean_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_deep(v) for v in value]
    return value
