"""Waiting for a state instead of sleeping for a guessed time: poll until it holds, with a
generous deadline, and fail with the last value seen."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    probe: Callable[[], T],
    holds: Callable[[T], bool] = bool,
    *,
    timeout: float = 60.0,
    what: str = "the expected state",
) -> T:
    """Call `probe` until `holds(value)`; return that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if holds(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}; last seen: {value!r}")
        time.sleep(0.05)
