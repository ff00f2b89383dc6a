"""OpenAI's attribute filters for vector-store search: comparisons (`eq`, `ne`, `gt`, `gte`,
`lt`, `lte`, `in`, `nin`) on a file's attributes, combined with `and` / `or`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.errors import InvalidInput

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "in": lambda a, b: a in b,
    "nin": lambda a, b: a not in b,
}


def check(spec: dict[str, Any] | None) -> None:
    """400 for a filter that is not one of OpenAI's shapes."""
    if spec is None:
        return
    kind = spec.get("type")
    if kind in ("and", "or"):
        inner = spec.get("filters")
        if not isinstance(inner, list) or not inner:
            raise InvalidInput(f"an '{kind}' filter needs a list of filters", param="filters")
        for item in inner:
            check(item)
    elif kind in COMPARE:
        if not isinstance(spec.get("key"), str) or "value" not in spec:
            raise InvalidInput("a comparison filter needs a key and a value", param="filters")
    else:
        raise InvalidInput(f"unknown filter type '{kind}'", param="filters")


def matches(spec: dict[str, Any] | None, attributes: dict[str, Any]) -> bool:
    if spec is None:
        return True
    kind = spec["type"]
    if kind == "and":
        return all(matches(f, attributes) for f in spec["filters"])
    if kind == "or":
        return any(matches(f, attributes) for f in spec["filters"])
    if spec["key"] not in attributes:
        return kind in ("ne", "nin")
    try:
        return bool(COMPARE[kind](attributes[spec["key"]], spec["value"]))
    except TypeError:  # comparing a string with a number: no match
        return False
