"""The records that flow through the pipeline.

Readers (text, web page, PDF) all produce a :class:`ParsedDocument`; the chunker turns
it into :class:`Passage` records. Keeping one intermediate shape means every reader
gets the same chunking, enrichment and citations for free, and the PDF reader can be
tested against the text reader block by block.

Offsets are always into ``ParsedDocument.clean_text``: the document's own text with
every markup marker removed. Body blocks come first; footnote texts follow in a final
"Notes" area, so ``clean_text[start:end] == text`` holds for passages *and* footnotes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from core.languages import CORPUS_LANGUAGE

BlockKind = Literal["heading", "paragraph", "bullet"]
PassageKind = Literal["passage", "footnote", "outline"]  # outline: a chapter's headings, in order
SourceFormat = Literal["text", "web", "pdf"]


@dataclass
class Footnote:
    """A footnote as printed: its number and full text (offsets into clean_text)."""

    number: int
    text: str
    start: int = 0
    end: int = 0
    page: int | None = None


@dataclass
class Block:
    """One paragraph, bullet or heading of the body, with the section it belongs to."""

    kind: BlockKind
    text: str
    start: int
    end: int
    section_path: list[str]
    footnote_refs: list[int] = field(default_factory=list)
    page_start: int | None = None
    page_end: int | None = None
    # where each of footnote_refs was cited (clean_text offsets, same order), when the reader
    # knows: lets the chunker credit a note to the right piece of a paragraph it cuts
    footnote_ref_offsets: list[int] = field(default_factory=list)


@dataclass
class ParsedDocument:
    """What a reader makes of one source file, before chunking."""

    doc_id: str
    title: str
    source_path: str
    source_format: SourceFormat
    clean_text: str
    blocks: list[Block]
    footnotes: dict[int, Footnote] = field(default_factory=dict)
    language: str = CORPUS_LANGUAGE
    metadata: dict[str, Any] = field(default_factory=dict)

    def block_text(self, block: Block) -> str:
        return self.clean_text[block.start : block.end]


@dataclass
class FootnoteCitation:
    """A footnote as cited by a passage: enough to print a full reference."""

    number: int
    text: str
    urls: list[str] = field(default_factory=list)


@dataclass
class Passage:
    """A retrievable unit: a body passage or a footnote.

    ``text`` is the document's own words (what users see and quote); ``embed_text``
    adds the title and section path as context for the embedder only.
    """

    id: str
    doc_id: str
    title: str
    kind: PassageKind
    section_path: list[str]
    order: int
    start: int
    end: int
    text: str
    embed_text: str
    language: str = CORPUS_LANGUAGE
    footnotes: list[FootnoteCitation] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)
    legal_refs: list[str] = field(default_factory=list)
    funds: list[str] = field(default_factory=list)
    page_start: int | None = None
    page_end: int | None = None
    # footnote units: the number, and the passages citing it; body passages: none
    footnote_number: int | None = None
    cited_by: list[str] = field(default_factory=list)
    source_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Passage:
        data = dict(data)
        data["footnotes"] = [
            f if isinstance(f, FootnoteCitation) else FootnoteCitation(**f) for f in data.get("footnotes", [])
        ]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})
