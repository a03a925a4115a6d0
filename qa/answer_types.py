"""What kind of fact a question asks for, and whether a sentence gives one.

Near-miss questions ("how many cities joined?", "what was the budget of the 2016 plan?",
"when will the child guarantee be adopted?") are about things the texts do talk about, so
their best sentences are similar to the question and the similarity signals accept them; what
those sentences lack is the fact asked for: a figure, a date. Checking for it is cheap and
language-independent on the answer side (the corpus is French, the figures are digits), and
only the question side needs a word list per language.
"""

from __future__ import annotations

import re
from typing import Literal

from ingest.funds import fold

AnswerType = Literal["quantity", "date"]

#: Question words and phrases asking for a figure, on the folded question (lower case, no
#: accents), in the languages users ask in: fr, en, de, it, es, pt, nl, pl.
_QUANTITY_RE = re.compile(
    r"(?<!\w)(?:"
    r"combien|quel(?:le)?s? (?:est|etait|sont|etaient) (?:le|la|les) (?:taux|montant|budget|nombre|pourcentage|part|proportion|somme)"
    r"|quel(?:le)? (?:somme|part|proportion|pourcentage|montant)|quel budget|a combien"
    r"|how (?:many|much)|what (?:share|percentage|proportion|number|amount|rate|budget)"
    r"|wie (?:viele?|hoch|gross)|welche[rs]? (?:anteil|betrag|summe)"
    r"|quant[ioae]|qual(?:e)? (?:e|era|sono) (?:il|la) (?:tasso|percentuale|numero|importo|bilancio)"
    r"|cuant[oa]s?|cual (?:es|era|fue) (?:el|la) (?:tasa|porcentaje|numero|importe|presupuesto)"
    r"|qual (?:e|foi|era) (?:o|a) (?:taxa|percentagem|numero|montante|orcamento)"
    r"|hoeveel|hoe (?:groot|hoog)|ile|jaka jest (?:wysokosc|liczba|kwota|stopa)|jaki jest (?:budzet|odsetek)"
    r")(?!\w)"
)
#: Question words asking for a date.
_DATE_RE = re.compile(
    r"(?<!\w)(?:"
    r"quand|a quelle date|en quelle annee|d'ici quand|when|by when|in (?:what|which) year|what date"
    r"|wann|bis wann|in welchem jahr|quando|entro quando|in che anno|cuando|en que ano|em que ano"
    r"|wanneer|in welk jaar|kiedy|w ktorym roku|do kiedy"
    r")(?!\w)"
)

_MONTHS = r"janvier|fevrier|mars|avril|mai|juin|juillet|aout|septembre|octobre|novembre|decembre"
#: A figure in a French sentence (folded): an amount or a share, or digits that are not a year,
#: a period (2021-2027), an age range (18-24), a day of a month, a paragraph number, part of a
#: name (UE-28, COVID-19) or of a document reference ([SWD(2020) 290], C(2020) 6467 final); or
#: a number word ("pays tiers" is not a fraction, "deux tiers" is).
_FIGURE_RE = re.compile(
    r"(?<![\w\-/.])\d+(?:[ .]\d{3})*(?:,\d+)?\s*(?:%|pour\s?cent|millions?|milliards?|euros?|eur|€)"
    r"|(?<![\w\-/.(])(?<!\)\s)(?!(?:19|20)\d\d(?!\d))\d+(?:\s\d{3})*(?:,\d+)?"
    rf"(?![\w\-/)\]]|\.\d|\s?-|\s(?:final|(?:et\s\d+\s)?(?:{_MONTHS}|er\b)))"
    r"|(?<!\w)(?:deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|quarante"
    r"|cinquante|soixante|cent|mille|moitie|(?:un|deux) tiers|quart|douzaine|centaine|millier)s?(?!\w)"
)
#: A date in a French sentence: a year, a month, or a named period of one.
_DATE_FACT_RE = re.compile(
    r"(?<!\d)(?:19|20)\d\d(?!\d)"
    rf"|(?<!\w)(?:{_MONTHS})(?!\w)"
)


def asked_type(question: str) -> AnswerType | None:
    """The kind of fact the question asks for, when it is one a sentence can be checked for."""
    folded = fold(question)
    if _DATE_RE.search(folded):
        return "date"
    if _QUANTITY_RE.search(folded):
        return "quantity"
    return None


def gives(answer_type: AnswerType, sentence: str) -> bool:
    """Whether a sentence states a fact of that kind."""
    if answer_type == "date":
        return bool(_DATE_FACT_RE.search(fold(sentence)))
    return bool(_FIGURE_RE.search(fold(sentence)))
