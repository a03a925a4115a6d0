"""Embedding, French sparse vectors, the Qdrant store and the retrieval components."""

import core  # noqa: F401  (Haystack's telemetry default is set before haystack is imported)
