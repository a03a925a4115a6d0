"""Typed requests and responses of the HTTP API (and of the CLI and evaluation runner,
which go through the same service)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
    WithJsonSchema,
)

from index.types import Hit, Mode, SearchFilters

#: Characters that are not words: controls, spaces, punctuation, symbols (ASCII, Latin-1,
#: general punctuation, currency, arrows and shapes, CJK and full-width punctuation).
_NOT_WORDS = (
    r"[\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\xBF\xD7\xF7\u1680\u2000-\u206F\u20A0-\u20CF"
    r"\u2190-\u2BFF\u3000-\u303F\uFE10-\uFE6F\uFEFF\uFF00-\uFF0F]"
)
#: A question has at least one other character: a letter or digit of any script. Written
#: with explicit ranges, because ``\w`` is ASCII-only in the ECMA regexes of JSON Schema
#: tools and Unicode in Python: one pattern, read the same by clients, fuzzers and the API.
QUESTION_PATTERN = rf"^(?!{_NOT_WORDS}*$)"
_QUESTION_RE = re.compile(QUESTION_PATTERN)


QUESTION_MAX_CHARS = 2000


def _question_text(value: str) -> str:
    """The question without surrounding blanks; it must have a letter or digit.

    Stripped only after the length bounds were checked on the text as sent, which is what the
    schema's minLength/maxLength describe: stripping first let 2,000 characters followed by
    blank lines through (schemathesis found it)."""
    value = value.strip()
    if not _QUESTION_RE.match(value):
        raise ValueError("The question has no letters or digits: write a question in words.")
    return value


Question = Annotated[
    str,
    StringConstraints(min_length=1, max_length=QUESTION_MAX_CHARS),
    AfterValidator(_question_text),
    WithJsonSchema(
        {"type": "string", "minLength": 1, "maxLength": QUESTION_MAX_CHARS, "pattern": QUESTION_PATTERN}
    ),
]


def _whole_number(value: object) -> object:
    """JSON integers, including 5.0 (JSON Schema counts it as an integer); never "5" or true."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number, e.g. 5")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be a whole number, e.g. 5")
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]


class Filters(BaseModel):
    """Restrict the search; every field is optional and combined with AND."""

    documents: list[str] | None = Field(
        default=None, examples=[["plan-action-integration-inclusion-2021-2027"]]
    )
    kinds: list[Literal["passage", "footnote"]] | None = None
    funds: list[str] | None = Field(
        default=None, description="Fund ids or any of their names (FSE+, ESF+...)."
    )
    languages: list[str] | None = None

    def to_search_filters(self, resolve_fund: callable | None = None) -> SearchFilters:  # type: ignore[valid-type]
        funds = self.funds
        if funds and resolve_fund is not None:
            funds = [resolve_fund(f) or f for f in funds]
        return SearchFilters(doc_ids=self.documents, kinds=self.kinds, funds=funds, languages=self.languages)


class AskRequest(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "question": "Quels fonds européens soutiennent l’intégration des migrants ?",
                    "top_k": 5,
                    "mode": "hybrid",
                },
                {"question": "Quel est le rôle du réseau européen d’intégration ?"},
            ]
        }
    )

    question: Question = Field(
        description="The question, in French or another EU language (1-2,000 characters)."
    )
    top_k: WholeNumber = Field(default=5, ge=1, le=20)
    mode: Mode | None = Field(default=None, description="bm25, dense or hybrid (default: the best measured).")
    filters: Filters | None = None
    generate: StrictBool | None = Field(
        default=None, description="Also write a generated answer when an LLM endpoint is configured."
    )


class Citation(BaseModel):
    doc_id: str
    title: str
    section_path: list[str]
    page_start: int | None = None
    page_end: int | None = None
    start: int = Field(description="Character offset of the passage in the document's clean text.")
    end: int
    source_path: str = ""


class FootnoteOut(BaseModel):
    number: int
    text: str
    urls: list[str] = []


class PassageRef(BaseModel):
    """A passage mentioned alongside a hit (e.g. the passage citing a footnote hit)."""

    id: str
    text: str
    citation: Citation


class CitedPassage(BaseModel):
    marker: int = Field(description="The number used in the answer's [n] markers.")
    id: str
    kind: Literal["passage", "footnote"]
    text: str
    score: float
    dense_score: float | None = None
    sparse_score: float | None = None
    citation: Citation
    footnotes: list[FootnoteOut] = []
    funds: list[str] = []
    legal_refs: list[str] = []
    urls: list[str] = []
    language: str = "fr"
    cited_by: list[PassageRef] = []

    @classmethod
    def from_hit(cls, hit: Hit, marker: int) -> CitedPassage:
        p = hit.passage
        return cls(
            marker=marker,
            id=p.id,
            kind=p.kind,
            text=p.text,
            score=hit.score,
            dense_score=hit.dense_score,
            sparse_score=hit.sparse_score,
            citation=citation_of(p),
            footnotes=[FootnoteOut(number=f.number, text=f.text, urls=f.urls) for f in p.footnotes],
            funds=p.funds,
            legal_refs=p.legal_refs,
            urls=p.urls,
            language=p.language,
            cited_by=[PassageRef(id=c.id, text=c.text, citation=citation_of(c)) for c in hit.cited_by],
        )


def citation_of(p) -> Citation:  # noqa: ANN001 - ingest.models.Passage
    return Citation(
        doc_id=p.doc_id,
        title=p.title,
        section_path=p.section_path,
        page_start=p.page_start,
        page_end=p.page_end,
        start=p.start,
        end=p.end,
        source_path=p.source_path,
    )


class AnswerSentence(BaseModel):
    text: str
    markers: list[int] = Field(description="Markers [n] of the passages the sentence comes from.")


class GeneratedAnswer(BaseModel):
    text: str
    model: str
    markers: list[int] = []
    removed_markers: list[int] = Field(default=[], description="Citations the model invented, removed.")


class Answerability(BaseModel):
    """Why the service did or did not answer: the signals and the rule that combined them."""

    rule: str = Field(description="The decision rule, in words.")
    signals: dict[str, float | None] = Field(default={}, description="The measured signals the rule reads.")
    reason: str = Field(default="", description="Which part of the rule decided.")


class AskResponse(BaseModel):
    question: str
    language: str
    mode: Mode
    answerable: bool
    answer: str | None = Field(default=None, description="Extractive answer with [n] markers.")
    sentences: list[AnswerSentence] = []
    message: str | None = Field(default=None, description="Plain explanation when there is no answer.")
    passages: list[CitedPassage] = []
    generated: GeneratedAnswer | None = None
    answerability: Answerability | None = None
    warnings: list[str] = Field(
        default=[], description="Things the caller may want to know (e.g. no LLM configured)."
    )
    timings_ms: dict[str, float] = {}


class SearchResponse(BaseModel):
    query: str
    mode: Mode
    passages: list[CitedPassage]


class ErrorResponse(BaseModel):
    error: str
    detail: str | list | dict | None = None


# --- added for the HTTP service (issue 5) ---------------------------------------------------


class DocumentInfo(BaseModel):
    """One ingested document, as recorded in the index manifest."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "reseaux-cooperation-ue-integration-migrants",
                    "title": "Les réseaux de coopération de l’UE pour l’intégration des migrants",
                    "source_format": "text",
                    "language": "fr",
                    "passages": 18,
                    "footnotes": 0,
                }
            ]
        },
    )

    doc_id: str
    title: str = ""
    source_path: str = ""
    source_format: str = ""
    language: str = "fr"
    fingerprint: str = ""
    passages: int = 0
    footnotes: int = 0
    pages: int | None = None
    ingested_at: str | None = None
    metadata: dict = {}


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class DocumentDetail(BaseModel):
    """A document's manifest record and all its passages, body first then footnotes."""

    document: DocumentInfo
    passages: list[CitedPassage]


class UploadResult(BaseModel):
    """What an upload did to the index: added, updated (content changed) or unchanged."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "doc_id": "note-integration-2024",
                    "status": "added",
                    "title": "Note sur l’intégration",
                    "passages": 12,
                    "footnotes": 3,
                    "seconds": 1.8,
                }
            ]
        }
    )

    doc_id: str
    status: Literal["added", "updated", "unchanged"]
    title: str
    passages: int
    footnotes: int
    seconds: float = 0.0


class DeleteResult(BaseModel):
    doc_id: str
    removed_points: int = Field(description="Passages and footnotes removed from the index.")


class FundSummary(BaseModel):
    """A fund of the registry and how often the indexed documents mention it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "esf_plus",
                    "name": "Fonds social européen plus",
                    "name_en": "European Social Fund Plus",
                    "acronyms": ["FSE+", "ESF+"],
                    "aliases": ["Fonds social européen +", "FSE plus"],
                    "details": {"period": "2021-2027", "successor_of": "esf"},
                    "passages": 9,
                    "footnotes": 1,
                }
            ]
        }
    )

    id: str
    name: str = Field(description="French name.")
    name_en: str = ""
    acronyms: list[str] = []
    aliases: list[str] = []
    details: dict = Field(default={}, description="Other registry fields (period, successor_of...).")
    passages: int = Field(default=0, description="Body passages mentioning the fund.")
    footnotes: int = Field(default=0, description="Footnotes mentioning the fund.")


class FundList(BaseModel):
    funds: list[FundSummary]


class FundDetail(BaseModel):
    """A fund and every passage and footnote that mentions it, with their links."""

    fund: FundSummary
    passages: list[CitedPassage]
    footnotes: list[CitedPassage]


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


#: The background encoding of the indexed sentences (PolicyQAService.answer_cache).
AnswerCacheState = Literal["off", "priming", "primed", "failed"]


class ReadyResponse(BaseModel):
    ready: bool
    model: str
    documents: int = 0
    answer_cache: AnswerCacheState = Field(
        default="off",
        description="Sentence embeddings of the indexed passages, encoded in the background after "
        "start-up: answers are slower (and benchmarks not representative) while 'priming'.",
    )
    detail: str | None = None
