"""Replies whose words are certain: a JSON-schema `const` turns into a grammar that lets the
model write exactly one JSON string, whatever it would have chosen. Tests that check what
happens to a reply's text (masking, blocking, restoring) use it instead of hoping for words."""

from __future__ import annotations

import json
from typing import Any


def say_exactly(text: str) -> dict[str, Any]:
    """A `response_format` under which the reply is `json.dumps(text)`, token for token."""
    return {"type": "json_schema", "json_schema": {"name": "fixed", "schema": {"const": text}}}


def reply_of(text: str) -> str:
    """The reply text `say_exactly(text)` produces."""
    return json.dumps(text)
