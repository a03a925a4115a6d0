"""What makes a question searchable, defined once for the service, the HTTP schema and the CLI."""

from __future__ import annotations

import re

from core.errors import InvalidQuestion, QuestionTooLong

#: Longest question accepted, in characters as sent. Policy questions are a sentence or two;
#: a pasted document is not a question (and would cost a whole encoder pass per request).
MAX_QUESTION_CHARS = 2000

#: Characters that are not words: controls, spaces, punctuation, symbols (ASCII, Latin-1,
#: general punctuation, currency, arrows and shapes, CJK and full-width punctuation).
_NOT_WORDS = (
    r"[\x00-\x2F\x3A-\x40\x5B-\x60\x7B-\xBF\xD7\xF7\u1680\u2000-\u206F\u20A0-\u20CF"
    r"\u2190-\u2BFF\u3000-\u303F\uFE10-\uFE6F\uFEFF\uFF00-\uFF0F]"
)
#: A question has at least one other character: a letter or digit of any script. Written
#: with explicit ranges, because ``\w`` is ASCII-only in the ECMA regexes of JSON Schema
#: tools and Unicode in Python: one pattern, read the same by clients, fuzzers and the API.
QUESTION_PATTERN = rf"^(?!{_NOT_WORDS}*$)"
_QUESTION_RE = re.compile(QUESTION_PATTERN)


def clean_question(text: str) -> str:
    """The question without surrounding blanks, or :class:`InvalidQuestion` saying what to fix.

    The length is checked on the text as sent, before stripping: stripping first let 2,000
    characters followed by blank lines through (schemathesis found it)."""
    if len(text) > MAX_QUESTION_CHARS:
        raise QuestionTooLong(
            f"The question has {len(text)} characters; the limit is {MAX_QUESTION_CHARS}. "
            "Shorten it to the essential."
        )
    text = text.strip()
    if not text:
        raise InvalidQuestion("The question is empty: write a question in words.")
    if not _QUESTION_RE.match(text):
        raise InvalidQuestion("The question has no letters or digits: write a question in words.")
    return text
