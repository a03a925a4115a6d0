"""Readers for web page text (copied or saved from a browser) and for plain text / Markdown.

Both see the text as paragraphs separated by blank lines. A web page adds browser and site
chrome to remove: the tab title (often truncated, "Les réseaux de coopération de l’UE pour
l’i... - Commission Européenne") before the page's own H1, and link or widget labels
("Navigation path", "Read more", "Members") on lines of their own. Section headings are
short unpunctuated one-line paragraphs (Markdown ``#`` headings for .md): best effort,
since plain text carries no markup to be sure.
"""

from __future__ import annotations

import re
from pathlib import Path

from core.errors import EmptyDocument
from ingest.models import ParsedDocument
from ingest.text_layout import BULLET, SectionBuilder, assemble, read_text_file, split_lines

#: Labels of links, buttons and widgets that a page's text keeps on lines of their own.
WEB_NOISE = frozenset(
    {
        "navigation path",
        "read more",
        "members",
        "en savoir plus",
        "lire la suite",
        "share this page",
        "partager cette page",
        "page contents",
        "contenu de la page",
        "print",
        "imprimer",
        "top",
        "haut de page",
        "back to top",
    }
)
#: "Title - Site name" (browser tab title); the site part is dropped.
_SITE_SUFFIX = re.compile(
    r"\s+[-–—|]\s+(?:Commission [Ee]urop[ée]enne|European Commission|[A-ZÀ-Ý][^-–—|\d]{1,40})$"
)
_TRUNCATED = re.compile(r"\s*(?:\.\.\.|…)$")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*$")
_SENTENCE_END = re.compile(r"[.:;!?…,]$")
_MAX_HEADING = 150


def looks_like_web_page(text: str) -> bool:
    """True for text saved from a browser: site chrome lines or a "Title - Site" tab title."""
    lines = [ln.strip() for ln in split_lines(text[:20000]) if ln.strip()]
    if not lines:
        return False
    chrome = sum(ln.casefold() in WEB_NOISE for ln in lines)
    return chrome >= 2 or bool(_SITE_SUFFIX.search(lines[0]) and _TRUNCATED.search(_strip_site(lines[0])))


def _strip_site(line: str) -> str:
    return _SITE_SUFFIX.sub("", line).strip()


def _paragraphs(lines: list[str]) -> list[list[str]]:
    """Groups of consecutive non-blank lines."""
    groups: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            groups[-1].append(line.strip())
        elif groups[-1]:
            groups.append([])
    return [g for g in groups if g]


def _blocks_of(group: list[str]) -> list[tuple[str, str]]:
    """(kind, text) of one paragraph group: each bullet line starts a block; other lines
    continue the block before them (hard-wrapped text is joined with a space)."""
    out: list[tuple[str, str]] = []
    for line in group:
        if BULLET.match(line) or not out:
            out.append(("bullet" if BULLET.match(line) else "paragraph", line))
        else:
            kind, text = out[-1]
            out[-1] = (kind, f"{text} {line}")
    return out


def _is_heading(group: list[str], next_group: list[str] | None) -> bool:
    """A one-line paragraph, short, without end punctuation, not a bullet, with text after it."""
    if len(group) != 1 or next_group is None:
        return False
    line = group[0]
    return len(line) <= _MAX_HEADING and not _SENTENCE_END.search(line) and not BULLET.match(line)


def _build(groups: list[list[str]], builder: SectionBuilder, level: int, markdown: bool) -> None:
    for i, group in enumerate(groups):
        md = _MD_HEADING.match(group[0]) if markdown and len(group) == 1 else None
        if md:
            builder.heading(max(level, len(md.group(1))), md.group(2))
        elif _is_heading(group, groups[i + 1] if i + 1 < len(groups) else None):
            builder.heading(level, group[0])
        else:
            for kind, text in _blocks_of(group):
                builder.add(kind, text)  # type: ignore[arg-type]


def read_web_page(path: Path, doc_id: str | None = None, text: str | None = None) -> ParsedDocument:
    """Parse the text of a web page: the page title opens the first section (the intro
    belongs to it), each further heading one section under it; site chrome dropped."""
    path = Path(path)
    raw = text if text is not None else read_text_file(path)
    lines = [ln for ln in split_lines(raw) if ln.strip().casefold() not in WEB_NOISE]
    groups = _paragraphs(lines)
    if not groups:
        raise EmptyDocument(f"{path.name} has no text to index once page navigation is removed.")
    tab = _strip_site(groups[0][0])
    groups = [groups[0][1:], *groups[1:]] if len(groups[0]) > 1 else groups[1:]
    prefix = _TRUNCATED.sub("", tab)
    title = tab
    # the page's H1 repeats the tab title in full: prefer it, and read on after it
    for k, group in enumerate(groups[:3]):
        if len(group) == 1 and group[0].startswith(prefix):
            title = group[0]
            groups = groups[k + 1 :]
            break
    builder = SectionBuilder()
    builder.heading(1, title)
    _build(groups, builder, level=2, markdown=False)
    if not builder:
        raise EmptyDocument(f"{path.name} has a title but no text to index.")
    return assemble(doc_id or path.stem, title, path, "web", builder)


def read_plain_text(path: Path, doc_id: str | None = None, text: str | None = None) -> ParsedDocument:
    """Parse plain text or Markdown: paragraphs separated by blank lines; the first line is
    the title when it looks like one (short, unpunctuated), else the file name stands in."""
    path = Path(path)
    raw = text if text is not None else read_text_file(path)
    markdown = path.suffix.lower() == ".md"
    groups = _paragraphs(split_lines(raw))
    if not groups:
        raise EmptyDocument(f"{path.name} has no text to index.")
    builder = SectionBuilder()
    first = groups[0]
    md = _MD_HEADING.match(first[0]) if markdown else None
    if len(first) == 1 and (md or (len(first[0]) <= _MAX_HEADING and not _SENTENCE_END.search(first[0]))):
        title = md.group(2) if md else first[0]
        groups = groups[1:]
    else:
        title = path.stem.replace("-", " ").replace("_", " ")
    builder.heading(1, title)
    _build(groups, builder, level=2, markdown=markdown)
    if not builder:
        raise EmptyDocument(f"{path.name} has a title but no text to index.")
    return assemble(doc_id or path.stem, title, path, "text", builder)
