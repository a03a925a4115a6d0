"""Which funds an answer's passages name, for questions about funding.

An NGO asking "which funds support the integration of migrants?" wants the list of funds,
and the extractive answer is one or three sentences: the funds are spread over several
passages (FAM and FSE+ in one, Erasmus+ and InvestEU in another). The passages already carry
the fund ids the registry found in them at ingest, so the list costs nothing to build; it is
returned only when the question is about funding, where it is the answer's point, and not
for every question whose passages happen to name a fund.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ingest.funds import FundRegistry, find_funds, fold
from qa.results import CitedPassage, FundMention

#: Words that make a question one about funding, in the EU languages users ask in, on the
#: folded text (lower case, no accents): "financement", "financing", "finanziert",
#: "finansowanie", "Förderung" ("forderung" folded). Written as whole-word stems, so that
#: "fondamental" and "fundamental rights" are not funding questions.
_FUNDING_RE = re.compile(
    r"(?<!\w)(?:"
    r"fonds|fondi|fondo|fondos|fundos?|funds?|funding|fundusz\w*"  # the funds themselves
    r"|financ\w*|finanz\w*|finans\w*|subvention\w*|subvenc\w*|subsid\w*|grants?|dotac\w*"
    r"|forder(?:ung|mittel|programm)\w*|program\w*"
    r")(?!\w)"
)


def asks_about_funding(question: str) -> bool:
    """A question that asks about funds or programmes, or names one."""
    return bool(_FUNDING_RE.search(fold(question))) or bool(find_funds(question))


def fund_mentions(
    passages: Sequence[CitedPassage], registry: FundRegistry | None = None
) -> list[FundMention]:
    """Every fund the passages name, with their markers: most passages first, then first cited."""
    registry = registry or FundRegistry.load()
    markers: dict[str, list[int]] = {}
    for passage in passages:
        for fund_id in passage.funds:
            if fund_id in registry.by_id and passage.marker not in markers.setdefault(fund_id, []):
                markers[fund_id].append(passage.marker)
    ranked = sorted(markers.items(), key=lambda item: (-len(item[1]), min(item[1])))
    mentions = []
    for fund_id, cited in ranked:
        fund = registry.by_id[fund_id]
        label = fund.acronyms[0] if fund.acronyms else fund.name_fr
        mentions.append(FundMention(fund=label, id=fund_id, name=fund.name_fr, markers=sorted(cited)))
    return mentions
