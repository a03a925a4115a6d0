"""What a passage points to: URLs and legal references (its language: core/languages.py).

Legal references are what civil servants cite and search by exact name (COM(2020) 758 final,
Directive 2004/38/CE, règlement (UE) n° 1303/2013...), so they are extracted as written,
in one canonical spacing, so that "COM (2020) 565 final" and "COM(2020)\u00a0565 final" are
one reference.
"""

from __future__ import annotations

import re

_URL = re.compile(r"(?:https?://|www\.)[^\s<>«»\"\[\]{}|\\^`]+", re.IGNORECASE)
_URL_TRAIL = ".,;:!?’'"

_SUFFIXES = r"CEE|CE|UE|EEC|EC|EU|JAI|PESC|CFSP|Euratom"
_ACT = rf"""
    (?P<kind>[Dd]irectives?|[Rr]èglements?|[Dd]écisions?|[Rr]ecommandations?
       |[Rr]egulations?|[Dd]ecisions?|[Rr]ecommendations?)
    (?P<qual>(?:\s(?:d['’]exécution|d['’]application|délégu[ée]e?s?|du\sConseil|de\sla\sCommission
       |du\sParlement\seuropéen\set\sdu\sConseil|[Ii]mplementing|[Dd]elegated))*)
    (?:\s\((?P<instr>UE|CE|CEE|EU|EC|EEC|Euratom|PESC|CFSP)\))?
    (?:\s(?P<no>n\s?[°º]|No\.?|no\.?))?
    \s?(?P<num>\d{{1,4}}/\d{{1,4}}(?:/(?:{_SUFFIXES}))?)(?![\w/])
"""
_COM = r"""
    \b(?P<ck>COM|SWD|SEC|JOIN|C)\s?\(\s?(?P<cy>\d{4})\s?\)\s?(?P<cn>\d{1,5})
    (?P<cf>\s?final)?(?P<cs>/\d{1,2})?(?![\w/])
"""
_PROCEDURE = r"\b(?P<py>\d{4})/(?P<pn>\d{4})\s?\((?P<pt>COD|NLE|CNS|APP|INI)\)"
_OJ_C = r"\b(?P<oy>\d{4})/C\s?(?P<on>\d{1,4})/(?P<oi>\d{2})\b"  # Council recommendations: (2020/C 417/01)
_BARE = rf"(?<![\w/])(?P<bare>\d{{2,4}}/\d{{1,4}}/(?:{_SUFFIXES}))(?![\w/])"
_LEGAL = re.compile(
    rf"\b{_ACT.strip()}|{_COM.strip()}|{_PROCEDURE}|{_OJ_C}|{_BARE}",
    re.VERBOSE,
)
_ENUMERATION_GAP = re.compile(r"\s*(?:,|\bet\b|\band\b|\bou\b|\bor\b)\s*(?:\bet\b\s*)?")


def find_urls(text: str) -> list[str]:
    """URLs in order of first appearance, without the punctuation that ends a sentence."""
    out: list[str] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAIL)
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1].rstrip(_URL_TRAIL)
        if url not in out:
            out.append(url)
    return out


def _singular(kind: str) -> str:
    return kind[:-1] if kind.endswith("s") else kind


def _canonical(m: re.Match[str], enumerated_kind: str | None) -> tuple[str, str | None]:
    """(reference in canonical spacing, act kind an enumeration may carry on)."""
    if m.group("kind"):
        kind = _singular(m.group("kind"))
        parts = [kind, *m.group("qual").split()]
        if m.group("instr"):
            parts.append(f"({m.group('instr')})")
        if m.group("no"):
            no = m.group("no").replace(" ", "")
            parts.append("No" if no.startswith("No") else "n°")
        parts.append(m.group("num"))
        return " ".join(parts), kind
    if m.group("ck"):
        ref = f"{m.group('ck')}({m.group('cy')}) {m.group('cn')}"
        return ref + (" final" if m.group("cf") else "") + (m.group("cs") or ""), None
    if m.group("py"):
        return f"{m.group('py')}/{m.group('pn')} ({m.group('pt')})", None
    if m.group("oy"):
        return f"{m.group('oy')}/C {m.group('on')}/{m.group('oi')}", None
    # a bare number: "les directives 64/221/CEE, 68/360/CEE et 72/194/CEE" -> each a directive
    bare = m.group("bare")
    return (f"{enumerated_kind} {bare}" if enumerated_kind else bare), enumerated_kind


def find_legal_refs(text: str) -> list[str]:
    """Numbered legal acts and Commission documents, in order, each once (case-insensitively)."""
    out: dict[str, str] = {}
    kind: str | None = None
    previous_end = -1
    for match in _LEGAL.finditer(text):
        carried = kind if _ENUMERATION_GAP.fullmatch(text[previous_end : match.start()]) else None
        ref, kind = _canonical(match, carried)
        out.setdefault(ref.casefold(), ref)
        previous_end = match.end()
    return list(out.values())
