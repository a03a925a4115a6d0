"""Importing ``index`` first turns Haystack's telemetry off (see index/__init__.py) before any
module of this package imports haystack."""

import index  # noqa: F401
