"""An index of a test's own: settings on a private data dir, and closing only that store.

Embedded Qdrant locks its folder and ``index.store`` keeps one client per folder for the
process, so a test that needs an index apart from the session's (because it rewrites or
deletes documents) opens it here and closes it afterwards without touching the session's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.settings import Settings
from tests.conftest import SHARED_MODELS


def isolated_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings on ``data_dir`` with the shared provisioned model, embedded Qdrant whatever the env."""
    return Settings(data_dir=data_dir, models_path=SHARED_MODELS, qdrant_url=None, **overrides)


@contextmanager
def own_store(settings: Settings) -> Iterator[None]:
    """Close the store of ``settings`` on exit, and only it (the session's stays open)."""
    from index import store as store_module

    try:
        yield
    finally:
        with store_module._lock:
            store = store_module._stores.pop(store_module._key(settings), None)
        if store is not None:
            store.close()
