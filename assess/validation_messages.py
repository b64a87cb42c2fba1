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


# A value that may be of several types fails once per type, each error's location ending in the type's tag.
_UNION_TAGS = {"bool": "true 或 false", "int": "整数", "float": "数字", "str": "文字"}
# Patterns of our models, in words.
_PATTERNS = {r"^[a-z][a-z0-9_]*$": "只能由小写英文字母、数字和下划线组成，且以字母开头"}


def validation_message(path: Path, exc: ValidationError) -> str:
    """Which file, which field, what is wrong: the first few errors, then how many more there are."""
    said = reasons(exc)
    shown = "；".join(said[:SHOWN])
    more = f"；另有 {len(said) - SHOWN} 处问题" if len(said) > SHOWN else ""
    return f"规则文件「{path.name}」格式有误：{shown}{more}。"


def reasons(exc: ValidationError) -> list[str]:
    """One sentence per place: the errors of one value tried as each type of a union become one."""
    places: dict[str, list[ErrorDetails]] = {}
    for error in exc.errors():
        loc = error["loc"]
        union = len(loc) > 1 and loc[-1] in _UNION_TAGS
        places.setdefault(_where(loc[:-1] if union else loc), []).append(error)
    said = []
    for where, found in places.items():
        tags = [str(e["loc"][-1]) for e in found if e["loc"] and e["loc"][-1] in _UNION_TAGS]
        if len(tags) > 1:
            reason = "应为以下之一：" + "、".join(_UNION_TAGS[tag] for tag in tags)
        else:
            reason = "；".join(_reason(e) for e in found)
        said.append(f"{where}：{reason}" if where else reason)
    return said


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def _reason(error: ErrorDetails) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in _PLAIN:
        return _PLAIN[kind]
    if kind in _WITH_LIMIT:
        return _WITH_LIMIT[kind].format(**{key: _shown(value) for key, value in ctx.items()})
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        return _PATTERNS.get(pattern, f"应符合格式 {pattern}")
    if kind == "value_error" and "error" in ctx:  # our own validators: their message is Chinese already
        return str(ctx["error"])
    return error["msg"]


def _shown(value: Any) -> str:
    """pydantic lists the choices of a literal as "'a', 'b' or 'c'"; read as Chinese: a、b 或 c."""
    return str(value).replace(" or ", " 或 ").replace(", ", "、").replace("'", "")
