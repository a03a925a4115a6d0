"""The foundation every stage imports: settings, the error types, the language tables.

Importing ``core`` first also turns Haystack's anonymous telemetry off unless the user turns
it on (``HAYSTACK_TELEMETRY_ENABLED=True``): the service runs on closed government networks,
where a call home is unwanted (and would only time out). Every stage imports ``core`` before
Haystack, so the default is set before Haystack reads it.
"""

import os

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
