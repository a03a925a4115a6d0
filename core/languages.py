"""Language tables: the one place that says which languages the product knows and how.

The texts are French; questions come in any official EU language. Each stage reads what it
needs from :data:`LANGUAGES`: the language detector (lingua's names), the sparse analyser
(stop-word lists of the ``stop-words`` package), the optional generator (English names in
its prompt). French elision is written once, :data:`ELISION`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

#: The language the documents are written in, and the default when a text's language cannot
#: be told (a short question, a title): right far more often than any guess.
CORPUS_LANGUAGE = "fr"


@dataclass(frozen=True)
class Language:
    code: str  # ISO 639-1
    name: str  # English name, as the generator's prompt says it
    lingua: str  # lingua.Language member
    stopwords: str | None = None  # stop-words package list, where there is one


#: Official EU languages lingua knows (all but Maltese).
LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("bg", "Bulgarian", "BULGARIAN", "bulgarian"),
        Language("hr", "Croatian", "CROATIAN"),
        Language("cs", "Czech", "CZECH", "czech"),
        Language("da", "Danish", "DANISH", "danish"),
        Language("nl", "Dutch", "DUTCH", "dutch"),
        Language("en", "English", "ENGLISH", "english"),
        Language("et", "Estonian", "ESTONIAN"),
        Language("fi", "Finnish", "FINNISH", "finnish"),
        Language("fr", "French", "FRENCH", "french"),
        Language("de", "German", "GERMAN", "german"),
        Language("el", "Greek", "GREEK"),
        Language("hu", "Hungarian", "HUNGARIAN", "hungarian"),
        Language("ga", "Irish", "IRISH"),
        Language("it", "Italian", "ITALIAN", "italian"),
        Language("lv", "Latvian", "LATVIAN"),
        Language("lt", "Lithuanian", "LITHUANIAN"),
        Language("pl", "Polish", "POLISH", "polish"),
        Language("pt", "Portuguese", "PORTUGUESE", "portuguese"),
        Language("ro", "Romanian", "ROMANIAN", "romanian"),
        Language("sk", "Slovak", "SLOVAK", "slovak"),
        Language("sl", "Slovenian", "SLOVENE"),
        Language("es", "Spanish", "SPANISH", "spanish"),
        Language("sv", "Swedish", "SWEDISH", "swedish"),
    )
}

#: French elided articles and pronouns: "l’intégration", "qu’il", "jusqu’en".
ELISION = r"(?:l|d|j|m|n|s|t|c|qu|jusqu|lorsqu|puisqu|quoiqu|presqu)['’]"

#: Detection: below this many letters, or this confidence, the fallback language is kept.
MIN_LETTERS = 3
MIN_CONFIDENCE = 0.35
SAMPLE_CHARS = 3000


@lru_cache(maxsize=1)
def _detector() -> Any:
    """Built on first use only: loading the language models takes seconds and ~575 MB.

    High-accuracy mode on purpose: the low-accuracy one (34 MB, 0.3 s) misread more short
    texts, and questions are short (README, Benchmarks: ``service_memory.py``)."""
    from lingua import Language as LinguaLanguage
    from lingua import LanguageDetectorBuilder

    languages = (getattr(LinguaLanguage, lang.lingua) for lang in LANGUAGES.values())
    return LanguageDetectorBuilder.from_languages(*languages).build()


def warm_up_detector() -> None:
    """Load lingua's models now (2.7 s that the first question would otherwise pay)."""
    detect_language("Chargement des modèles de langue.")


def detect_language(text: str, fallback: str = CORPUS_LANGUAGE) -> str:
    """ISO 639-1 code of the text's language; ``fallback`` when too short or unclear to tell.

    Never "und": a text that cannot be told keeps the fallback (the collection's language),
    so the French analyser and its stop words stay on for it.
    """
    sample = text[:SAMPLE_CHARS]
    if sum(ch.isalpha() for ch in sample) < MIN_LETTERS:
        return fallback
    values = _detector().compute_language_confidence_values(sample)
    # short questions are ambiguous ("Quel est le montant ?" leans Italian at 0.21): below a
    # clear lead keep the fallback, the corpus language, which is right far more often
    if not values or values[0].value < MIN_CONFIDENCE:
        return fallback
    return str(values[0].language.iso_code_639_1.name.lower())


def language_name(code: str | None, default: str = "the language of the question") -> str:
    lang = LANGUAGES.get((code or "")[:2].lower())
    return lang.name if lang else default


ELISION_RE = re.compile(rf"\b{ELISION}", re.IGNORECASE)
