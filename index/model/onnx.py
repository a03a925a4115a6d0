"""Query embeddings with ONNX Runtime: the same model, exported once, several times faster.

A question is a few dozen tokens; under PyTorch most of its encoding time is per-operator
overhead in Python, which also holds the interpreter lock that the other requests need.
ONNX Runtime runs the whole graph in C++ and releases the lock. Measured on 2 cores (dev
questions, `benchmarks/bench_embeddings.py`): see the README. The exported graph includes
the model's mean pooling and L2 normalisation, so its output is the sentence-transformers
embedding (cosine >= 0.99999 on the dev questions, tests/test_query_batching.py).

The export (fp32, a few seconds) is written next to the model, in ``onnx/``, by
``policy-qa provision`` or on first use. It applies to sentence-transformers folders made
of a Transformer, mean pooling and normalisation, as the provisioned multilingual-e5-small
is; other models keep the PyTorch path.

Questions are encoded by an 8-bit copy of that graph by default (ONNX Runtime's dynamic
quantisation, per-channel weights, the vocabulary table included). Measured on 2 cores, one
thread, dev questions: 3.4 ms a question instead of 8.0 ms, 118 MB instead of 470 MB, cosine
0.997 on average (min 0.994) to the fp32 embedding; retrieval quality is unchanged within
the noise of the sets we have (``benchmarks/bench_embeddings.py`` prints the agreement,
README). Where it loads, the 8-bit graph is checked against fp32 vectors stored at export.
Passages keep the fp32 model: they are embedded once, and precision there costs nothing at
query time. ``POLICYQA_QUERY_PRECISION=fp32`` serves the fp32 graph.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Literal

import numpy as np

log = logging.getLogger(__name__)

ONNX_DIR = "onnx"
ONNX_FILE = "query_encoder.onnx"
ONNX_INT8_FILE = "query_encoder.int8.onnx"
#: Written with the export: the model it came from, so a replaced model is exported again.
ONNX_MARKER = "query_encoder.json"
#: Sentences and their fp32 embeddings, written with the export: the 8-bit graph is checked
#: against them where it is loaded (see OnnxTextEncoder.verify_int8).
ONNX_REFERENCE = "query_encoder.reference.json"
EXPORT_VERSION = 3
#: Below this cosine to fp32 on the reference sentences, the 8-bit graph is not used.
#: Measured here: min 0.994. ONNX Runtime's u8s8 kernels can saturate on x86 CPUs without
#: VNNI (its quantisation guide), which would show up as a drop.
MIN_INT8_COSINE = 0.99
REFERENCE_TEXTS = (
    "query: Quels fonds européens soutiennent l’intégration des migrants ?",
    "query: Which fund supports language courses for newly arrived migrants?",
    "query: Welche Rolle spielen die Kommunen bei der Integration?",
    "query: ¿Qué prevé la Comisión para la vivienda asequible?",
    "query: Jak plan wspiera udział sektora prywatnego w integracji migrantów?",
    "passage: Le Fonds social européen plus (FSE+) soutient l’inclusion sociale et l’emploi.",
    "passage: Le FAMI finance les mesures d’intégration précoce des ressortissants de pays tiers.",
    "query: Erasmus+ InvestEU FEDER 2021-2027",
)

Precision = Literal["int8", "fp32"]


def check_precision(precision: str) -> Precision:
    if precision not in ("int8", "fp32"):
        raise ValueError(f"Unknown query encoder precision {precision!r}: use 'int8' or 'fp32'.")
    return precision  # type: ignore[return-value]


_export_lock = threading.Lock()


class OnnxUnavailable(RuntimeError):
    """The ONNX path cannot serve this model; the caller falls back to PyTorch."""


def onnx_runtime_available() -> bool:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _modules(model_dir: Path) -> list[str]:
    try:
        return [m["type"].rsplit(".", 1)[-1] for m in json.loads((model_dir / "modules.json").read_text())]
    except (OSError, ValueError, KeyError) as exc:
        raise OnnxUnavailable(f"{model_dir} is not a sentence-transformers folder: {exc}") from exc


def exportable(model_dir: Path) -> bool:
    """A local folder whose pipeline is Transformer -> mean pooling -> Normalize."""
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return False
    try:
        modules = _modules(model_dir)
        pooling = json.loads((model_dir / "1_Pooling" / "config.json").read_text())
    except (OnnxUnavailable, OSError, ValueError):
        return False
    mean_only = pooling.get("pooling_mode_mean_tokens") and not any(
        v for k, v in pooling.items() if k.startswith("pooling_mode_") and k != "pooling_mode_mean_tokens"
    )
    return modules == ["Transformer", "Pooling", "Normalize"] and bool(mean_only)


def _source_stamp(model_dir: Path) -> dict[str, Any]:
    weights = model_dir / "model.safetensors"
    stat = weights.stat()
    return {"version": EXPORT_VERSION, "weights_size": stat.st_size, "weights_mtime_ns": stat.st_mtime_ns}


def onnx_path(model_dir: Path, precision: Precision = "fp32") -> Path:
    return Path(model_dir) / ONNX_DIR / (ONNX_INT8_FILE if precision == "int8" else ONNX_FILE)


def is_exported(model_dir: Path) -> bool:
    marker = Path(model_dir) / ONNX_DIR / ONNX_MARKER
    try:
        return (
            onnx_path(model_dir).is_file()
            and onnx_path(model_dir, "int8").is_file()
            and (Path(model_dir) / ONNX_DIR / ONNX_REFERENCE).is_file()
            and json.loads(marker.read_text()) == _source_stamp(Path(model_dir))
        )
    except (OSError, ValueError):
        return False


def _quantize(fp32: Path, out: Path) -> None:
    """8-bit weights, per output channel: per-tensor scales lose more (cosine 0.989 instead of
    0.997 on the dev questions), and leaving the vocabulary table in fp32 keeps 290 MB for
    no measurable gain."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def no_preprocess_hint(record: logging.LogRecord) -> bool:
        # ONNX Runtime suggests its shape-inference pre-pass; measured here: no faster, no closer
        return not record.getMessage().startswith("Please consider to run pre-processing")

    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    root = logging.getLogger()
    root.addFilter(no_preprocess_hint)
    try:
        quantize_dynamic(str(fp32), str(tmp), weight_type=QuantType.QInt8, per_channel=True)
    finally:
        root.removeFilter(no_preprocess_hint)
    os.replace(tmp, out)


def export_onnx(model_dir: Path, force: bool = False, precision: Precision = "fp32") -> Path:
    """Export the folder's model (with pooling and normalisation) to ``onnx/query_encoder.onnx``
    and its 8-bit copy; returns the path of the graph of ``precision``."""
    model_dir = Path(model_dir)
    if not exportable(model_dir):
        raise OnnxUnavailable(
            f"{model_dir}: only Transformer + mean pooling + Normalize models are exported."
        )
    with _export_lock:
        if is_exported(model_dir) and not force:
            return onnx_path(model_dir, precision)
        import torch
        from transformers import AutoModel

        class _Encoder(torch.nn.Module):
            def __init__(self, model: torch.nn.Module) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
                hidden = self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
                mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
                return torch.nn.functional.normalize(pooled, p=2, dim=-1)

        encoder = _Encoder(AutoModel.from_pretrained(model_dir).eval()).eval()
        ids = torch.tensor([[0, 1, 2, 2], [0, 1, 2, 1]], dtype=torch.long)
        mask = torch.ones_like(ids)
        out_dir = model_dir / ONNX_DIR
        out_dir.mkdir(exist_ok=True)
        tmp = out_dir / f".{ONNX_FILE}.{os.getpid()}.tmp"
        axes = {0: "batch", 1: "tokens"}
        with torch.no_grad(), warnings.catch_warnings():
            # position ids come from a cumulative sum: the "negative indices" caveat does not apply
            warnings.filterwarnings("ignore", category=UserWarning, module=r"torch\.onnx")
            torch.onnx.export(
                encoder,
                (ids, mask),
                str(tmp),
                input_names=["input_ids", "attention_mask"],
                output_names=["embedding"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "embedding": {0: "batch"}},
                opset_version=17,
                dynamo=False,
            )
        os.replace(tmp, onnx_path(model_dir))
        _quantize(onnx_path(model_dir), onnx_path(model_dir, "int8"))
        fp32 = _encode(_tokenizer(model_dir), _session(onnx_path(model_dir)), list(REFERENCE_TEXTS))
        reference = {"texts": list(REFERENCE_TEXTS), "fp32": fp32.tolist()}
        (out_dir / ONNX_REFERENCE).write_text(json.dumps(reference))
        (out_dir / ONNX_MARKER).write_text(json.dumps(_source_stamp(model_dir)))
        log.info("exported %s to ONNX (fp32 and int8)", model_dir)
        return onnx_path(model_dir, precision)


@functools.cache
def _tokenizer(model_dir: Path) -> tuple[Any, int]:
    """sentence-transformers' tokenisation (the same tokenizer.json and truncation) and the pad id.

    One per model and process: reading the 17 MB tokenizer.json takes a second, and the service's
    query and passage encoders used to read it once each. Shared safely: it is configured here,
    before anyone holds it, and encoding does not change it."""
    from tokenizers import Tokenizer

    config = json.loads((model_dir / "sentence_bert_config.json").read_text())
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tokenizer.enable_truncation(max_length=int(config.get("max_seq_length", 512)))
    pad_token = json.loads((model_dir / "tokenizer_config.json").read_text()).get("pad_token", "<pad>")
    pad_id = tokenizer.token_to_id(pad_token)
    # no padding here: _encode pads each run to its own longest text
    return tokenizer, 0 if pad_id is None else pad_id


def _session(path: Path, threads: int | None = None) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # ONNX Runtime's pool threads spin while waiting for work: under concurrent requests on
    # 2 cores they burn the CPU that the other requests need. Without spinning, /ask from 8
    # client threads against uvicorn on loopback (dev questions, 15 s runs, A/B alternated
    # twice) went from 104-121 to 127-138 req/s; 320 passages take the same 4.8-5.1 s
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


#: Padded tokens per graph run. One run pads every text to the longest, and attention memory
#: grows with batch x length^2: 16 texts of 512 tokens took 950 MB above the model, and 65
#: (a burst of long questions, or a test) grew an already loaded process past 24 GB. Runs of
#: at most this many padded tokens keep that bounded (8 texts of 512 tokens, 200 of 20).
MAX_BATCH_TOKENS = 4096


def _encode(tokenizer: tuple[Any, int], session: Any, texts: list[str]) -> np.ndarray:
    """Texts grouped by length into runs of at most :data:`MAX_BATCH_TOKENS` padded tokens;
    padding does not change an embedding (the mask hides it), so grouping does not either."""
    encodings = tokenizer[0].encode_batch(texts)
    order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
    out: np.ndarray | None = None
    start = 0
    while start < len(order):  # shortest first, so a run's last text is its longest
        stop = start + 1
        while stop < len(order) and (stop - start + 1) * len(encodings[order[stop]].ids) <= MAX_BATCH_TOKENS:
            stop += 1
        group = order[start:stop]
        width = len(encodings[group[-1]].ids)
        ids = np.full((len(group), width), tokenizer[1], dtype=np.int64)
        mask = np.zeros((len(group), width), dtype=np.int64)
        for row, i in enumerate(group):
            n = len(encodings[i].ids)
            ids[row, :n] = encodings[i].ids
            mask[row, :n] = 1
        vectors = session.run(["embedding"], {"input_ids": ids, "attention_mask": mask})[0]
        if out is None:
            out = np.empty((len(texts), vectors.shape[1]), dtype=vectors.dtype)
        out[group] = vectors
        start = stop
    assert out is not None
    return out


@functools.cache
def shared_encoder(model_dir: Path, precision: Precision, threads: int | None = None) -> OnnxTextEncoder:
    """One encoder per model, precision and thread count per process.

    The dense and hybrid query pipelines each built their own 8-bit session (a second start-up
    second and a second copy of the graph in memory) although a session serves concurrent calls."""
    return OnnxTextEncoder(model_dir, threads=threads, precision=precision)


class OnnxTextEncoder:
    """Tokenise like sentence-transformers (same tokenizer.json, same truncation) and run the graph.

    ``precision="int8"`` checks the 8-bit graph on this machine against the fp32 embeddings
    stored at export, and serves fp32 (with a warning) if they drift apart."""

    def __init__(self, model_dir: Path, threads: int | None = None, precision: Precision = "int8") -> None:
        self.precision: Precision = check_precision(precision)
        self.model_dir = Path(model_dir)
        self.threads = threads
        self.tokenizer = _tokenizer(self.model_dir)
        self.session = _session(export_onnx(self.model_dir, precision=precision), threads)
        if precision == "int8":
            reference = json.loads((self.model_dir / ONNX_DIR / ONNX_REFERENCE).read_text())
            self.verify_int8(reference)

    def verify_int8(self, reference: dict[str, Any]) -> float:
        """Lowest cosine of the 8-bit graph to ``reference`` (texts and their fp32 vectors);
        below :data:`MIN_INT8_COSINE` this encoder switches to the fp32 graph."""
        got = self.encode(list(reference["texts"]))
        cosine = float(np.min(np.sum(got * np.asarray(reference["fp32"], np.float32), axis=1)))
        if cosine < MIN_INT8_COSINE:
            log.warning(
                "the 8-bit query encoder drifts from fp32 on this CPU (cosine %.4f < %.2f): "
                "serving the fp32 graph. Set POLICYQA_QUERY_PRECISION=fp32 to skip this check.",
                cosine,
                MIN_INT8_COSINE,
            )
            self.session = _session(onnx_path(self.model_dir, "fp32"), self.threads)
            self.precision = "fp32"
        return cosine

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), np.float32)
        return _encode(self.tokenizer, self.session, texts)
