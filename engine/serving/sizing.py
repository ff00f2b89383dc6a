"""How big a model's serving is: threads, slots, the shared KV cache and the RAM state cache,
chosen from the machine (cores, free memory) unless the settings say otherwise."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SLOTS = 4
KV_SHARE_OF_FREE = 0.25  # the KV cache may take this much of the memory left after the weights
STATE_CACHE_SHARE = 0.10  # and the RAM cache of evicted sequences this much
STATE_CACHE_MAX = 1 << 30
KV_ROUND = 256


@dataclass(frozen=True)
class ServingPlan:
    slots: int
    kv_tokens: int  # cells in the KV cache, all slots together
    n_ctx: int  # the most one request may use
    threads: int
    state_cache_bytes: int

    def describe(self) -> dict[str, int]:
        return {
            "slots": self.slots,
            "kv_tokens": self.kv_tokens,
            "n_ctx": self.n_ctx,
            "threads": self.threads,
            "state_cache_bytes": self.state_cache_bytes,
        }


def physical_cores(sys_root: Path = Path("/sys/devices/system/cpu")) -> int:
    """Cores this process may run on, counting each physical core once (hyper-threads share a
    core's arithmetic units, and llama.cpp's matrix work gains nothing from the second one)."""
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return max(1, (os.cpu_count() or 2) // 2)
    cores = set()
    for cpu in allowed:
        topology = sys_root / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return len(allowed)
        cores.add((package, core))
    return max(1, len(cores))


def plan_serving(
    *,
    n_ctx: int,
    kv_bytes_per_token: int,
    free_bytes: int,
    slots: int | None,
    kv_tokens: int | None,
    threads: int | None,
    state_cache_bytes: int | None,
    unified: bool = False,
) -> ServingPlan:
    """Each setting left unset is sized here: as many slots (up to 4) as the KV budget gives a
    full context each, and at least one full context however small the budget. Without a
    unified cache every slot has a stream of its own, a full context long."""
    budget = int(free_bytes * KV_SHARE_OF_FREE)
    per_context = max(1, kv_bytes_per_token * n_ctx)
    if slots is None:
        slots = max(1, min(DEFAULT_SLOTS, budget // per_context))
    if not unified:
        kv_tokens = slots * -(-n_ctx // KV_ROUND) * KV_ROUND
    elif kv_tokens is None:
        fits = budget // max(1, kv_bytes_per_token)
        kv_tokens = max(n_ctx, min(slots * n_ctx, fits))
    kv_tokens = -(-kv_tokens // KV_ROUND) * KV_ROUND
    if state_cache_bytes is None:
        state_cache_bytes = min(STATE_CACHE_MAX, int(free_bytes * STATE_CACHE_SHARE))
    return ServingPlan(
        slots=slots,
        kv_tokens=kv_tokens,
        n_ctx=n_ctx,
        threads=threads or physical_cores(),
        state_cache_bytes=state_cache_bytes,
    )
