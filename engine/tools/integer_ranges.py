"""GBNF for integers between bounds, which llama-cpp-python's JSON-schema converter leaves out
(it accepts any integer for `"minimum": 1, "maximum": 7`), so tool arguments under a grammar
would not always validate.

The range is split by digit count, then digit by digit into alternatives of character classes,
the way a regular expression for a numeric range is built by hand."""

from __future__ import annotations

import math
from typing import Any

# Unbounded sides stop at 15 digits: beyond that a JSON number is no longer exact in a double.
LIMIT = 10**15 - 1


def integer_bounds(schema: dict[str, Any]) -> tuple[int, int] | None:
    """The inclusive bounds an integer schema sets, or None when it sets none."""
    keys = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    if not any(isinstance(schema.get(k), int | float) for k in keys):
        return None
    lo, hi = -LIMIT, LIMIT
    if isinstance(schema.get("minimum"), int | float):
        lo = max(lo, math.ceil(schema["minimum"]))
    if isinstance(schema.get("exclusiveMinimum"), int | float):
        lo = max(lo, math.floor(schema["exclusiveMinimum"]) + 1)
    if isinstance(schema.get("maximum"), int | float):
        hi = min(hi, math.floor(schema["maximum"]))
    if isinstance(schema.get("exclusiveMaximum"), int | float):
        hi = min(hi, math.ceil(schema["exclusiveMaximum"]) - 1)
    return lo, hi


def integer_range(lo: int, hi: int) -> str:
    """A GBNF expression matching exactly the integers lo..hi as JSON writes them."""
    if lo > hi:
        raise ValueError(f"no integer lies between {lo} and {hi}")
    alternatives: list[str] = []
    if lo < 0:
        neg_lo, neg_hi = max(1, -hi), -lo
        if neg_lo <= neg_hi:
            alternatives += [f'"-" {a}' for a in _unsigned(neg_lo, neg_hi)]
    if hi >= 0:
        alternatives += _unsigned(max(0, lo), hi)
    return "(" + " | ".join(alternatives) + ")"


def _unsigned(lo: int, hi: int) -> list[str]:
    out: list[str] = []
    for digits in range(len(str(lo)), len(str(hi)) + 1):
        first = 0 if digits == 1 else 10 ** (digits - 1)
        a, b = max(lo, first), min(hi, 10**digits - 1)
        if a <= b:
            out += _same_length(str(a), str(b))
    return out


def _same_length(a: str, b: str) -> list[str]:
    """Alternatives matching a..b, two digit strings of one length."""
    if a == b:
        return [f'"{a}"']
    shared = 0
    while a[shared] == b[shared]:
        shared += 1
    prefix = f'"{a[:shared]}" ' if shared else ""
    x, y, rest = a[shared:], b[shared:], len(a) - shared - 1
    if rest == 0:
        return [f"{prefix}[{x}-{y}]"]
    if x[1:] == "0" * rest and y[1:] == "9" * rest:
        return [f"{prefix}[{x[0]}-{y[0]}] [0-9]{{{rest}}}"]
    out = [f'{prefix}"{x[0]}" {alt}' for alt in _same_length(x[1:], "9" * rest)]
    if int(y[0]) - int(x[0]) > 1:
        out.append(f"{prefix}[{int(x[0]) + 1}-{int(y[0]) - 1}] [0-9]{{{rest}}}")
    out += [f'{prefix}"{y[0]}" {alt}' for alt in _same_length("0" * rest, y[1:])]
    return out
