"""The registry of EU funding instruments, so that "FSE+", "ESF+" and "European Social Fund
Plus" find the same passages.

Names are matched on a folded form (case, accents, quotes « » “ ” and apostrophes ’ ignored);
acronyms are matched case-sensitively as whole tokens, so "FSE+" never counts as "FSE" and
"ces" (a French word) never as an acronym.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

_QUOTES = re.compile(r"[«»“”„\"]")


@lru_cache(maxsize=16_384)
def fold(text: str) -> str:
    """Lowercase, strip accents and quotes, unify apostrophes and spaces.

    Cached: a question is folded by each of its readers (funding, source, outline, asked-for
    type), ~6 times a request."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = _QUOTES.sub(" ", text.replace("\u2019", "'"))
    return " ".join(text.split())


@dataclass
class Fund:
    id: str
    name_fr: str
    name_en: str
    acronyms: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [self.name_fr, self.name_en, *self.aliases]

    @property
    def all_names(self) -> list[str]:
        return list(dict.fromkeys([*self.names, *self.acronyms]))


def _acronym_pattern(acronym: str) -> str:
    # "FSE+" also matches "FSE +"; "FSE" never matches the start of "FSE+" or "FSE +"
    body = re.escape(acronym).replace(r"\ ", r"\s?").replace(r"\+", r"\s?\+")
    tail = "" if acronym.endswith("+") else r"(?!\s?\+)"
    return rf"(?<![\w+]){body}(?![\w]){tail}"


class FundRegistry:
    def __init__(self, funds: list[Fund]) -> None:
        self.funds = funds
        self.by_id = {f.id: f for f in funds}
        # longest names first so "Fonds social européen plus" wins over "Fonds social européen"
        names = sorted(((fold(n), f.id) for f in funds for n in f.names), key=lambda x: -len(x[0]))
        self._name_re = re.compile(
            "|".join(rf"(?<!\w)(?P<n{i}>{re.escape(n)})(?!\w)(?!\s?\+)" for i, (n, _) in enumerate(names))
        )
        self._name_ids = [fid for _, fid in names]
        acronyms = sorted(((a, f.id) for f in funds for a in f.acronyms), key=lambda x: -len(x[0]))
        self._acr_re = re.compile(
            "|".join(f"(?P<a{i}>{_acronym_pattern(a)})" for i, (a, _) in enumerate(acronyms))
        )
        self._acr_ids = [fid for _, fid in acronyms]
        self._lookup = {fold(n): f.id for f in funds for n in [*f.all_names, f.id]}
        # the same question is searched twice per request (funding? expansion?) and the same
        # answer sentences come back question after question; the two alternations over every
        # name were ~1 ms of a request's interpreter time
        self._find_cached = lru_cache(maxsize=16_384)(self._find)

    @classmethod
    def load(cls) -> FundRegistry:
        return _default_registry()

    def find(self, text: str) -> list[str]:
        """Canonical ids of the funds a text mentions, in order of first mention."""
        return list(self._find_cached(text))

    def _find(self, text: str) -> tuple[str, ...]:
        found: dict[str, int] = {}
        for m in self._acr_re.finditer(unicodedata.normalize("NFKC", text)):
            fid = self._acr_ids[int(m.lastgroup[1:])]  # type: ignore[index]
            found.setdefault(fid, m.start())
        folded = fold(text)
        for m in self._name_re.finditer(folded):
            fid = self._name_ids[int(m.lastgroup[1:])]  # type: ignore[index]
            found.setdefault(fid, m.start())
        return tuple(sorted(found, key=found.__getitem__))

    def resolve(self, name: str) -> str | None:
        """Fund id for an id, a name or an acronym in any case ("fse+", "ESF+", "European Social Fund Plus")."""
        key = fold(name)
        if key in self._lookup:
            return self._lookup[key]
        ids = self.find(name)
        return ids[0] if len(ids) == 1 else None

    def expand_query(self, query: str) -> list[str]:
        """Every name of every fund the query mentions: lexical matching across languages."""
        return [n for fid in self.find(query) for n in self.by_id[fid].all_names]


@lru_cache(maxsize=1)
def _default_registry() -> FundRegistry:
    data = json.loads(resources.files("ingest").joinpath("data/funds.json").read_text(encoding="utf-8"))
    funds = []
    for item in data["funds"]:
        known = {k: item.pop(k) for k in ("id", "name_fr", "name_en", "acronyms", "aliases") if k in item}
        funds.append(Fund(**known, extra=item))
    return FundRegistry(funds)


def find_funds(text: str) -> list[str]:
    return _default_registry().find(text)


def resolve(name: str) -> str | None:
    return _default_registry().resolve(name)


def expand_query(query: str) -> list[str]:
    return _default_registry().expand_query(query)
