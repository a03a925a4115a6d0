"""Haystack's anonymous usage telemetry is off unless the user turns it on: the service runs
on closed government networks, where a call home is unwanted (and would only time out)."""

import os

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
