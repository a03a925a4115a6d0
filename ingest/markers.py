"""Footnote markers while a block's text is put together, shared by the text and PDF readers.

A cited marker travels inside the text as a private-use sentinel holding its number, so no
bracket or digit of the document can be mistaken for it (a "[" inside a note, the "12" of
"COVID-1912"). When the block is done, :func:`take_markers` removes every sentinel and says
which notes were cited where.
"""

from __future__ import annotations

import re

#: A cited marker: its number between two private-use characters.
SENTINEL = "\ue000{}\ue001"
#: A marker takes the space before it, and the stray space between it and "." "," or ")"
#: ("numérique[footnoteRef:33] . La", "numérique ³³ . La" both read "numérique. La").
SENTINEL_WITH_SPACE = re.compile(r"[ \t]*\ue000(\d+)\ue001(?:[ \t]+(?=[.,)]))?")


def sentinel(number: int | str) -> str:
    return SENTINEL.format(number)


def take_markers(text: str, first_only: bool = False) -> tuple[str, list[int], list[int]]:
    """The text without its sentinels, stripped; the note numbers; and where each was cited
    in the returned text. ``first_only``: a note cited twice is listed once, at its first place."""
    parts: list[str] = []
    refs: list[int] = []
    positions: list[int] = []
    done = kept = 0
    for match in SENTINEL_WITH_SPACE.finditer(text):
        parts.append(text[done : match.start()])
        kept += match.start() - done
        done = match.end()
        number = int(match.group(1))
        if not (first_only and number in refs):
            refs.append(number)
            positions.append(kept)
    parts.append(text[done:])
    joined = "".join(parts)
    lead = len(joined) - len(joined.lstrip())
    clean = joined.strip()
    return clean, refs, [min(max(p - lead, 0), len(clean)) for p in positions]
