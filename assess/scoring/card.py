"""The model card written beside every model: what it learned from, what it reads, how well it did, its limits."""

from __future__ import annotations

from assess.features import BY_NAME
from assess.scoring.config import ClassifierConfig

_MONOTONE = {"increasing": "单调递增（该项提高不会使评分降低）", "none": "不约束"}


def _metric_rows(metrics: dict) -> list[str]:
    return [
        f"| 样本数 | {metrics['n']} |",
        f"| 其中确认 | {metrics['n_positive']} |",
        f"| ROC AUC | {metrics['roc_auc']:.3f} |",
        f"| PR AUC（平均精确率） | {metrics['pr_auc']:.3f} |",
        f"| Brier 分数 | {metrics['brier']:.3f} |",
    ]


def _left_out(left_out: dict[str, str]) -> list[str]:
    """The configured features the model did not learn from, and why."""
    if not left_out:
        return []
    return [
        "未使用的特征（配置中有，但训练样本无法据以学习；评分和原因都不涉及）：",
        "",
        *(f"- `{name}`：{why}" for name, why in left_out.items()),
        "",
    ]


def _temporal_left_out(temporal: dict) -> list[str]:
    """The features the years before the latest could not teach: the check's model went without them."""
    names = temporal.get("left_out", [])
    if not names:
        return []
    titles = "、".join(BY_NAME[name].title for name in names)
    return [
        f"时间检验的模型只用 {'、'.join(str(y) for y in temporal['train_years'])} 年的样本训练，其中{titles}在"
        f"{temporal['test_year'] - 1}年及以前没有取值或填报的企业太少，该模型未使用（最终模型使用）。",
        "",
    ]


def model_card(config: ClassifierConfig, report: dict) -> str:
    spec = config.spec
    lines = [
        f"# 模型卡：{spec.title}",
        "",
        "## 数据",
        "",
        f"- 训练样本：{report['n_train']} 条有专家评审结果的企业年度填报（确认 {report['n_positive']} 条，"
        f"否决 {report['n_negative']} 条），涉及 {report['firms']} 家企业，年度 "
        f"{'、'.join(str(y) for y in report['years'])}。",
        f"- 标注：填报字段 `{spec.label}`（三高一核心评审结果）：专家确认为 1，否决为 0，未评审的不参与训练。"
        "标注及由其派生的任何量都不作为特征。",
        f"- 评分对象：{'、'.join(spec.population)}（标志性产业链领域的中小企业）。",
        "",
        "## 特征",
        "",
        "| 特征 | 名称 | 约束 |",
        "|---|---|---|",
        *(f"| `{f.name}` | {BY_NAME[f.name].title} | {_MONOTONE[f.monotone]} |" for f in spec.features),
        "",
        *_left_out(report.get("left_out", {})),
        "## 模型",
        "",
        "scikit-learn Pipeline：按名称选列 → HistGradientBoostingClassifier（每棵树只用一个特征，"
        "对数几率是各特征函数之和，解释可精确分解；各特征单调约束如上），再用 CalibratedClassifierCV "
        f"（{spec.value('calibration')}，折内按企业分组）校准为概率。随机种子 {report['seed']}，"
        f"scikit-learn {report['scikit_learn']}。",
        "",
        f"## 指标（按企业分组的 {spec.value('cv_folds')} 折交叉验证，同一企业不同时出现在训练和测试中）",
        "",
        "| 指标 | 值 |",
        "|---|---|",
        *_metric_rows(report["cv"]),
        "",
        "### 校准表（交叉验证的预测概率分10档）",
        "",
        "| 预测概率 | 样本数 | 平均预测 | 实际确认比例 |",
        "|---|---|---|---|",
        *(
            f"| {row['bin']} | {row['n']} | {row['predicted']:.3f} | {row['observed']:.3f} |"
            for row in report["calibration"]
        ),
        "",
    ]
    temporal = report.get("temporal")
    if temporal:
        lines += [
            f"### 时间检验（用 {'、'.join(str(y) for y in temporal['train_years'])} 年训练，"
            f"检验 {temporal['test_year']} 年）",
            "",
            "| 指标 | 值 |",
            "|---|---|",
            *_metric_rows(temporal),
            "",
            *_temporal_left_out(temporal),
        ]
    else:
        lines += ["### 时间检验", "", "最新年度或此前各年度的确认、否决样本太少，未做时间检验。", ""]
    lines += [
        "## 局限",
        "",
        "- 模型学的是以往专家的判断，专家口径变化时需用新的评审结果重新训练；评分不能代替评审。",
        "- 市场占有率多数企业未填报，以营业收入占行业比重替代，只反映在填报企业中的相对规模。",
        "- 发明专利只有件数，无法判断是否覆盖主导产品。",
        "- 特征之间只做加性组合，不刻画交互作用；这是为了让每个评分都能精确分解到各项因素。",
        "- 若数据为合成样例，以上指标只说明流程可用，不代表真实效果。",
        "",
    ]
    return "\n".join(lines)
