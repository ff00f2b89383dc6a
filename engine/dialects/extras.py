"""Hearth's own request fields a client of another dialect may send along (the SDKs'
`extra_body`): the sampling knobs and switches that dialect has no name for."""

from __future__ import annotations

from typing import Any

PASSED_THROUGH = (
    "seed", "top_k", "min_p", "logit_bias", "speculative", "cache_prompt", "route", "stop",
    "frequency_penalty", "presence_penalty",
)  # fmt: skip


def hearth_extras(extra: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (extra or {}).items() if k in PASSED_THROUGH}
