"""pydantic's validation errors, said in Chinese.

Configuration files (rule packs, populations, scoring and tier files) are edited by analysts; when one does not fit
its model, pydantic describes why in English ("Field required"). Each error has a stable `type`, and its `ctx` holds
the limits it names, so the sentence is rebuilt here in Chinese. Our own validators already raise Chinese messages;
an error type not listed keeps pydantic's text rather than losing it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

SHOWN = 3  # errors named in one message; the count of the others follows

_PLAIN = {
    "missing": "缺少这一项",
    "extra_forbidden": "不认识这一项（是否拼写有误？）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "decimal_type": "应为数字",
    "decimal_parsing": "应为数字",
    "string_type": "应为文字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "dict_type": "应为“名称: 值”形式的映射",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "model_type": "应为“名称: 值”形式的映射",
    "model_attributes_type": "应为“名称: 值”形式的映射",
}
_WITH_LIMIT = {
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "too_short": "至少要有 {min_length} 项",
    "too_long": "至多只能有 {max_length} 项",
    "string_too_short": "至少要有 {min_length} 个字符",
    "literal_error": "只能是 {expected}",
    "enum": "只能是 {expected}",
}


def validation_message(path: Path, exc: ValidationError) -> str:
    """Which file, which field, what is wrong: the first few errors, then how many more there are."""
    errors = exc.errors()
    said = "；".join(_one(error) for error in errors[:SHOWN])
    more = f"；另有 {len(errors) - SHOWN} 处问题" if len(errors) > SHOWN else ""
    return f"规则文件「{path.name}」格式有误：{said}{more}。"


def _one(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"])
    return f"{where}：{_reason(error)}" if where else _reason(error)


def _reason(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in _WITH_LIMIT:
        return _WITH_LIMIT[kind].format(**{key: _shown(value) for key, value in ctx.items()})
    if kind == "value_error" and "error" in ctx:  # our own validators: their message is Chinese already
        return str(ctx["error"])
    return error["msg"]


def _shown(value: Any) -> str:
    """pydantic lists the choices of a literal as "'a', 'b' or 'c'"; read as Chinese: a、b 或 c."""
    return str(value).replace(" or ", " 或 ").replace(", ", "、").replace("'", "")
