"""The desk: everything a face may do for one signed-in user, through the library API, with the city boundary drawn
here rather than in the pages. A city user reads and writes its own city only: another city's firm, upload or
figures are `Hidden` (not found, as if they did not exist), another city asked for by name is `Refused`; an analyst
reads everything and writes nothing. Every refusal is written to the audit log before it is raised, and so are the
uploads, retractions, runs and downloads allowed."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assess import api
from assess.access import audit
from assess.access.accounts import User
from assess.errors import InputError, StoreError
from assess.ingest import Options

if TYPE_CHECKING:
    import polars as pl

    from assess.ingest import IngestResult
    from assess.progress import Progress
    from assess.store import Store

# The figures of a year that break down by city: a city user keeps its own entry of each.
_BY_CITY = "by_city"
# Breakdowns over the whole province that would show other cities' firms in small chains: a city user gets none.
_PROVINCE_WIDE = ("by_chain", "by_flagship_chain", "by_direction", "by_city_chain")


class Refused(Exception):
    """The user's role does not allow this (HTTP 403)."""


class Hidden(Exception):
    """Nothing the user may see has this name (HTTP 404): another city's object, or none at all."""


class Desk:
    def __init__(self, store: Store, user: User, rules: Path | None = None) -> None:
        self.store = store
        self.user = user
        self.rules = rules

    # --- the boundary ----------------------------------------------------------------------------------------------

    def _refuse(self, action: str, obj: str, why: str) -> Refused:
        audit.record(self.store, self.user.name, action, obj, audit.REFUSED, why)
        return Refused(why)

    def _hide(self, action: str, obj: str) -> Hidden:
        audit.record(self.store, self.user.name, action, obj, audit.REFUSED, "不在本用户可见范围内")
        return Hidden(f"没有找到「{obj}」。")

    def writer(self, action: str, obj: str) -> None:
        """Refused (and logged) unless the user may write."""
        if not self.user.writes:
            raise self._refuse(action, obj, "分析人员只能查看，不能上传、撤回或发起评估。")

    def city(self, asked: str | None, action: str = "read") -> str | None:
        """The city a request is answered for: a city user's own (asking for another is refused), else the one
        asked, if any."""
        wanted = api.city_name(asked) if asked else None
        if self.user.city is None:
            return wanted
        if wanted not in (None, self.user.city):
            raise self._refuse(action, f"地市 {wanted}", f"地市用户只能查看本市（{self.user.city}）的数据。")
        return self.user.city

    def _upload(self, upload_id: int, action: str) -> dict:
        try:
            record = self.store.upload(upload_id)
        except StoreError:
            raise self._hide(action, f"上传批次 {upload_id}") from None
        if self.user.city is not None and self.store.upload_city(upload_id) != self.user.city:
            raise self._hide(action, f"上传批次 {upload_id}")
        return record

    def _firm(self, credit_code: str, year: int | None, action: str) -> pl.DataFrame:
        """The firm's filings in force (of the year, if given) that the user may see; Hidden when there are none."""
        import polars as pl

        filings = self.store.firm_filings(credit_code.strip().upper())
        if year is not None:
            filings = filings.filter(pl.col("year") == year)
        if self.user.city is not None:
            filings = filings.filter(pl.col("city") == self.user.city)
        if filings.is_empty():
            raise self._hide(action, f"企业 {credit_code}")
        return filings

    # --- filings ---------------------------------------------------------------------------------------------------

    def ingest(
        self,
        files: Sequence[Path],
        year: int | None,
        unit: str | None,
        progress: Progress | None = None,
        confirmed: frozenset[str] = frozenset(),
    ) -> list[IngestResult]:
        """Each file its own upload; a city user's files are checked as that city's (rows of another city are
        rejected and never replace its filings). `confirmed`: credit codes whose wrong check character the user
        confirms as on the business licence (the command line's --accept-bad-check)."""
        self.writer("upload", "、".join(f.name for f in files))
        options = Options(year=year, unit=unit, accept_bad_check=confirmed, city=self.user.city, by=self.user.name)
        results = api.ingest(self.store, files, options, progress)
        for r in results:
            said = "已有相同文件" if r.duplicate_upload else r.error
            obj = f"上传批次 {r.upload_id}" if r.upload_id else r.file
            audit.record(self.store, self.user.name, "upload", obj, audit.FAILED if r.error else audit.ALLOWED, said)
        return results

    def uploads(self) -> pl.DataFrame:
        return self.store.uploads(self.user.city)

    def upload(self, upload_id: int) -> dict:
        return self._upload(upload_id, "read")

    def problems(self, upload_id: int) -> pl.DataFrame:
        self._upload(upload_id, "read")
        return self.store.problems(upload_id, placed=True)

    def problem_workbook(self, upload_id: int, out: Path) -> Path:
        self._upload(upload_id, "download")
        written = api.problem_workbook(self.store, upload_id, out)
        audit.record(self.store, self.user.name, "download", f"上传批次 {upload_id} 问题清单")
        return written

    def retract(self, upload_id: int) -> None:
        self.writer("retract", f"上传批次 {upload_id}")
        self._upload(upload_id, "retract")
        api.retract(self.store, upload_id)
        audit.record(self.store, self.user.name, "retract", f"上传批次 {upload_id}")

    def filings(self, year: int | None = None, city: str | None = None) -> pl.DataFrame:
        """The filings in force, of a year or city if given (a city user's own city only)."""
        return self.store.filings(year=year, city=self.city(city))

    def firm(self, credit_code: str) -> pl.DataFrame:
        """A firm's filings over the years."""
        return self._firm(credit_code, None, "read")

    # --- runs ------------------------------------------------------------------------------------------------------

    def run(self, year: int, progress: Progress | None = None) -> api.RunResult:
        """A run of the whole province (the lists are drawn province-wide); any user who writes may start it."""
        self.writer("run", f"{year} 年度评估")
        done = api.run_year(self.store, year, self.rules, progress)
        audit.record(self.store, self.user.name, "run", f"{year} 年度第 {done.run.run_id} 次评估")
        return done

    def stats(self, year: int) -> dict:
        """The year's figures; a city user's hold its own city's entries and the province's totals only."""
        figures = api.stats(self.store, year).figures
        return figures if self.user.city is None else _own_city(figures, self.user.city)

    def lists(
        self,
        year: int,
        *,
        list_id: str | None = None,
        city: str | None = None,
        chain: str | None = None,
        statuses: Sequence[str] = ("selected",),
    ) -> api.ListsResult:
        where = self.city(city)
        return api.lists(self.store, year, self.rules, list_id=list_id, city=where, chain=chain, statuses=statuses)

    def flags(
        self, year: int, *, rule: str | None = None, city: str | None = None, chain: str | None = None
    ) -> api.Flags:
        return api.flags(self.store, year, rule, self.city(city), self.rules, chain=chain)

    def rubric(self, year: int, pack: str) -> pl.DataFrame:
        """The national scheme's verdict of every firm (a city user's own firms)."""
        import polars as pl

        frame = api.rubric(self.store, year, pack, self.rules).frame
        return frame if self.user.city is None else frame.filter(pl.col("city") == self.user.city)

    def explain(self, credit_code: str, year: int) -> dict:
        """A firm's explanation, by its credit code only (a part of a name could match another city's firms)."""
        self._firm(credit_code, year, "read")
        return api.explain(self.store, credit_code.strip().upper(), year, self.rules)

    def years(self) -> list[int]:
        """The years with a stored run, newest first."""
        return sorted({int(r[0]) for r in self.store.con.execute("SELECT DISTINCT year FROM runs").fetchall()})[::-1]

    # --- downloads -------------------------------------------------------------------------------------------------

    def workbook(self, year: int, out: Path, city: str | None = None) -> Path:
        where = self.city(city, "download")
        [written] = api.export_workbooks(self.store, year, out=out, city=where, rules=self.rules)
        audit.record(self.store, self.user.name, "download", f"{year} 年度{where or '全省'}培育清单工作簿")
        return written

    def report(self, year: int, out: Path, city: str | None = None) -> Path:
        where = self.city(city, "download")
        written = api.report(self.store, year, out, where, self.rules)
        audit.record(self.store, self.user.name, "download", f"{year} 年度{where or '全省'}评估报告")
        return written


def _own_city(figures: Any, city: str) -> Any:
    """The figures with every by-city breakdown cut to `city` and the province-wide chain breakdowns left out."""
    if isinstance(figures, dict):
        kept: dict[str, Any] = {}
        for key, value in figures.items():
            if key in _PROVINCE_WIDE:
                continue
            if key == _BY_CITY and isinstance(value, dict):
                kept[key] = {city: _own_city(value[city], city)} if city in value else {}
            else:
                kept[key] = _own_city(value, city)
        return kept
    if isinstance(figures, list):
        return [_own_city(item, city) for item in figures]
    return figures


__all__ = ["Desk", "Hidden", "InputError", "Refused"]
