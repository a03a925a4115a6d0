"""Settings: fields given by name win over the environment, aliases still read it."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings


def test_fields_given_by_name_are_used(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POLICYQA_MODELS_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("QDRANT_URL", "http://qdrant.example:6333")
    settings = Settings(data_dir=tmp_path, models_path=tmp_path / "given", qdrant_url=None)
    assert settings.models_dir == tmp_path / "given"
    assert settings.qdrant_url is None


def test_aliases_read_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("POLICYQA_MODELS_DIR", str(tmp_path / "from-env"))
    monkeypatch.setenv("QDRANT_URL", "http://qdrant.example:6333")
    settings = Settings(data_dir=tmp_path)
    assert settings.models_dir == tmp_path / "from-env"
    assert settings.qdrant_url == "http://qdrant.example:6333"


def test_models_dir_defaults_to_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("POLICYQA_MODELS_DIR", raising=False)
    monkeypatch.delenv("POLICYQA_MODELS_PATH", raising=False)
    assert Settings(data_dir=tmp_path).models_dir == tmp_path / "models"
