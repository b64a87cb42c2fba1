"""`docs/reliability.md`, generated from the hostile corpus (`cases.yaml`) and the limits of `schemas/filing.yaml`, so
that the table of what each file gets cannot drift from what the tests check. Regenerate with
`.venv/bin/python -m tests.corpus.doc docs/reliability.md`; tests/test_corpus.py fails when the committed file differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from assess.contract import load_contract
from tests.corpus.make import CASES_FILE

_LIMITS = {
    "file_mb": "文件大小（MB）",
    "unpacked_mb": ".xlsx 解压后的大小（MB）",
    "unpacked_ratio": ".xlsx 解压后与压缩时大小之比（倍）",
    "columns": "列数（到最右边有内容的一列为止）",
    "sheets": "一个工作簿中的工作表数",
    "sheet_cells": "一个工作表中要读取的单元格数（去掉没有内容的行和列之后）",
}


def render() -> str:
    corpus = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    limits = load_contract().limits.model_dump()
    lines = [
        "# 可靠性：异常文件、强行终止和并发写入",
        "",
        "本文件由 `tests/corpus/cases.yaml` 和 `schemas/filing.yaml` 生成"
        "（`.venv/bin/python -m tests.corpus.doc docs/reliability.md`）；`tests/test_corpus.py` 逐例运行，"
        "结果或本文件与之不符时测试失败。",
        "",
        "## 一个文件的上限",
        "",
        "超过任何一项，整个文件被拒绝，一句话说明是哪个文件、哪项上限，数据库不变。"
        "上限写在 `schemas/filing.yaml` 的 `limits` 中，可以修改。"
        "上限以内，一个文件花的时间和内存与它填了内容的单元格数成正比：空行、空列再多也几乎不花时间。",
        "",
        "| 上限 | 值 |",
        "|---|---:|",
        *(f"| {title} | {limits[name]:,} |" for name, title in _LIMITS.items()),
        "",
        f"## 异常文件（共 {len(corpus['cases'])} 例）",
        "",
        "每个文件都用命令行导入（`assess ingest 文件 --json`），导入前数据库中已有一批上传（5 家企业）。"
        "退出码 0：文件已导入（其中的行可能被拒收）；2：整个文件被拒绝。"
        "“读取”是表头以下到最后一个有内容的行为止的行数，等于接收、拒收、跳过三者之和。",
        "",
        "| 编号 | 文件 | 情形 | 退出码 | 用户看到的 | 数据库之后 |",
        "|---|---|---|---:|---|---|",
        *(_case(case) for case in corpus["cases"]),
        "",
        "## 强行终止和并发写入",
        "",
        "| 测试 | 情形 | 用户看到的 | 数据库之后 |",
        "|---|---|---|---|",
        *(f"| `{f['test']}` | {f['title']} | {f['sees']} | {f['holds']} |" for f in corpus["faults"]),
    ]
    return "\n".join(lines) + "\n"


def _case(case: dict) -> str:
    expect = case["expect"]
    if "refusal" in expect:
        sees, holds = expect["refusal"], "不变"
    else:
        counts = expect["counts"]
        sees = "读取 {read:,} 行：接收 {accepted:,}、拒收 {rejected:,}、跳过 {skipped:,}".format(**counts)
        if expect["codes"]:
            sees += "；问题：" + "、".join(expect["codes"])
        if expect.get("duplicate"):
            sees = "同一文件已导入过（duplicate_upload），重复那次的结果：" + sees
            holds = "不变"
        else:
            holds = f"新增 1 个上传批次（{counts['accepted']:,} 条填报及其问题），原文件按 SHA-256 保存"
    return f"| `{case['id']}` | {case['file']} | {case['title']} | {expect['exit']} | {sees} | {holds} |"


if __name__ == "__main__":
    Path(sys.argv[1]).write_text(render(), encoding="utf-8")
