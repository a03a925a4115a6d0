"""Sentence splitting: what the answer step quotes, so a cut must fall between sentences."""

from __future__ import annotations

import pytest

from ingest.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "EMN ad hoc query on monitoring integration (Dec. 2018), (Question REM ad hoc sur le suivi).",
            1,
        ),  # a month before a year: the plan's footnote 69 was cut after "(Dec."
        ("La réunion s’est tenue le 3 déc. 2020 à Bruxelles avec les États membres.", 1),
        ("Voir l’art. 3 du règlement sur le fonds. Le fonds soutient l’intégration des migrants.", 2),
        ("Le FSE+ soutient l’emploi des migrants; le FEDER finance les infrastructures sociales.", 1),
        ("Le FSE+ soutient l’emploi des migrants ; Le FEDER finance les infrastructures sociales.", 2),
    ],
)
def test_sentences_end_at_sentence_boundaries_only(text: str, expected: int) -> None:
    sentences = split_sentences(text)
    assert len(sentences) == expected, [s.text for s in sentences]
    for sentence in sentences:
        assert text[sentence.start : sentence.end] == sentence.text  # offsets into the text
