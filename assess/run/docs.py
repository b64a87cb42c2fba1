"""`docs/rules.md`, generated from the packs, the populations and the feature list, so that the documentation of
every rule id, parameter and population cannot drift from what runs. Regenerate from the packaged rules with
`.venv/bin/python -m assess.run.docs docs/rules.md`; a test fails when the committed file differs."""

from __future__ import annotations

import sys
from pathlib import Path

from assess import display
from assess.chains import read_chain_map
from assess.contract import load_contract
from assess.features import BY_NAME, FEATURES
from assess.kernel.spec import BASIS_LABELS, Parameter
from assess.reference import industry_names, load_reference
from assess.resources import PACKAGED_RULES
from assess.rules.packs import TARGETS_FILE, LoadedPack, RuleSet
from assess.run.config import CHAIN_MAP_FILE, load_config
from assess.run.targets import load_targets
from assess.scoring.config import ScoringConfig
from assess.sizes import SIZE_CLASSES_FILE, bounds_text, read_size_table
from assess.tiers.packs import LoadedTier

_LEVELS = {"base": "本年", "history": "历年", "peer": "同行"}


def _parameters(parameters: dict[str, Parameter]) -> list[str]:
    lines = ["| 参数 | 值 | 单位 | 依据 | 说明 |", "|---|---|---|---|---|"]
    for name, p in parameters.items():
        lines.append(
            f"| `{name}` | {display.value(p.value, None)} | {p.unit or ''} | {BASIS_LABELS[p.basis]} | {p.title} |"
        )
    return lines


def _pack(loaded: LoadedPack) -> list[str]:
    pack = loaded.pack
    lines = [f"## {pack.title}（`{pack.id}`，第 {pack.version} 版）", "", f"依据：{pack.source}", ""]
    if pack.target:
        lines += [f"目标：{pack.target}", ""]
    if pack.parameters:
        lines += [*_parameters(pack.parameters), ""]
    for rule in pack.rules:
        lines += [
            f"### `{pack.id}.{rule.id}`：{rule.title}",
            "",
            f"- 人群：{'、'.join(f'`{p}`' for p in rule.population) or '全部企业'}",
            f"- 范围：`{rule.scope}`",
            f"- 标记条件：`{rule.condition}`",
            f"- 提示语：{rule.message}",
            "",
        ]
    for title, items in (("门槛（须全部满足）", pack.gates), ("直通条件（满足其一即可）", pack.fast_track)):
        if items:
            lines += [f"### {title}", "", "| 编号 | 条件 | 表达式 |", "|---|---|---|"]
            lines += [f"| `{c.id}` | {c.title} | `{c.condition}` |" for c in items]
            lines.append("")
    for indicator in pack.indicators:
        lines += [f"### 指标 `{indicator.id}`：{indicator.title}（{BASIS_LABELS[indicator.basis]}）", ""]
        for measure in indicator.measures:
            bands = "；".join(f"{'>' if b.strict else '≥'}{b.min} 得 {b.points:g} 分" for b in measure.bands)
            lines.append(f"- {measure.title}（`{measure.value}`）：{bands}；否则 0 分")
        lines.append("")
    if pack.kind == "rubric":
        said = f"{pack.passing_title}：" if pack.passing_title else ""
        lines += [f"通过条件：{said}`{pack.passing}`", ""]
    if pack.cannot_check:
        lines += ["### 无法从填报核查的条件（“符合”只是预筛）", "", *(f"- {c}" for c in pack.cannot_check), ""]
    return lines


def _scoring(config: ScoringConfig) -> list[str]:
    classifier, index = config.classifier.spec, config.index.spec
    lines = [
        f"## {classifier.title}（`rules/scoring/classifier.yaml`，第 {classifier.version} 版）",
        "",
        f"依据：{classifier.source}",
        "",
        f"标注：填报字段 `{classifier.label}`；评分对象：{'、'.join(f'`{p}`' for p in classifier.population)}。",
        "",
        *_parameters(classifier.parameters),
        "",
        "| 特征 | 名称 | 单调约束 |",
        "|---|---|---|",
        *(f"| `{f.name}` | {BY_NAME[f.name].title} | {f.monotone} |" for f in classifier.features),
        "",
        "| 子判断 | 名称 | 来自规则 |",
        "|---|---|---|",
        *(
            f"| `{key}` | {c.title} | {'、'.join(f'`{classifier.criteria_pack}.{r}`' for r in c.rules)} |"
            for key, c in classifier.criteria.items()
        ),
        "",
        f"## {index.title}（`rules/scoring/innovation_index.yaml`，第 {index.version} 版）",
        "",
        f"依据：{index.source}",
        "",
        *_parameters(index.parameters),
        "",
        "企业发展阶段（按顺序取第一个成立的）：",
        "",
        *(f"- `{s.id}` {s.title}：`{s.condition}`" for s in index.stages),
        "",
        "| 指标 | 名称 | 一级指标 | 取值 | 计分 | " + " | ".join(f"{s.title}权重" for s in index.stages) + " |",
        "|---|---|---|---|---|" + "---|" * len(index.stages),
    ]
    for c in index.components:
        scoring = "同年全省百分位" if c.peers == "province" else "同年全省同行业大类百分位"
        scoring = scoring if c.scoring == "percentile" else "直接取值（0—1）"
        weights = " | ".join(f"{c.weights.get(s.id, 0):g}" for s in index.stages)
        lines.append(f"| `{c.id}` | {c.title} | {c.group} | `{c.value}` | {scoring} | {weights} |")
    return [*lines, ""]


def _tier(tier: LoadedTier) -> list[str]:
    pack = tier.pack
    lines = [
        f"## {pack.title}（`rules/tiers/{tier.path.name}`，第 {pack.version} 版）",
        "",
        f"依据：{pack.source}",
        "",
        *((f"清单是什么：{tier.summary}", "") if tier.summary else ()),
        f"排序：{tier.rank_title}从高到低；相同时研发投入强度高者在前，再按信用代码升序。",
        "",
        *_parameters(pack.parameters),
        "",
        "| 门槛 | 条件 | 表达式 |",
        "|---|---|---|",
        *(f"| `{g.id}` | {g.title} | `{g.condition}` |" for g in pack.gates),
        "",
    ]
    for exclusion in pack.exclusions:
        rule = (
            exclusion.condition
            or ("被规则标记：" + "、".join(f"`{r}`" for r in exclusion.flagged_by) if exclusion.flagged_by else "")
            or "已在清单中入选：" + "、".join(f"`{t}`" for t in exclusion.selected_on)
        )
        switch = f"（开关参数 `{exclusion.when}`）" if exclusion.when else ""
        lines.append(f"- 排除 `{exclusion.id}`：{exclusion.title}：{rule}{switch}")
    if pack.near is not None:
        lines.append(f"- 接近：只差门槛 `{pack.near.gate}`，且 `{pack.near.condition}`")
    return [*lines, ""]


def _chain_map(rules: RuleSet) -> list[str]:
    rows = read_chain_map(rules.directory / CHAIN_MAP_FILE, load_contract())
    names = industry_names()
    lines = [
        f"## 产业链对照表（`rules/{CHAIN_MAP_FILE}`，{len(rows)} 行，[默认]）",
        "",
        "企业未申报产业链或方向时，按行业代码归入方向：最具体的代码优先；方向为空的行把该代码排除在所有方向之外。"
        "氢能没有对应的行业代码，只按企业申报的产业链或方向计入。未归入任何方向的行业代码可用 "
        "`assess chains unmapped --year 年度` 列出。",
        "",
        "| 代码 | 行业名称 | 方向 | 产业链 | 理由 |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| {r.code} | {names[r.code]} | {r.direction or '（排除）'} | {r.chain or ''} | {r.rationale} |" for r in rows
    ]
    return [*lines, ""]


def _size_classes(rules: RuleSet) -> list[str]:
    table = read_size_table(rules.directory / SIZE_CLASSES_FILE, load_reference(load_contract()))
    lines = [
        f"## 企业规模划型（`rules/{SIZE_CLASSES_FILE}`，{BASIS_LABELS[table.basis]}）",
        "",
        f"依据：{table.source}。大型、中型、小型须同时达到所列指标的下限，否则下划一档；微型为有一项指标低于小型下限。"
        "划型所需数据缺失、又决定类别时，规模为空（待补数据），按中小微企业计。",
        "",
        "| 行业 | 代码 | 大型/中型/小型下限 |",
        "|---|---|---|",
    ]
    lines += [f"| {s.title} | {'、'.join(s.codes)} | {bounds_text(s)} |" for s in table.sectors]
    return [*lines, ""]


def _targets(rules: RuleSet) -> list[str]:
    spec = load_targets(rules)[0]
    lines = [f"## 规划目标（`rules/{TARGETS_FILE}`）", "", f"依据：{spec.source}；自 {spec.first_year} 年起累计。", ""]
    lines += [*_parameters(dict(spec.targets)), ""]
    lines += [f"- `{name}`：{target.quote}" for name, target in spec.targets.items()]
    lines += [f"- 一清零、一提升（`{name}`）：{quote}" for name, quote in spec.quotes.items()]
    return [*lines, ""]


def render(rules: RuleSet, scoring: ScoringConfig, tiers: tuple[LoadedTier, ...]) -> str:
    populations = rules.populations.spec
    lines = [
        "# 规则说明（由规则包自动生成，请勿手改）",
        "",
        "本文件由 `.venv/bin/python -m assess.run.docs docs/rules.md` 从 `rules/` 生成。"
        "依据标注：[政策] 山东省实施方案；[官方] 国家规章或统计标准；[默认] 未见公开数字，由本系统设定、可配置。",
        "",
        "缺数据不等于“否”：规则的标记条件、评分规则包的门槛和清单的门槛所需的数据缺失时，结论是“待补数据”，"
        "不算符合，也不算不符合（已能判断为不符合的仍是不符合）；待补数据的企业在统计中单列，覆盖率按能判断的企业计算，"
        "清单中不入选也不列为接近，数据问题表列出应补填的项目。规则的适用人群、排除条件和直通条件缺数据时按不适用处理。",
        "",
        "## 人群定义（`rules/populations.yaml`）",
        "",
        f"依据：{populations.source}",
        "",
        *_parameters(populations.parameters),
        "",
        "| 人群 | 说明 | 条件 |",
        "|---|---|---|",
        *(
            f"| `{name}` | {p.title} | `{' '.join(p.condition.split())}` |"
            for name, p in populations.populations.items()
        ),
        "",
    ]
    for loaded in rules.packs:
        lines += _pack(loaded)
    lines += _scoring(scoring)
    for tier in tiers:
        lines += _tier(tier)
    lines += _targets(rules)
    lines += _size_classes(rules)
    lines += _chain_map(rules)
    lines += [
        "## 可用的特征列（`schemas/features.yaml`）",
        "",
        "范围：本年 = 只用当年填报；历年 = 还用企业往年的数据；同行 = 还与同年度的同行企业比较。",
        "",
        "| 列 | 名称 | 单位 | 范围 | 定义 |",
        "|---|---|---|---|---|",
    ]
    lines += [
        f"| `{f.name}` | {f.title} | {f.unit or ''} | {_LEVELS[f.level]} | {' '.join((f.definition or '').split())} |"
        for f in FEATURES
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    config = load_config(PACKAGED_RULES)
    Path(sys.argv[1]).write_text(render(config.rules, config.scoring, config.tiers), encoding="utf-8")
