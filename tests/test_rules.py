"""Rules from fixture files, in the style of sqlglot's: filings in (written to a real workbook and ingested), the
expected flags, points and target figures out. Each fixture reads like the policy it checks."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from assess import api
from assess.contract import Contract
from assess.resources import PACKAGED_RULES
from assess.rules.engine import evaluate_rules
from assess.rules.packs import Indicator
from assess.run import runs, stats
from assess.run.config import Config, load_config
from assess.run.context import RunContext
from assess.store import Store
from tests.conftest import Ingester, fixture_names, read_fixture, write_filings

FIXTURES = Path(__file__).parent / "fixtures" / "rules"


def _fixture(name: str) -> dict:
    return read_fixture(FIXTURES / name)


def _config(fixture: dict) -> Config:
    """The packaged rules with the fixture's `set:`, the thresholds its filings are built around."""
    return load_config(PACKAGED_RULES, fixture.get("set"))


def _run(fixture: dict, tmp_path: Path, ingest: Ingester, store: Store, contract: Contract) -> runs.Run:
    """Write the fixture's filings to a workbook, ingest it and run the assessment."""
    result = ingest(write_filings(tmp_path / "fixture.xlsx", fixture, contract))
    assert result.rejected == 0, result.problems["message"].to_list()
    return runs.execute(RunContext(store, _config(fixture), fixture["year"]), scoring=False)


def _names(fixture: dict) -> dict[str, str]:
    return fixture_names(fixture)


@pytest.mark.parametrize(
    "name", ["yiqingling_yitisheng.yaml", "yiqingling_chain_only_off.yaml", "yitisheng_recognised_only.yaml"]
)
def test_flags_and_targets(name: str, tmp_path: Path, ingest: Ingester, store: Store, contract: Contract) -> None:
    fixture = _fixture(name)
    done = _run(fixture, tmp_path, ingest, store, contract)
    names = _names(fixture)
    for rule_id, expected in fixture["expect"].items():
        flagged = runs.hits(store, done, rule_id)
        assert sorted(names[c] for c in flagged["credit_code"]) == sorted(expected), rule_id
        open_ = runs.hits(store, done, rule_id, unknown=True).filter(pl.col("verdict").is_null())
        assert {names[c]: m for c, m in open_.select("credit_code", "missing").iter_rows()} == fixture.get(
            "unknown", {}
        ).get(rule_id, {}), rule_id
    if "stats" in fixture:
        figures = stats.targets(runs.counts(store, done), fixture["year"], contract, done.manifest)
        expected = fixture["stats"]
        assert figures["no_rd"]["province"] == expected["no_rd"]["province"]
        for group in ("by_city", "by_chain"):
            found = {k: v for k, v in figures["no_rd"][group].items() if v}
            assert found == expected["no_rd"][group]
        if "no_rd_unknown" in expected:
            assert figures["no_rd_unknown"]["province"] == expected["no_rd_unknown"]["province"]
            found = {k: v for k, v in figures["no_rd_unknown"]["by_city"].items() if v}
            assert found == expected["no_rd_unknown"]["by_city"]
        levels = fixture.get("set", {}).get("yitisheng.institution_levels", ["企业自建", "市级", "省级", "国家级"])
        assert figures["thresholds"]["institution_levels"] == levels  # named beside every coverage figure
        coverage = figures["institution_coverage"]
        assert coverage["province"] == expected["institution_coverage"]["province"]
        assert {k: v for k, v in coverage["by_city"].items() if v["firms"]} == expected["institution_coverage"][
            "by_city"
        ]


@pytest.mark.parametrize("name", ["tech_sme.yaml", "hte_ready.yaml"])
def test_rubric_points_match_the_worked_examples(
    name: str, tmp_path: Path, ingest: Ingester, store: Store, contract: Contract
) -> None:
    fixture = _fixture(name)
    done = _run(fixture, tmp_path, ingest, store, contract)
    results = {row["credit_code"]: row for row in runs.rubric(store, done, fixture["pack"]).to_dicts()}
    indicators = _config(fixture).rules.pack(fixture["pack"]).pack.indicators
    for code, firm in _names(fixture).items():
        expected = dict(fixture["expect_points"][firm])
        measured = fixture.get("expect_measured", {}).get(firm)
        if measured is not None:  # bands that are [默认]: the points are the pack's band for the worked-out value
            points = {i.id: _band_points(i, measured[i.id]) for i in indicators}
            expected |= points | {"score": sum(points.values())}
        row = results[code]
        for key, value in expected.items():
            column = key if key in ("score", "verdict", "missing") else f"points_{key}"
            assert row[column] == value, (firm, key)
    # stats counts 符合, 不符合 and 待补数据 apart
    verdicts = [row["verdict"] for row in results.values()]
    counted = api.stats(store, fixture["year"]).figures["rubrics"][fixture["pack"]]
    assert counted == {
        "title": _config(fixture).rules.pack(fixture["pack"]).pack.title,
        "passed": verdicts.count(True),
        "failed": verdicts.count(False),
        "unknown": verdicts.count(None),
    }


def _band_points(indicator: Indicator, value: float) -> float:
    """The points an indicator of one measure gives `value`: the first band it reaches, else none."""
    [measure] = indicator.measures
    return next((b.points for b in measure.bands if value > b.min or (value == b.min and not b.strict)), 0.0)


def test_a_flagged_firm_carries_a_message_naming_its_value_and_the_threshold(
    tmp_path: Path, ingest: Ingester, store: Store, contract: Contract
) -> None:
    done = _run(_fixture("yiqingling_yitisheng.yaml"), tmp_path, ingest, store, contract)
    messages = runs.hits(store, done, "yiqingling.no_rd_activity", "济南")["message"].to_list()
    assert sorted(messages) == [
        "营业收入5000万元，不低于5000万元，但当年无研发活动（会计口径：研发费用为0）",
        "营业收入9000万元，不低于5000万元，但当年无研发活动（统计口径：R&D经费内部支出、R&D人员为0）",
    ]


def test_a_run_records_what_it_read(tmp_path: Path, ingest: Ingester, store: Store, contract: Contract) -> None:
    done = _run(_fixture("yiqingling_yitisheng.yaml"), tmp_path, ingest, store, contract)
    manifest = runs.latest(store, 2024).manifest
    assert manifest == done.manifest
    every_pack = {path.stem for path in PACKAGED_RULES.glob("*.yaml")} - {"populations", "size_classes", "targets"}
    assert {p["id"] for p in manifest["packs"]} == every_pack >= {"yiqingling", "yitisheng", "tech_sme", "hte_ready"}
    assert all(len(p["sha256"]) == 64 for p in manifest["packs"])
    assert manifest["uploads"] == [1] and manifest["packages"]["duckdb"]
    assert len(manifest["size_classes"]["sha256"]) == 64 and len(manifest["chain_map"]["sha256"]) == 64


def test_three_highs_sub_judgements(tmp_path: Path, ingest: Ingester, store: Store, contract: Contract) -> None:
    fixture = _fixture("three_highs_criteria.yaml")
    _run(fixture, tmp_path, ingest, store, contract)
    names = _names(fixture)
    rules = _config(fixture).rules.pack(fixture["pack"]).rules
    evaluated = evaluate_rules(store.con, rules, fixture["year"])
    by_firm = {names[row["credit_code"]]: row for row in evaluated.to_dicts()}
    outside = set(fixture["expect_applies_to_all_but"])
    for firm, row in by_firm.items():
        applies = row["applies_rd_share"] or row["applies_market_share"] or row["applies_market_share_proxy"]
        assert applies == (firm not in outside), firm
    for rule, expected in fixture["expect_holds"].items():
        assert sorted(f for f, row in by_firm.items() if row[f"holds_{rule}"]) == sorted(expected), rule
    # A firm the rule applies to always carries a sentence saying why it holds or not; others carry none.
    for firm, row in by_firm.items():
        assert (row["message_rd_share"] is not None) == (firm not in outside)
    assert by_firm["研发强度2.9%居行业第三但不足3%"]["message_rd_share"] == (
        "研发投入占比未达“高”：研发投入强度2.9%，位于全省同行业大类第75百分位（要求不低于第70百分位且不低于3%）"
    )


def _headline(
    name: str, tmp_path: Path, ingest: Ingester, store: Store, contract: Contract
) -> tuple[dict, dict, dict[str, dict]]:
    """The fixture's run and its headline figures, with every target's value, target and gap as the fixture expects."""
    fixture = _fixture(name)
    figures = runs.figures(store, _run(fixture, tmp_path, ingest, store, contract))
    assert figures is not None
    found = {t["id"]: t for t in figures["targets"]}
    for target_id, (value, target, gap) in fixture["expect"]["targets"].items():
        figure = found[target_id]
        assert (figure["value"], figure["target"], figure["gap"]) == (value, target, gap), target_id
    return fixture, figures, found


def test_the_plans_headline_targets_with_their_gaps(
    tmp_path: Path, ingest: Ingester, store: Store, contract: Contract
) -> None:
    fixture, figures, found = _headline("headline.yaml", tmp_path, ingest, store, contract)
    for name in fixture["expect"]["targets"]:
        assert found[name]["basis"] == "policy" and found[name]["quote"].startswith(("二、", "四（三）"))
    said = "其中标志性产业链领域1家，按现有高企数，还需1家属于产业链领域，占比方可达到80%"
    assert found["hte_chain_share"]["said"] == said
    rd = figures["rd"]
    for key, (firms, spent, intensity, before, growth) in fixture["expect"]["rd"].items():
        figure = rd["province"] if key == "province" else rd["by_city"][key]
        assert (figure["firms"], figure["rd"], figure["rd_previous"]) == (firms, spent, before), key
        assert figure["intensity"] == pytest.approx(intensity) and figure["growth"] == pytest.approx(growth), key
    assert set(figures["quotes"]) == {"no_rd", "institution_coverage"}


def test_a_headline_no_filing_states_is_unknown_not_zero(
    tmp_path: Path, ingest: Ingester, store: Store, contract: Contract
) -> None:
    fixture, _, found = _headline("headline_unstated.yaml", tmp_path, ingest, store, contract)
    for name, said in fixture["expect"]["said"].items():
        assert found[name]["said"] == said, name


def test_the_hte_prescreen_names_what_filings_cannot_show(
    tmp_path: Path, ingest: Ingester, store: Store, contract: Contract
) -> None:
    fixture = _fixture("hte_ready.yaml")
    _run(fixture, tmp_path, ingest, store, contract)
    found = api.rubric(store, fixture["year"], "hte_ready", PACKAGED_RULES)
    assert any("境内" in c and "60%" in c for c in found.cannot_check)
    assert any("71分" in c for c in found.cannot_check)
    passed = found.frame.filter(pl.col("verdict"))["verdict_text"].to_list()
    assert passed and all(t.startswith("符合（仅为预筛；另须核查：") and "71分" in t for t in passed)
    failed = found.frame.filter(~pl.col("verdict"))["verdict_text"].to_list()
    assert failed and set(failed) == {"不符合"}
    indicators = {i.id: i for i in _config(fixture).rules.pack("hte_ready").pack.indicators}
    assert indicators["revenue_growth"].basis == indicators["net_assets_growth"].basis == "official"
