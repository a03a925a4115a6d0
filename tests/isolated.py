"""An index of a test's own: settings on a private data dir, and closing only that store.

Embedded Qdrant locks its folder and ``index.stores`` keeps one store per folder for the
process, so a test that needs an index apart from the session's (because it rewrites or
deletes documents) opens it here and closes it afterwards without touching the session's.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.settings import Settings
from index.stores import close_store
from tests.conftest import SHARED_MODELS


def isolated_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings on ``data_dir`` with the shared provisioned model, embedded Qdrant whatever the env."""
    return Settings(data_dir=data_dir, models_path=SHARED_MODELS, qdrant_url=None, **overrides)


@contextmanager
def own_store(settings: Settings) -> Iterator[None]:
    """Close the store of ``settings`` on exit, and only it (the session's stays open)."""
    try:
        yield
    finally:
        close_store(settings)
