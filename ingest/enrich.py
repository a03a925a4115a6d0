"""What a passage points to: URLs, legal references, language.

Legal references are what civil servants cite and search by exact name (COM(2020) 758 final,
Directive 2004/38/CE...), so they are extracted as written, with spacing normalised.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_URL = re.compile(r"(?:https?://|www\.)[^\s<>«»\"\]\[]+", re.IGNORECASE)
_URL_TRAIL = ".,;:!?)’'"

_NUM = r"(?:n[°o]\s?)?\d{1,4}/\d{1,4}(?:/(?:CE|CEE|UE|EU|EC|EEC|JAI))?"
_LEGAL = re.compile(
    r"""
    \b(?:COM|C|SWD|SEC|JOIN)\s?\(\d{4}\)\s?\d+(?:\s?final)?(?:/\d)?        # COM(2020) 758 final
    | \b(?:[Dd]irective|[Rr]èglement|[Dd]écision|[Rr]ecommandation|[Rr]egulation|[Dd]ecision)
      (?:\s(?:d['’]exécution|délégué(?:e)?|du\sConseil|de\sla\sCommission|du\sParlement\seuropéen\set\sdu\sConseil))*
      \s(?:\((?:UE|CE|EU|EC|Euratom)\)\s)?"""
    + _NUM
    + r"""                  # Directive 2004/38/CE
    | \b\d{4}/\d{4}\s?\((?:COD|NLE|CNS)\)                                  # 2018/0207 (COD)
    """,
    re.VERBOSE,
)


def find_urls(text: str) -> list[str]:
    """URLs in order of appearance, without trailing punctuation."""
    out: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAIL)
        if url.count("(") < url.count(")"):
            url = url.rstrip(")")
        if url not in out:
            out.append(url)
    return out


def find_legal_refs(text: str) -> list[str]:
    out: list[str] = []
    for match in _LEGAL.finditer(text):
        ref = " ".join(match.group(0).replace("\xa0", " ").split())
        if ref not in out:
            out.append(ref)
    return out


_LANGS = ("FRENCH", "ENGLISH", "GERMAN", "SPANISH", "ITALIAN", "POLISH", "PORTUGUESE", "DUTCH",
          "ROMANIAN", "SWEDISH", "DANISH", "FINNISH", "GREEK", "CZECH", "HUNGARIAN", "BULGARIAN",
          "CROATIAN", "SLOVAK", "SLOVENE", "LITHUANIAN", "LATVIAN", "ESTONIAN", "IRISH")  # fmt: skip


@lru_cache(maxsize=1)
def _detector() -> Any:
    from lingua import Language, LanguageDetectorBuilder

    return LanguageDetectorBuilder.from_languages(*(getattr(Language, n) for n in _LANGS)).build()


def detect_language(text: str, fallback: str = "fr") -> str:
    """ISO 639-1 code of the text's language; ``fallback`` when too short to tell."""
    letters = sum(ch.isalpha() for ch in text)
    if letters < 3:
        return fallback
    values = _detector().compute_language_confidence_values(text)
    # short questions are ambiguous ("Quel est le montant ?" leans Italian at 0.21): below a
    # clear majority keep the fallback, the corpus language, which is right far more often
    if not values or values[0].value < 0.35:
        return fallback
    return values[0].language.iso_code_639_1.name.lower()
