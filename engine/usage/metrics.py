"""Prometheus metrics for GET /metrics, in a registry of the app's own (no globals)."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import Scope


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "hearth_requests", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "hearth_request_seconds", "Request duration", ["route"], registry=self.registry
        )
        self.first_token = Histogram(
            "hearth_first_token_seconds",
            "Time to first token",
            ["provider"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.tokens = Counter(
            "hearth_tokens", "Tokens processed", ["provider", "kind"], registry=self.registry
        )
        self.queue_depth = Gauge(
            "hearth_queue_depth", "Requests running or waiting per model", ["model"],
            registry=self.registry,
        )  # fmt: skip
        self.loaded_models = Gauge(
            "hearth_loaded_models", "Models loaded in memory", registry=self.registry
        )
        # The serving core, per loaded model.
        self.serving = Gauge(
            "hearth_serving", "Slots, slots in use, waiting requests, last batch size and "
            "tokens/s per model", ["model", "what"], registry=self.registry,
        )  # fmt: skip

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Count a finished request by its route template (raw paths would explode labels)."""
        route = scope.get("route")
        label = getattr(route, "path", None) or "unmatched"
        self.requests.labels(label, str(status)).inc()
        self.latency.labels(label).observe(seconds)

    def render(self, refresh: Callable[[Metrics], None]) -> bytes:
        refresh(self)
        return bytes(generate_latest(self.registry))
