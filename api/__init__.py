"""The HTTP layer: FastAPI app factory, routers, request and response schemas."""

import core  # noqa: F401  (Haystack's telemetry default is set before haystack is imported)
