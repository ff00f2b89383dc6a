"""Accounting: token usage and cost per request, the response cache, Prometheus metrics."""
