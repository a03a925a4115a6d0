"""Question answering over the index: retrieval, extractive answers, the optional generator.

Returns plain typed results (``qa/results.py``); the HTTP layer (``api/``), the CLI and the
evaluation runner convert or read them.
"""

import core  # noqa: F401  (Haystack's telemetry default is set before haystack is imported)
