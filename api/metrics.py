"""Prometheus metrics of the HTTP API: requests by route and status, latency, errors.

Routes are labelled by their template (``/documents/{doc_id}``), never by the raw path, so
the number of series stays bounded whatever clients send. Each app gets its own registry,
which keeps several apps in one process (tests) from clashing.
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class ApiMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "policyqa_http_requests",
            "HTTP requests by route template, method and status code.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "policyqa_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template and method.",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.errors = Counter(
            "policyqa_http_errors",
            "Requests that ended in a server error (5xx) or an unhandled exception, by route and type.",
            ["route", "type"],
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "policyqa_http_requests_in_flight", "Requests being handled now.", registry=self.registry
        )
        self.answers = Counter(
            "policyqa_answers",
            "Questions answered by /ask, by whether the documents answered them.",
            ["answerable"],
            registry=self.registry,
        )

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "unmatched"
    return path or "/"


class MetricsMiddleware:
    """Pure ASGI middleware (no request body buffering, streaming responses unaffected)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        self.metrics.in_flight.inc()
        error: str | None = None
        try:
            await self.app(scope, receive, send_wrapper)
        except Exception as exc:
            error = type(exc).__name__
            status = 500
            raise
        finally:
            self.metrics.in_flight.dec()
            route, method = route_label(scope), scope.get("method", "")
            self.metrics.requests.labels(route, method, str(status)).inc()
            self.metrics.latency.labels(route, method).observe(time.perf_counter() - started)
            if error or status >= 500:
                self.metrics.errors.labels(route, error or f"http_{status}").inc()
