"""``GET /funds`` and ``GET /funds/{fund}``: the EU fund registry and where funds are named."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import READS, AppSettings, Service, paths_context
from api.errors import ERRORS
from api.schemas import ErrorResponse, FundDetail, FundList

router = APIRouter(tags=["funds"], dependencies=READS)


@router.get("/funds", response_model=FundList, responses=ERRORS)
def funds(svc: Service) -> FundList:
    """The EU funds the registry knows, each with how many passages and footnotes mention it."""
    return FundList.model_validate({"funds": svc.funds()})


@router.get(
    "/funds/{fund}",
    response_model=FundDetail,
    responses={**ERRORS, 404: {"model": ErrorResponse, "description": "No such fund."}},
)
def fund(fund: str, svc: Service, settings: AppSettings) -> FundDetail:
    """A fund by id or any of its names (`FSE+`, `ESF+`, `fonds social européen plus`...)."""
    return FundDetail.model_validate(svc.fund(fund), context=paths_context(settings))
