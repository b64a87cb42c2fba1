"""/api/: the command line's --json objects for analysts' scripts, one path per command with the same option names,
authorised by a personal token (`Authorization: Bearer TOKEN`, from `assess user token NAME`) and the desk's role
and city checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from assess.access import payloads
from assess.run.names import years
from assess.web.context import ApiDesk

router = APIRouter(prefix="/api")

Year = Annotated[str, Query(description="年度，或年度范围如 2020-2024")]


def _answer(payload: object) -> JSONResponse:
    return JSONResponse(payloads.plain(payload))


def _by_year(asked: list[int], said: list[object], key: str | None = None) -> JSONResponse:
    """One year's object as it is; a range as a list of objects, each with its year (as the command line prints)."""
    if len(asked) == 1:
        return _answer(said[0])
    if key is None:
        return _answer(said)
    return _answer([{"year": y, key: s} for y, s in zip(asked, said, strict=True)])


@router.get("/stats")
def stats(desk: ApiDesk, year: Year) -> JSONResponse:
    asked = years(year)
    return _by_year(asked, [desk.stats(y) for y in asked])


@router.get("/lists")
def lists(
    desk: ApiDesk,
    year: Year,
    list_id: Annotated[str | None, Query(alias="list")] = None,
    city: str | None = None,
    chain: str | None = None,
    status: Annotated[list[str] | None, Query()] = None,
) -> JSONResponse:
    asked = years(year)
    found = [
        payloads.lists(
            desk.lists(y, list_id=list_id, city=city, chain=chain, statuses=tuple(status or ("selected",))).lists
        )
        for y in asked
    ]
    if len(asked) == 1:
        return _answer(found[0])
    return _answer([{"year": y, **s} for y, s in zip(asked, found, strict=True)])


@router.get("/flags")
def flags(
    desk: ApiDesk, year: Year, rule: str | None = None, city: str | None = None, chain: str | None = None
) -> JSONResponse:
    asked = years(year)
    return _by_year(asked, [payloads.flags(desk.flags(y, rule=rule, city=city, chain=chain)) for y in asked], "flags")


@router.get("/explain/{credit_code}")
def explain(desk: ApiDesk, credit_code: str, year: int) -> JSONResponse:
    return _answer(desk.explain(credit_code, year))


@router.get("/uploads")
def uploads(desk: ApiDesk) -> JSONResponse:
    return _answer(payloads.records(desk.uploads()))


@router.get("/problems/{upload_id}")
def problems(desk: ApiDesk, upload_id: int) -> JSONResponse:
    return _answer(payloads.problems(desk.problems(upload_id)))


@router.get("/filings")
def filings(desk: ApiDesk, year: int | None = None, city: str | None = None) -> JSONResponse:
    return _answer(payloads.records(desk.filings(year, city)))


@router.get("/rubric")
def rubric(desk: ApiDesk, year: int, pack: str) -> JSONResponse:
    return _answer(payloads.records(desk.rubric(year, pack)))


@router.get("/firms/{credit_code}")
def firm(desk: ApiDesk, credit_code: str) -> JSONResponse:
    """A firm's filings in force over the years (the 企业 page's table)."""
    return _answer(payloads.records(desk.firm(credit_code)))
