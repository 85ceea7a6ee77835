"""Prometheus metrics, in a registry of the app's own (two apps in one process, as in tests, never collide).

Labels are bounded: the route's template (not the raw path), the method, the status, an error's code and a
language. Nothing a customer wrote ever becomes a label.
"""
from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter("samtaleanalyse_requests", "HTTP requests answered.", ("route", "method", "status"),
                                registry=r)
        self.latency = Histogram("samtaleanalyse_request_duration_seconds", "Time from request to response.",
                                 ("route",), buckets=LATENCY_BUCKETS, registry=r)
        self.errors = Counter("samtaleanalyse_errors", "Problems answered, by code (E3xx inputs, E100 options, "
                              "E900 internal, HTTP401 and the like for the rest).", ("code",), registry=r)
        self.scored = Counter("samtaleanalyse_conversations_scored", "Conversations scored.", ("language",),
                              registry=r)
        self.in_flight = Gauge("samtaleanalyse_requests_in_flight", "Requests being answered.", registry=r)
        self.model_loaded = Gauge("samtaleanalyse_model_loaded", "1 once the model is loaded.", registry=r)

    def render(self) -> bytes:
        return generate_latest(self.registry)
