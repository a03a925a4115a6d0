"""The funds registry: one id per instrument, whatever the language, spelling or acronym."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from ingest.funds import FundRegistry, expand_query, find_funds, resolve
from ingest.web_reader import read_web_page
from tests.conftest import CORPUS

PLAN = CORPUS / "plan-action-integration-inclusion-2021-2027.txt"
WEB = CORPUS / "reseaux-cooperation-ue-integration-migrants.txt"


def test_registry_file_is_well_formed():
    data = json.loads(resources.files("ingest").joinpath("data/funds.json").read_text(encoding="utf-8"))
    ids = [f["id"] for f in data["funds"]]
    assert len(ids) == len(set(ids))
    required = {"amif", "amf", "esf_plus", "esf", "erdf", "eafrd", "erasmus_plus", "easi", "horizon_2020",
                "horizon_europe", "investeu", "react_eu", "rrf", "tsi", "srsp", "cerv", "cosme", "uia", "fead"}  # fmt: skip
    assert required <= set(ids)
    assert all(f["name_fr"] and f["name_en"] for f in data["funds"])
    assert FundRegistry.load() is FundRegistry.load()  # built once


@pytest.mark.parametrize(
    "name",
    [
        "FSE+",
        "ESF+",
        "fse+",
        "FSE +",
        "European Social Fund Plus",
        "Fonds social européen plus",
        "fonds social europeen plus",
        "esf_plus",
    ],
)
def test_fse_plus_names_resolve_to_one_id(name: str):
    assert resolve(name) == "esf_plus"


@pytest.mark.parametrize(
    ("name", "fund"),
    [
        ("FAMI", "amif"),
        ("AMIF", "amif"),
        ("Fonds «Asile, migration et intégration»", "amif"),
        ("Asylum, Migration and Integration Fund", "amif"),
        ("FAM", "amf"),
        ("Fonds « Asile et migration »", "amf"),
        ("FSE", "esf"),
        ("ERDF", "erdf"),
        ("Fonds européen de développement régional", "erdf"),
        ("Erasmus +", "erasmus_plus"),
        ("Instrument d'appui technique", "tsi"),
        ("programme «Droits et valeurs»", "cerv"),
        ("Recovery and Resilience Facility", "rrf"),
        ("nothing at all", None),
    ],
)
def test_resolve(name: str, fund: str | None):
    assert resolve(name) == fund


def test_matching_is_careful():
    assert find_funds("le FSE+ et le FSE") == ["esf_plus", "esf"]
    assert find_funds("le FSE +") == ["esf_plus"]
    assert find_funds("ces fonds, une FAMILLE, le fam, fse") == []  # short acronyms: exact case, whole tokens
    assert find_funds("le Fonds «Asile et migration» (FAM)") == ["amf"]
    assert find_funds("Fonds «Asile, migration et intégration»[44]") == ["amif"]
    assert find_funds("le FAMI et le FAM") == ["amif", "amf"]
    assert find_funds("la facilité pour la reprise et la résilience") == ["rrf"]
    assert find_funds("EaSi, COSME, Horizon 2020") == ["easi", "cosme", "horizon_2020"]


def test_funds_named_in_the_corpus():
    text = PLAN.read_text(encoding="utf-8")
    found = set(find_funds(text))
    assert {"amif", "amf", "esf_plus", "erdf", "eafrd", "erasmus_plus", "easi", "horizon_2020", "investeu", "rrf",
            "tsi", "srsp", "cerv", "cosme", "uia"} <= found  # fmt: skip
    web = read_web_page(WEB)
    assert "amif" in find_funds(web.clean_text)  # "Fonds Asile, migration et intégration", unquoted


def test_expand_query_gives_every_name_across_languages():
    names = expand_query("What does the ESF+ fund for migrants?")
    assert {"FSE+", "ESF+", "Fonds social européen plus", "European Social Fund Plus"} <= set(names)
    assert "FSE" not in names
    assert expand_query("Quelle est la date limite ?") == []
    both = expand_query("AMIF or AMF?")
    assert {"FAMI", "FAM"} <= set(both)
