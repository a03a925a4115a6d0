"""Plain typed results of question answering, read by the HTTP layer, the CLI and evaluation.

Dataclasses, not HTTP schemas: ``api/schemas.py`` mirrors them for the wire (validated from
these objects' attributes), so the QA layer knows nothing of HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from core.languages import CORPUS_LANGUAGE
from index.types import Hit, Mode, SearchFilters
from ingest.models import Passage, PassageKind

#: The background encoding of the indexed sentences (PolicyQAService.answer_cache).
AnswerCacheState = Literal["off", "priming", "primed", "failed"]
UploadStatus = Literal["added", "updated", "unchanged"]


@dataclass
class AskQuery:
    """A question and how to answer it; ``filters.funds`` may name funds by any of their names."""

    question: str
    top_k: int = 5
    mode: Mode | None = None
    filters: SearchFilters | None = None
    generate: bool | None = None  # None: generate when an LLM endpoint is configured


#: The document's own fields every citation carries (``corpus/sources.json``; None when unknown).
SOURCE_FIELDS = ("reference", "date", "source_url", "publisher")


@dataclass
class Citation:
    """Where a passage comes from: its document, its place in it, and how to cite the document.

    ``reference``, ``date``, ``source_url`` and ``publisher`` belong to the document, not the
    passage: they are kept once per document, in its manifest record (``metadata``, written
    from sources.json at indexing), and copied here when a citation is made (``of``'s
    ``source``). Stored in every passage's payload instead, they would repeat ~150 bytes a
    passage and change every passage's fingerprint (so re-embed the document) whenever a
    date or address in sources.json is corrected; read from the manifest, one lookup per
    cited document, indexes built before these fields existed cite them too.
    """

    doc_id: str
    title: str
    section_path: list[str]
    start: int  # character offsets of the passage in the document's clean text
    end: int
    page_start: int | None = None  # pages (from 1) of the PDF, or of the PDF version of a text
    page_end: int | None = None
    source_path: str = ""
    reference: str | None = None  # the document's official reference: "COM(2020) 758 final"
    date: str | None = None  # its date of adoption or publication, ISO 8601: "2020-11-24"
    source_url: str | None = None  # where the published document is (EUR-Lex...)
    publisher: str | None = None  # "Commission européenne"

    @classmethod
    def of(cls, p: Passage, source: Mapping[str, Any] | None = None) -> Citation:
        """``source``: the document's metadata (its manifest record's), for :data:`SOURCE_FIELDS`."""
        source = source or {}

        def field_of(name: str) -> str | None:
            value = source.get(name)
            return None if value is None or value == "" else str(value)

        return cls(
            doc_id=p.doc_id,
            title=p.title,
            section_path=list(p.section_path),
            start=p.start,
            end=p.end,
            page_start=p.page_start,
            page_end=p.page_end,
            source_path=p.source_path,
            reference=field_of("reference"),
            date=field_of("date"),
            source_url=field_of("source_url"),
            publisher=field_of("publisher"),
        )


@dataclass
class FootnoteRef:
    number: int
    text: str
    urls: list[str] = field(default_factory=list)


@dataclass
class PassageRef:
    """A passage mentioned alongside a hit (the passage citing a footnote hit)."""

    id: str
    text: str
    citation: Citation


@dataclass
class CitedPassage:
    marker: int  # the n of the answer's [n] markers
    id: str
    kind: PassageKind
    text: str
    score: float
    citation: Citation
    dense_score: float | None = None
    sparse_score: float | None = None
    footnotes: list[FootnoteRef] = field(default_factory=list)
    funds: list[str] = field(default_factory=list)
    legal_refs: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    language: str = CORPUS_LANGUAGE
    cited_by: list[PassageRef] = field(default_factory=list)

    @classmethod
    def from_hit(
        cls, hit: Hit, marker: int, sources: Mapping[str, Mapping[str, Any]] | None = None
    ) -> CitedPassage:
        """``sources``: each cited document's metadata by doc_id (see :class:`Citation`)."""
        p = hit.passage
        sources = sources or {}
        return cls(
            marker=marker,
            id=p.id,
            kind=p.kind,
            text=p.text,
            score=hit.score,
            citation=Citation.of(p, sources.get(p.doc_id)),
            dense_score=hit.dense_score,
            sparse_score=hit.sparse_score,
            footnotes=[FootnoteRef(f.number, f.text, list(f.urls)) for f in p.footnotes],
            funds=list(p.funds),
            legal_refs=list(p.legal_refs),
            urls=list(p.urls),
            language=p.language,
            cited_by=[PassageRef(c.id, c.text, Citation.of(c, sources.get(c.doc_id))) for c in hit.cited_by],
        )


@dataclass
class AnswerSentence:
    text: str
    markers: list[int]  # [n] of the passages the sentence comes from
    # where the sentence sits in the text of passage markers[0], so a page can highlight it
    start: int | None = None
    end: int | None = None


@dataclass
class FundMention:
    """A fund named by the passages of an answer, and which of them name it ([n] markers)."""

    fund: str  # the label a reader knows: the acronym in the corpus's language (FSE+, FEDER), else the name
    id: str  # the registry id (GET /funds/{id})
    name: str
    markers: list[int] = field(default_factory=list)


@dataclass
class GeneratedAnswer:
    text: str
    model: str
    markers: list[int] = field(default_factory=list)
    removed_markers: list[int] = field(default_factory=list)  # citations the model invented


@dataclass
class Answerability:
    """Why the service did or did not answer: the signals and the rule that combined them."""

    rule: str
    signals: dict[str, float | None] = field(default_factory=dict)
    reason: str = ""


@dataclass
class Answer:
    question: str
    language: str
    mode: Mode
    answerable: bool
    answer: str | None = None  # extractive, with [n] markers
    sentences: list[AnswerSentence] = field(default_factory=list)
    message: str | None = None  # plain explanation when there is no answer
    passages: list[CitedPassage] = field(default_factory=list)
    # for questions about funding: each fund the passages name (empty for other questions)
    funds: list[FundMention] = field(default_factory=list)
    generated: GeneratedAnswer | None = None
    answerability: Answerability | None = None
    warnings: list[str] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class SearchResult:
    query: str
    mode: Mode
    passages: list[CitedPassage]


@dataclass
class DocumentInfo:
    """One ingested document, as recorded in the index manifest."""

    doc_id: str
    title: str = ""
    source_path: str = ""
    source_format: str = ""
    language: str = CORPUS_LANGUAGE
    fingerprint: str = ""
    passages: int = 0
    footnotes: int = 0
    pages: int | None = None
    ingested_at: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> DocumentInfo:
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in record.items() if k in known})


@dataclass
class DocumentDetail:
    document: DocumentInfo
    passages: list[CitedPassage]  # body first, then footnotes


@dataclass
class UploadOutcome:
    doc_id: str
    status: UploadStatus
    title: str
    passages: int
    footnotes: int
    seconds: float = 0.0


@dataclass
class DeleteOutcome:
    doc_id: str
    removed_points: int


@dataclass
class FundSummary:
    """A fund of the registry and how often the indexed documents mention it."""

    id: str
    name: str  # French
    name_en: str = ""
    acronyms: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    passages: int = 0
    footnotes: int = 0


@dataclass
class FundDetail:
    fund: FundSummary
    passages: list[CitedPassage]
    footnotes: list[CitedPassage]
