"""Which heading a document deals with something under: "Sous quelle rubrique le plan aborde-t-il
les échanges avec la population locale ?", "Which section deals with EU funding?".

The answer is a heading, and headings are not body passages: what the question describes is
in the body, under that heading. So the section is found through the body passages retrieved
for the question (each votes for the heading it sits under), and the heading is then cited
from the document's outline passage (ingest's ``kind="outline"``: a chapter's headings, in
order), which holds it as written. One passage alone votes wrongly when another section
mentions the same thing in passing; the first few together rarely do.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace

from index.types import Hit
from ingest.models import Passage


@dataclass(frozen=True)
class Location:
    """The heading found, and the outline passage that lists it (first in the hits)."""

    heading: str
    outline: Passage


def outline_headings(outline: Passage) -> list[str]:
    """The headings an outline passage lists (its first line names the outline itself)."""
    return [line.strip() for line in outline.text.split("\n")[1:] if line.strip()]


class SectionLocator:
    """Finds the heading the first ``window`` body hits sit under, and puts its outline first.

    ``outlines``: a document's outline passages, by doc_id (the store, filtered on
    ``meta.doc_id`` and ``meta.kind``: both keyword-indexed). Only headings some outline lists
    can win: the sub-headings repeated in every section ("Qu’entend faire la Commission…"),
    which ingest leaves out of outlines, say nothing about where something is.
    """

    def __init__(self, outlines: Callable[[str], list[Passage]], window: int = 5) -> None:
        self.outlines = outlines
        self.window = window

    def locate(self, hits: list[Hit]) -> Location | None:
        """The heading most of the first ``window`` body hits sit under (the deepest one an
        outline lists; a tie goes to the heading of the better-ranked hit), or None."""
        listed: dict[str, dict[str, Passage]] = {}  # doc_id -> heading -> outline listing it
        votes: Counter[tuple[str, str]] = Counter()
        for hit in [h for h in hits if h.passage.kind != "outline"][: self.window]:
            doc_id = hit.passage.doc_id
            if doc_id not in listed:
                listed[doc_id] = {
                    heading: outline
                    for outline in self.outlines(doc_id)
                    for heading in outline_headings(outline)
                }
            heading = next(
                (s.strip() for s in reversed(hit.passage.section_path) if s.strip() in listed[doc_id]), None
            )
            if heading is not None:
                votes[(doc_id, heading)] += 1  # Counter keeps first-seen order: ties go to the better rank
        if not votes:
            return None
        (doc_id, heading), _ = votes.most_common(1)[0]
        return Location(heading, listed[doc_id][heading])

    def arrange(self, hits: list[Hit]) -> tuple[list[Hit], Location | None]:
        """The hits with the outline listing the heading first (moved up when it was retrieved,
        else added with score 0 and a rank below every retrieved one), and the location."""
        location = self.locate(hits)
        if location is None:
            return hits, None
        found = next((h for h in hits if h.passage.id == location.outline.id), None)
        if found is None:
            found = Hit(passage=location.outline, score=0.0, rank=max((h.rank for h in hits), default=0) + 1)
        return [found, *(h for h in hits if h is not found)], replace(location, outline=found.passage)
