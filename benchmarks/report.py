"""Shared by the benchmark scripts: one Markdown section per script, with machine and date."""

from __future__ import annotations

import os
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path


def section(title: str, lines: list[str]) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    argv = sys.argv[:]
    if "--section" in argv:  # where the section goes is not part of what was measured
        i = argv.index("--section")
        del argv[i : i + 2]
    command = " ".join([".venv/bin/python", *argv])
    return "\n".join(
        [
            f"## {title}",
            "",
            f"Measured {when} on {machine}, with `{command}`.",
            "",
            *[f"- {line}" for line in lines],
            "",
        ]
    )


def emit(title: str, lines: list[str], target: Path | None) -> None:
    """Print the figures; with a target, also write the Markdown section there."""
    print("\n".join(lines))
    if target is not None:
        target.write_text(section(title, lines), encoding="utf-8")
