"""How found passages are shown to a model (numbered, with their place) and how its [n] marks
are read back: one way for the Responses API's file_search and for conversations."""

from __future__ import annotations

import re

from engine.knowledge.store import Hit

PASSAGES_HEADER = (
    "Passages from the user's files follow. Answer from them when they are relevant, and cite "
    "each one you use by its number, like [1]."
)
_MARK = re.compile(r"\[(\d{1,2})\]")


def place(hit: Hit) -> str:
    """Where a passage is, for people: a page, a time in a recording, or a section."""
    if hit.page is not None:
        return f"page {hit.page}"
    if hit.start_seconds is not None:
        return f"at {int(hit.start_seconds // 60)}:{int(hit.start_seconds % 60):02d}"
    if hit.heading:
        return f'section "{hit.heading}"'
    return ""


def passage_text(hit: Hit) -> str:
    where = place(hit)
    return f"{hit.filename}{', ' + where if where else ''}:\n{hit.text}"


def marks(text: str, count: int) -> list[tuple[int, int]]:
    """(n, index in text) of each [n] mark naming one of `count` passages."""
    found = []
    for mark in _MARK.finditer(text):
        n = int(mark.group(1))
        if 1 <= n <= count:
            found.append((n, mark.start()))
    return found
