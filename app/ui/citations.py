"""Where a passage from the user's files is, said for people and as a link that opens the
source there (a PDF at its page, a recording at its time: media fragments, which browsers and
most viewers follow; others open the file at its start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl


def place_of(hit: dict[str, Any]) -> str:
    """A page, a time in a recording, or a section; empty when the file has none."""
    if hit.get("page") is not None:
        return f"page {hit['page']}"
    if hit.get("start_seconds") is not None:
        seconds = int(hit["start_seconds"])
        return f"{seconds // 60}:{seconds % 60:02d}"
    return str(hit.get("heading") or "")


def source_url(path: Path, citation: dict[str, Any]) -> QUrl:
    url = QUrl.fromLocalFile(str(path))
    if citation.get("page") is not None:
        url.setFragment(f"page={int(citation['page'])}")
    elif citation.get("start_seconds") is not None:
        url.setFragment(f"t={float(citation['start_seconds']):.1f}")
    return url
