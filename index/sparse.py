"""French-aware lexical matching as Qdrant sparse vectors (BM25 with Qdrant's IDF modifier).

Why not Qdrant's server-side BM25: it assumes English, and peers that do lexical search on
French text lose ’ « » and accents. Here the analysis is ours and identical for documents and
queries, embedded or server mode alike:

* case and accent folding (after stemming, so the Snowball stemmer sees real French words);
* elisions stripped (l’, d’, qu’, jusqu’...), with both apostrophes ’ and ';
* French stopwords removed (plus the query's own language for queries);
* Snowball French stemming (PyStemmer when installed);
* identifiers kept whole as extra terms: ``FSE+`` ≠ ``FSE``, ``2004/38/ce``, ``covid-19``.

Documents carry the BM25 term-frequency part, ``tf·(k1+1) / (tf + k1·(1-b+b·dl/avgdl))``;
Qdrant multiplies by the IDF it keeps per collection (``modifier=idf``), so the score of a
query with unit weights is BM25. Terms map to sparse indices by a stable 31-bit hash.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from collections import Counter
from dataclasses import replace
from functools import lru_cache
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.dataclasses import SparseEmbedding

from core.languages import CORPUS_LANGUAGE, ELISION_RE, LANGUAGES

# words, with identifier glue kept: 2004/38/CE, COVID-19, FSE+, Erasmus+, 26,8
_TOKEN = re.compile(r"\w+(?:[/\-.,]\w+)*\+?", re.UNICODE)


def fold_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


@lru_cache(maxsize=16)
def _stopwords(lang: str) -> frozenset[str]:
    from stop_words import get_stop_words

    language = LANGUAGES.get(lang)
    name = language.stopwords if language else None
    if name is None:
        return frozenset()
    words = get_stop_words(name)
    return frozenset(words) | frozenset(fold_accents(w) for w in words)


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import snowballstemmer

    return snowballstemmer.stemmer("french")


class FrenchAnalyzer:
    """Turns text into index terms; the same analysis for documents and queries."""

    def __init__(self, extra_stopword_languages: tuple[str, ...] = ()) -> None:
        self.stop = _stopwords(CORPUS_LANGUAGE).union(
            *(_stopwords(lang) for lang in extra_stopword_languages)
        )

    def terms(self, text: str) -> list[str]:
        text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").lower()
        text = ELISION_RE.sub(" ", text)
        out: list[str] = []
        stem = _stemmer().stemWord
        for match in _TOKEN.finditer(text):
            token = match.group(0)
            compound = token.endswith("+") or any(ch in token for ch in "/-.,")
            if compound and any(ch.isalpha() for ch in token):
                out.append(fold_accents(token))  # the identifier as written
            parts = re.findall(r"\w+", token) if compound else [token]
            for part in parts:
                if part in self.stop or (len(part) == 1 and not part.isdigit()):
                    continue
                out.append(fold_accents(stem(part)) if not part.isdigit() else part)
        return out


def term_index(term: str) -> int:
    return zlib.crc32(term.encode("utf-8")) & 0x7FFFFFFF


def bm25_document_vector(
    terms: list[str], k1: float = 1.2, b: float = 0.75, avgdl: float = 120.0
) -> SparseEmbedding:
    counts = Counter(terms)
    dl = len(terms)
    norm = k1 * (1 - b + b * dl / avgdl)
    weights: dict[int, float] = {}
    for term, tf in counts.items():
        idx = term_index(term)
        weights[idx] = weights.get(idx, 0.0) + tf * (k1 + 1) / (tf + norm)
    return SparseEmbedding(indices=list(weights), values=list(weights.values()))


def query_vector(terms: list[str]) -> SparseEmbedding:
    indices = sorted({term_index(t) for t in terms})
    return SparseEmbedding(indices=indices, values=[1.0] * len(indices))


@component
class FrenchSparseDocumentEmbedder:
    """Adds a BM25-weighted French sparse embedding to each document (``content`` or ``meta[field]``)."""

    def __init__(
        self, k1: float = 1.2, b: float = 0.75, avgdl: float = 120.0, text_field: str | None = "embed_text"
    ) -> None:
        self.k1, self.b, self.avgdl, self.text_field = k1, b, avgdl, text_field
        self._analyzer = FrenchAnalyzer()

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        out = []
        for doc in documents:
            text = (doc.meta.get(self.text_field) if self.text_field else None) or doc.content or ""
            vector = bm25_document_vector(self._analyzer.terms(text), self.k1, self.b, self.avgdl)
            out.append(replace(doc, sparse_embedding=vector))
        return {"documents": out}

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, k1=self.k1, b=self.b, avgdl=self.avgdl, text_field=self.text_field)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrenchSparseDocumentEmbedder:
        return default_from_dict(cls, data)


@component
class FrenchSparseTextEmbedder:
    """Sparse query vector: unit weights, Qdrant's IDF modifier supplies the rest.

    ``expansions`` (e.g. every name of a fund mentioned in the query) are analysed and added,
    so "ESF+" also matches passages that only say "FSE+".
    """

    def __init__(self) -> None:
        self._analyzers: dict[str, FrenchAnalyzer] = {}

    def _analyzer(self, language: str) -> FrenchAnalyzer:
        if language not in self._analyzers:
            extra = (language,) if language != CORPUS_LANGUAGE else ()
            self._analyzers[language] = FrenchAnalyzer(extra_stopword_languages=extra)
        return self._analyzers[language]

    @component.output_types(sparse_embedding=SparseEmbedding)
    def run(
        self, text: str, language: str = CORPUS_LANGUAGE, expansions: list[str] | None = None
    ) -> dict[str, SparseEmbedding]:
        analyzer = self._analyzer(language)
        terms = analyzer.terms(text)
        for extra in expansions or []:
            terms.extend(analyzer.terms(extra))
        return {"sparse_embedding": query_vector(terms)}

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrenchSparseTextEmbedder:
        return default_from_dict(cls, data)
