"""Read a PDF into the same :class:`ParsedDocument` the text reader produces.

Plain text extraction loses what a reader of the printed page relies on: a footnote
marker is only a smaller, raised run of digits, so ``extract_text()`` glues it to the
word or number before it ("COVID-19" + marker 12 reads "COVID-1912"). We therefore ask
pypdf for every text run with its font and position (``visitor_text``) and rebuild the
page from the layout:

* runs are grouped into lines by baseline; small digit runs raised above the baseline
  are footnote markers, recorded on the citing block and removed from its text;
* lines repeated at the top or bottom of most pages (running header, footer, page
  number) are dropped;
* the block of small-font lines at the bottom of a page is the footnote area; a line
  opening with the next footnote number starts a footnote, other lines continue one
  (also across pages);
* the remaining lines become headings (bold or larger font), bullets (a bullet glyph)
  and paragraphs (split on vertical gaps); a paragraph whose last line on a page does
  not end a sentence continues on the next page. A one-line question in body type that
  opens a list ("Qu'entend faire la Commission ... ?") is the deepest sub-heading.

Everything pypdf raises is turned into an :mod:`core.errors` class, so a bad upload
is refused with a message the user can act on and nothing of it is indexed.
"""

from __future__ import annotations

import io
import logging
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError, PyPdfError

from core.errors import CorruptDocument, EmptyDocument, EncryptedDocument, NoTextLayer
from ingest.markers import sentinel, take_markers
from ingest.models import BlockKind, Footnote, ParsedDocument
from ingest.text_layout import SectionBuilder, assemble

__all__ = ["read_pdf", "read_pdf_bytes"]

log = logging.getLogger(__name__)

#: A run made only of numbers (a footnote marker such as "12" or "12, 13").
_MARKER_RE = re.compile(r"^\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*$")
#: Glyphs word processors draw in front of list items (\uf0b7 is Symbol's bullet).
_BULLET_RE = re.compile(r"^\s*[•·▪■◦●○➢►\uf0b7\uf0a7\uf0d8\uf076][\s\u00a0]*")
_PAGE_NUMBER_RE = re.compile(r"^(?:page\s*)?\d{1,4}(?:\s*(?:/|sur|of|de)\s*\d{1,4})?$|^[ivxlc]{1,6}$", re.I)
_URL_RE = re.compile(r"(?:\S*https?://|www\.)\S+", re.I)
_WORD_RE = re.compile(r"\w+(?:-\w+)*")
_SENTENCE_END_RE = re.compile(r"[.!?:;…][»”\"’)\]]*$")
_BOLD_RE = re.compile(r"bold|black|heavy|semibold|demi", re.I)
_ITALIC_RE = re.compile(r"italic|oblique|\bit\b|-it$", re.I)

#: Share of the page height at the top and bottom where running headers and footers live.
_MARGIN_ZONE = 0.1
#: A line text found in a margin zone of at least this share of pages is a running header/footer.
_REPEAT_SHARE = 0.5
#: A document with fewer visible characters than this is taken as scanned images.
_MIN_TEXT_CHARS = 20
#: Control characters (NUL...) a damaged or odd font map can decode to: never text.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


# ---------------------------------------------------------------------------- layout


@dataclass
class _Run:
    """One piece of text as drawn, in page coordinates (points, origin bottom left)."""

    text: str
    x: float
    y: float
    size: float
    font: str

    @property
    def bold(self) -> bool:
        return bool(_BOLD_RE.search(self.font))

    @property
    def italic(self) -> bool:
        return bool(_ITALIC_RE.search(self.font.split("+")[-1]))


@dataclass
class _Line:
    """Runs sharing a baseline; superscript runs are kept apart as marker numbers."""

    page: int
    y: float
    runs: list[_Run] = field(default_factory=list)
    superscript: list[bool] = field(default_factory=list)

    def add(self, run: _Run, superscript: bool = False) -> None:
        self.runs.append(run)
        self.superscript.append(superscript)

    def _text_runs(self) -> list[_Run]:
        return [r for r, sup in zip(self.runs, self.superscript, strict=True) if not sup and r.text.strip()]

    @property
    def size(self) -> float:
        """The font size carrying most characters (markers aside)."""
        sizes: Counter[float] = Counter()
        for run in self._text_runs():
            sizes[round(run.size, 1)] += len(run.text.strip())
        return sizes.most_common(1)[0][0] if sizes else (self.runs[0].size if self.runs else 0.0)

    @property
    def x(self) -> float:
        runs = self._text_runs()
        return runs[0].x if runs else self.runs[0].x

    @property
    def bold(self) -> bool:
        runs = self._text_runs()
        return bool(runs) and all(r.bold for r in runs)

    @property
    def italic(self) -> bool:
        runs = self._text_runs()
        return bool(runs) and all(r.italic for r in runs)

    @property
    def style(self) -> tuple[float, bool, bool]:
        return (round(self.size), self.bold, self.italic)

    def parts(self) -> list[str | int]:
        """Text pieces and footnote marker numbers in reading order."""
        out: list[str | int] = []
        for run, sup in zip(self.runs, self.superscript, strict=True):
            if sup:
                out.extend(int(n) for n in re.findall(r"\d+", run.text))
            else:
                out.append(run.text)
        return out

    @property
    def text(self) -> str:
        return _squeeze("".join(p for p in self.parts() if isinstance(p, str)))

    def lead_number(self) -> tuple[int, list[str | int]] | None:
        """A number set apart at the start of the line (how footnotes are numbered).

        Either a raised marker or a digits-only run followed by more text: word
        processors draw the footnote number as its own run even when the footnote text
        itself starts with digits ("8" then "26,8 % des adultes").
        """
        parts = self.parts()
        while parts and isinstance(parts[0], str) and not parts[0].strip():
            parts.pop(0)
        if not parts:
            return None
        head = parts[0]
        if isinstance(head, int):
            return head, parts[1:]
        rest = "".join(p for p in parts[1:] if isinstance(p, str))
        if re.fullmatch(r"\s*\d{1,3}\s*", head) and rest.strip():
            return int(head), parts[1:]
        return None


def _multiply(m: list[float], n: list[float]) -> list[float]:
    """Product of two PDF matrices [a b c d e f]."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return [
        a * a2 + b * c2,
        a * b2 + b * d2,
        c * a2 + d * c2,
        c * b2 + d * d2,
        e * a2 + f * c2 + e2,
        e * b2 + f * d2 + f2,
    ]


def _page_runs(page) -> list[_Run]:
    runs: list[_Run] = []

    def visit(text: str, cm: list[float], tm: list[float], font: dict | None, size: float) -> None:
        text = _CONTROL_RE.sub("", text.replace("\n", "").replace("\r", ""))
        if not text:
            return
        m = _multiply(list(tm), list(cm))
        scale = math.sqrt(abs(m[0] * m[3] - m[1] * m[2])) or 1.0
        name = str(font.get("/BaseFont", "")) if font else ""
        runs.append(_Run(text, m[4], m[5], size * scale, name))

    page.extract_text(visitor_text=visit)
    return runs


def _is_marker_digits(text: str) -> bool:
    return bool(_MARKER_RE.match(text)) and any(ch.isdigit() for ch in text)


def _group_lines(runs: Iterable[_Run], page_no: int) -> list[_Line]:
    """Group runs into lines by baseline, telling raised small digits (markers) apart."""
    lines: list[_Line] = []
    cur: _Line | None = None
    for run in runs:
        if cur is not None and cur.runs:
            size = cur.size
            dy = run.y - cur.y
            raised = run.size <= 0.8 * size and 0.1 * size < dy < 0.75 * size
            if raised or abs(dy) <= 0.3 * max(run.size, size):
                # raised digits are footnote markers; other raised text ("1er") stays text
                cur.add(run, superscript=raised and _is_marker_digits(run.text))
                continue
            only_marker = len(cur.runs) == 1 and _is_marker_digits(cur.runs[0].text)
            if only_marker and cur.runs[0].size <= 0.8 * run.size and 0.1 * run.size < -dy < 0.75 * run.size:
                # a raised number opening the line: the baseline is the text's, not the marker's
                cur.superscript[0] = True
                cur.y = run.y
                cur.add(run)
                continue
        if not run.text.strip():
            continue
        cur = _Line(page_no, run.y)
        cur.add(run)
        lines.append(cur)
    # reading order: top to bottom (the content stream usually is, but need not be)
    lines.sort(key=lambda ln: -ln.y)
    return lines


def _squeeze(text: str) -> str:
    """Collapse the runs of plain spaces that justified lines are drawn with."""
    return re.sub(r" {2,}", " ", text)


def _margin_key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", " ", text.strip().lower()))


def _drop_running_lines(pages: list[list[_Line]], heights: list[float]) -> int:
    """Remove running headers, footers and page numbers in place; return how many."""
    zone_keys: list[set[str]] = []
    for lines, height in zip(pages, heights, strict=True):
        keys = {_margin_key(ln.text) for ln in lines if _in_margin(ln, height)}
        zone_keys.append(keys)
    counts = Counter(k for keys in zone_keys for k in keys)
    threshold = max(2, math.ceil(_REPEAT_SHARE * len(pages)))
    repeated = {k for k, n in counts.items() if n >= threshold and k}
    removed = 0
    for lines, height in zip(pages, heights, strict=True):
        keep: list[_Line] = []
        for i, ln in enumerate(lines):
            if _in_margin(ln, height):
                extreme = i == 0 or i == len(lines) - 1
                if _margin_key(ln.text) in repeated or (extreme and _PAGE_NUMBER_RE.match(ln.text.strip())):
                    removed += 1
                    continue
            keep.append(ln)
        lines[:] = keep
    return removed


def _in_margin(line: _Line, height: float) -> bool:
    return line.y > height * (1 - _MARGIN_ZONE) or line.y < height * _MARGIN_ZONE


def _split_footnote_area(lines: list[_Line], body_size: float) -> tuple[list[_Line], list[_Line]]:
    """The small-font lines at the bottom of the page are its footnotes."""
    cut = len(lines)
    while cut > 0 and lines[cut - 1].size <= 0.85 * body_size:
        cut -= 1
    return lines[:cut], lines[cut:]


# ---------------------------------------------------------------------------- text


class _Lexicon:
    """Words seen inside lines, to decide whether a line-end hyphen is a real one.

    Word processors' automatic hyphenation breaks "inté-gration"; French compounds
    break at their own hyphen ("non-discrimination", "socio-économique"). A hyphen is
    dropped only when the joined word occurs elsewhere in the document and the
    hyphenated one does not; otherwise it is kept, since dropping a real hyphen changes
    the word while keeping a soft one only splits it.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.words: set[str] = set()
        for text in texts:
            tokens = _WORD_RE.findall(text.lower())
            # the last token may be a broken word: leave it out
            self.words.update(tokens[:-1] if text.rstrip().endswith("-") else tokens)

    def join(self, left: str, right: str) -> str:
        """Join two consecutive lines of one block."""
        left = left.rstrip(" ")
        right = right.lstrip(" ")
        if not left:
            return right
        if not right:
            return left
        if left.endswith("\u00ad"):  # soft hyphen: always a line-break artefact
            return left[:-1] + right
        if _url_goes_on(left, right):
            return left + right
        if left.endswith("-") and len(left) > 1 and not left[-2].isspace():
            head = re.search(r"(\w+)-$", left)
            tail = re.match(r"\w+", right)
            if head and tail and head.group(1)[-1].islower() and tail.group(0)[0].islower():
                joined = (head.group(1) + tail.group(0)).lower()
                hyphenated = f"{head.group(1)}-{tail.group(0)}".lower()
                if joined in self.words and not any(w.startswith(hyphenated) for w in self.words):
                    return left[:-1] + right
            return left + right
        return left + " " + right


def _url_goes_on(left: str, right: str) -> bool:
    """Whether a web address at the end of a line is continued on the next one.

    Long addresses are broken anywhere, with no hyphen; a complete one at a line end is
    usually followed by punctuation, and its continuation looks like a path or query.
    """
    token = left.rsplit(maxsplit=1)[-1]
    if not _URL_RE.match(token) or token[-1] in ".,;:)]»":
        return False
    head = right.split(maxsplit=1)[0] if right.split() else ""
    return token[-1] in "/?=&_%#-" or bool(re.search(r"[/_=&%#]|\.[a-z]", head))


def _ends_sentence(text: str) -> bool:
    return bool(_SENTENCE_END_RE.search(text.rstrip()))


# ---------------------------------------------------------------------------- blocks


@dataclass
class _Draft:
    """A block being assembled from lines."""

    kind: BlockKind
    lines: list[_Line] = field(default_factory=list)
    style: tuple[float, bool, bool] | None = None
    level: int = 0

    @property
    def last(self) -> _Line:
        return self.lines[-1]


def _line_pitch(pages: list[list[_Line]], body_size: float) -> float:
    """The usual baseline distance between two lines of one body paragraph."""
    gaps: Counter[float] = Counter()
    for lines in pages:
        for a, b in zip(lines, lines[1:], strict=False):
            if abs(a.size - body_size) < 0.5 and abs(b.size - body_size) < 0.5 and a.y > b.y:
                gaps[round(a.y - b.y, 1)] += 1
    return gaps.most_common(1)[0][0] if gaps else body_size * 1.2


def _is_heading(line: _Line, body_size: float) -> bool:
    return bool(line.text.strip()) and (line.bold or line.size >= body_size * 1.1)


def _drafts(body_pages: list[list[_Line]], body_size: float, pitch: float) -> list[_Draft]:
    """Cut the body lines into headings, bullets and paragraphs (``pitch``: line spacing)."""
    drafts: list[_Draft] = []
    for lines in body_pages:
        for i, line in enumerate(lines):
            text = line.text
            prev = drafts[-1] if drafts else None
            if _is_heading(line, body_size):
                same = prev is not None and prev.kind == "heading" and prev.style == line.style
                if same and prev.last.page == line.page and 0 < prev.last.y - line.y <= 1.6 * line.size:
                    prev.lines.append(line)
                else:
                    drafts.append(_Draft("heading", [line], style=line.style))
                continue
            if _BULLET_RE.match(text):
                drafts.append(_Draft("bullet", [line]))
                continue
            if (
                prev is not None
                and prev.kind != "heading"
                and _continues(prev, line, i == 0, pitch / body_size)
            ):
                prev.lines.append(line)
                continue
            drafts.append(_Draft("paragraph", [line]))
    return drafts


#: The longest line read as a question-form sub-heading ("Que fera la Commission?").
_QUESTION_HEADING_CHARS = 160


def _promote_question_headings(drafts: list[_Draft]) -> None:
    """A one-line paragraph in body type that asks a question and opens a list is a sub-heading.

    Commission texts head their lists with questions ("Quels sont nos objectifs dans ce
    domaine?", "Qu'entend faire la Commission ... ?") set in body type, with only the space
    around them to tell them apart. Read as paragraphs, the list under them loses the part of
    its section path that says whose action it is. Their style (body type) ranks below every
    other heading style, so they become the deepest level.
    """
    for draft, following in zip(drafts, drafts[1:], strict=False):
        text = draft.last.text.strip()
        if (
            draft.kind == "paragraph"
            and len(draft.lines) == 1
            and following.kind == "bullet"
            and text.endswith("?")
            and len(text) <= _QUESTION_HEADING_CHARS
            and not any(isinstance(p, int) for p in draft.last.parts())
        ):
            draft.kind = "heading"
            draft.style = draft.last.style


def _continues(prev: _Draft, line: _Line, first_on_page: bool, spacing: float) -> bool:
    """Whether ``line`` goes on with ``prev``; ``spacing``: usual baseline distance per point of font size."""
    last = prev.last
    if first_on_page and line.page > last.page:
        # a paragraph cut by the page break goes on where the sentence does
        return not _ends_sentence(last.text)
    if line.page != last.page:
        return False
    gap = last.y - line.y
    # a paragraph break shows as extra space between lines; a quarter of a line is enough
    if not 0 < gap <= 1.25 * spacing * max(line.size, last.size):
        return False
    if prev.kind == "bullet":
        # continuation lines of an item hang under its text, not under the bullet
        return line.x >= prev.lines[0].x - 2 and line.x > _bullet_text_x(prev.lines[0]) - 6
    return True


def _bullet_text_x(line: _Line) -> float:
    for run in line.runs:
        if run.text.strip() and not _BULLET_RE.fullmatch(run.text):
            return run.x
    return line.x


def _assemble(
    lines: list[_Line], lexicon: _Lexicon, bullet: bool, notes: set[int]
) -> tuple[str, list[int], list[int]]:
    """The block's text without its footnote markers, their numbers, and where each was cited.

    A raised number with no footnote of that number is not a marker (an exponent, a unit)
    and stays in the text. A bullet keeps its glyph, written "• " whatever the font drew
    (Symbol's private-use glyph included), so lists still read as lists in passages.
    """
    text = ""
    for line in lines:
        piece = "".join(sentinel(p) if isinstance(p, int) and p in notes else str(p) for p in line.parts())
        piece = _squeeze(piece).strip(" ")
        text = lexicon.join(text, piece) if text else piece
    if bullet:
        text = _BULLET_RE.sub("• ", text, count=1)
    return take_markers(text, first_only=True)


# ---------------------------------------------------------------------------- footnotes


@dataclass
class _FootnoteDraft:
    number: int
    page: int
    lines: list[str] = field(default_factory=list)


def _footnotes(
    note_pages: list[list[_Line]], markers: set[int], lexicon: _Lexicon
) -> tuple[dict[int, Footnote], list[str]]:
    drafts: list[_FootnoteDraft] = []
    orphans: list[str] = []
    for lines in note_pages:
        for line in lines:
            lead = line.lead_number()
            if lead is not None:
                number, rest = lead
                last = drafts[-1].number if drafts else None
                if last is None or number == last + 1 or (number > last and number in markers):
                    text = _squeeze("".join(p for p in rest if isinstance(p, str))).strip(" ")
                    drafts.append(_FootnoteDraft(number, line.page, [text]))
                    continue
            if drafts:
                drafts[-1].lines.append(line.text.strip(" "))
            else:
                orphans.append(line.text)
    notes: dict[int, Footnote] = {}
    for d in drafts:
        text = ""
        for piece in d.lines:
            text = lexicon.join(text, piece) if text else piece
        notes[d.number] = Footnote(number=d.number, text=_squeeze(text).strip(), page=d.page)
    return notes, orphans


# ---------------------------------------------------------------------------- document


def _set_levels(drafts: list[_Draft], title_index: int | None) -> None:
    """Heading levels by style: the largest heading style is level 1, and so on.

    Word processors give each heading level its own style (here 13 pt bold for "1.",
    12 pt bold italic for "I."), which holds for any numbering scheme.
    """
    styles = sorted(
        {d.style for i, d in enumerate(drafts) if d.kind == "heading" and i != title_index and d.style},
        key=lambda s: (-s[0], not s[1], s[2]),
    )
    level_of = {s: n + 1 for n, s in enumerate(styles)}
    for i, draft in enumerate(drafts):
        if draft.kind == "heading" and i != title_index and draft.style is not None:
            draft.level = level_of[draft.style]


def _find_title(drafts: list[_Draft], texts: list[str]) -> int | None:
    """The largest heading on the first page, when it is larger than every other heading."""
    headings = [(i, d) for i, d in enumerate(drafts) if d.kind == "heading"]
    if not headings:
        return None
    i, top = max(headings, key=lambda h: h[1].last.size)
    if top.last.page != 1 or not texts[i]:
        return None
    if sum(1 for _, d in headings if d.style == top.style) > 1:
        return None
    return i


def _open(data: bytes, name: str) -> PdfReader:
    if not data:
        raise EmptyDocument(f"{name} is empty (0 bytes): upload the PDF again.")
    if b"%PDF-" not in data[:1024]:
        raise CorruptDocument(
            f"{name} is not a PDF (no %PDF header): check the file type and upload it again."
        )
    if b"%%EOF" not in data[-2048:]:
        raise CorruptDocument(
            f"{name} is truncated (no end-of-file marker): the download or upload was cut short; "
            "upload the complete file again."
        )
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                unlocked = reader.decrypt("")
            except DependencyError as exc:
                raise EncryptedDocument(
                    f"{name} is encrypted with AES, which needs the 'cryptography' package to open: "
                    "remove the encryption (e.g. `qpdf --decrypt in.pdf out.pdf`) and upload it again."
                ) from exc
            if not unlocked:
                raise EncryptedDocument(
                    f"{name} is password-protected: remove the password (e.g. "
                    "`qpdf --decrypt --password=... in.pdf out.pdf`) and upload it again."
                )
        n_pages = len(reader.pages)
    except (EncryptedDocument, EmptyDocument):
        raise
    except FileNotDecryptedError as exc:
        raise EncryptedDocument(
            f"{name} is password-protected: remove the password and upload it again."
        ) from exc
    except Exception as exc:  # pypdf raises many types for damaged files
        raise CorruptDocument(
            f"{name} could not be read as a PDF ({_describe(exc)}): export it again."
        ) from exc
    if n_pages == 0:
        raise EmptyDocument(f"{name} has no pages: export the document again.")
    return reader


class _PypdfWarnings(logging.Handler):
    """Collects what pypdf logs while this thread reads a file.

    pypdf repairs damaged files silently where it can and only logs what it skipped;
    a missing object or an undecodable stream means part of the text is gone, and a
    partial document must be refused rather than indexed.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread == self.thread:
            self.messages.append(record.getMessage())

    def damage(self) -> str | None:
        for message in self.messages:
            if _DAMAGE_RE.search(message):
                return message.splitlines()[0][:160]
        return None


_DAMAGE_RE = re.compile(r"not defined|decompress|stream has ended|invalid elementary object", re.I)


@contextmanager
def _watch_pypdf() -> Iterator[_PypdfWarnings]:
    handler = _PypdfWarnings()
    logger = logging.getLogger("pypdf")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def _declared_pages(reader: PdfReader) -> int | None:
    try:
        return int(reader.trailer["/Root"]["/Pages"]["/Count"])
    except Exception:  # an odd page tree is checked by reading the pages themselves
        return None


def _describe(exc: BaseException) -> str:
    message = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def read_pdf_bytes(data: bytes, doc_id: str, source_path: str = "") -> ParsedDocument:
    """Parse a PDF held in memory (an upload). See :func:`read_pdf`."""
    name = source_path or f"{doc_id}.pdf"
    with _watch_pypdf() as warnings:
        reader = _open(bytes(data), name)
        pages, heights = _read_pages(reader, name)
        damage = warnings.damage()
    declared = _declared_pages(reader)
    if declared is not None and declared != len(pages):
        damage = damage or f"{declared} pages declared, {len(pages)} found"
    if damage:
        raise CorruptDocument(
            f"{name} is damaged ({damage}): part of its text cannot be read; export the PDF again."
        )
    return _parse(reader, pages, heights, doc_id, name, source_path)


def _read_pages(reader: PdfReader, name: str) -> tuple[list[list[_Line]], list[float]]:
    pages: list[list[_Line]] = []
    heights: list[float] = []
    try:
        for number, page in enumerate(reader.pages, start=1):
            box = page.mediabox
            heights.append(float(box.top) - float(box.bottom))
            runs = _page_runs(page)
            if float(box.bottom):
                for run in runs:
                    run.y -= float(box.bottom)
            pages.append(_group_lines(runs, number))
    except PyPdfError as exc:
        raise CorruptDocument(
            f"{name}: page {len(pages) + 1} could not be read ({_describe(exc)}): export the PDF again."
        ) from exc
    except Exception as exc:
        raise CorruptDocument(
            f"{name}: page {len(pages) + 1} is damaged ({_describe(exc)}): export the PDF again."
        ) from exc
    return pages, heights


def _parse(
    reader: PdfReader,
    pages: list[list[_Line]],
    heights: list[float],
    doc_id: str,
    name: str,
    source_path: str,
) -> ParsedDocument:

    visible = sum(len(ln.text.strip()) for lines in pages for ln in lines)
    if visible < _MIN_TEXT_CHARS:
        raise NoTextLayer(
            f"{name} has no text layer (its pages are images, e.g. a scan): run OCR on it "
            "(e.g. `ocrmypdf in.pdf out.pdf`) and upload the result."
        )
    pages_without_text = [i for i, lines in enumerate(pages, start=1) if not lines]

    removed = _drop_running_lines(pages, heights)
    sizes: Counter[float] = Counter()
    for lines in pages:
        for ln in lines:
            sizes[ln.size] += len(ln.text)
    body_size = sizes.most_common(1)[0][0]

    body_pages: list[list[_Line]] = []
    note_pages: list[list[_Line]] = []
    for lines in pages:
        body, notes = _split_footnote_area(lines, body_size)
        body_pages.append(body)
        note_pages.append(notes)

    lexicon = _Lexicon(ln.text for lines in pages for ln in lines)
    pitch = _line_pitch(body_pages, body_size)
    drafts = _drafts(body_pages, body_size, pitch)
    _promote_question_headings(drafts)
    markers = {p for d in drafts for ln in d.lines for p in ln.parts() if isinstance(p, int)}
    footnotes, orphans = _footnotes(note_pages, markers, lexicon)
    if orphans:
        log.warning("%s: %d small-font lines before the first footnote left out", name, len(orphans))
    numbers = set(footnotes)
    assembled = [_assemble(d.lines, lexicon, d.kind == "bullet", numbers) for d in drafts]
    keep = [i for i, (text, _, _) in enumerate(assembled) if text]
    drafts = [drafts[i] for i in keep]
    assembled = [assembled[i] for i in keep]
    texts = [t for t, _, _ in assembled]

    title_index = _find_title(drafts, texts)
    _set_levels(drafts, title_index)
    title = texts[title_index] if title_index is not None else _metadata_title(reader) or doc_id
    builder = SectionBuilder()
    for i, (draft, (text, refs, positions)) in enumerate(zip(drafts, assembled, strict=True)):
        if i == title_index:
            builder.title(text, refs, positions)
        elif draft.kind == "heading":
            builder.heading(draft.level, text, refs, positions)
        else:
            builder.add(draft.kind, text, refs, positions)
    cited = {n for _, refs, _ in assembled for n in refs}
    doc = assemble(
        doc_id,
        title,
        source_path,
        "pdf",
        builder,
        {n: note.text for n, note in footnotes.items()},
        metadata={
            "pages": len(pages),
            "pages_without_text": pages_without_text,
            "running_lines_removed": removed,
            "body_font_size": body_size,
            "pdf_metadata": _metadata(reader),
            "markers_without_footnote": sorted(markers - numbers),
            "footnotes_never_cited": sorted(numbers - cited),
        },
    )
    for block, draft in zip(doc.blocks, drafts, strict=True):
        block.page_start, block.page_end = draft.lines[0].page, draft.last.page
    for number, note in doc.footnotes.items():
        note.page = footnotes[number].page
    return doc


def _metadata(reader: PdfReader) -> dict[str, str]:
    try:
        meta = reader.metadata or {}
        return {str(k).lstrip("/"): str(v) for k, v in meta.items()}
    except Exception:  # metadata is a nicety: a damaged info dictionary must not refuse the file
        return {}


def _metadata_title(reader: PdfReader) -> str:
    return _metadata(reader).get("Title", "").strip()


def read_pdf(
    source: Path | str | bytes | bytearray | memoryview, doc_id: str | None = None
) -> ParsedDocument:
    """Parse a PDF file (path) or PDF bytes into a :class:`ParsedDocument`.

    Raises an :class:`core.errors.IngestError` subclass (EmptyDocument, CorruptDocument,
    EncryptedDocument, NoTextLayer) when the file cannot be ingested as a whole.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return read_pdf_bytes(bytes(source), doc_id or "document")
    path = Path(source)
    return read_pdf_bytes(path.read_bytes(), doc_id or path.stem, source_path=str(path))
