"""Spec files: a YAML file read, hashed and validated against its pydantic model, and the parameters every pack
declares (value, basis, title, unit), with what-if overrides checked against them."""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path
from typing import Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from assess.errors import PackError, describe_os_error
from assess.kernel.expressions import Scalar
from assess.resources import parse_yaml
from assess.validation_messages import validation_message

Basis = Literal["policy", "official", "default"]
BASIS_LABELS = {"policy": "[政策]", "official": "[官方]", "default": "[默认]"}
ID_PATTERN = r"^[a-z][a-z0-9_]*$"


class SpecModel(BaseModel):
    """A part of a spec file: unknown keys are refused, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


_Spec = TypeVar("_Spec", bound=BaseModel)


class Parameter(SpecModel):
    value: Scalar
    basis: Basis
    title: str
    unit: str | None = None


def read_mapping(path: Path) -> tuple[dict, str]:
    """A spec file's mapping and the SHA-256 of its bytes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackError(f"规则文件「{path.name}」无法读取（{path.parent}）：{describe_os_error(exc)}。") from exc
    try:
        loaded = parse_yaml(data)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 1} 行附近" if mark is not None else "某处"
        raise PackError(f"规则文件「{path.name}」的 YAML 格式有误（{where}）：请检查缩进、冒号和引号。") from exc
    if not isinstance(loaded, dict):
        raise PackError(f"规则文件「{path.name}」的内容应是一个映射（键: 值）。")
    return loaded, hashlib.sha256(data).hexdigest()


def read_spec(path: Path, model: type[_Spec]) -> tuple[_Spec, str]:
    """A configuration file (a pack, a scoring or tier file) validated against its model, with its SHA-256; its
    `id` must be the file's name. A Chinese message names the file and the field when it is not."""
    raw, sha = read_mapping(path)
    try:
        spec = model(**raw)
    except ValidationError as exc:
        raise PackError(validation_message(path, exc)) from exc
    if getattr(spec, "id", path.stem) != path.stem:
        raise PackError(f"规则文件「{path.name}」的 id「{getattr(spec, 'id', '')}」应与文件名一致。")
    return spec, sha


def values_of(parameters: dict[str, Parameter]) -> dict[str, Scalar]:
    return {name: p.value for name, p in parameters.items()}


def overrides_of(pack_id: str, overrides: dict[str, Scalar]) -> dict[str, Scalar]:
    """The overrides ("pack.parameter" -> value) of one pack, by parameter name."""
    return {key.split(".", 1)[1]: value for key, value in overrides.items() if key.split(".", 1)[0] == pack_id}


def with_values(pack_id: str, parameters: dict[str, Parameter], changed: dict[str, Scalar]) -> dict[str, Parameter]:
    """A pack's parameters with other values. Each must be a parameter of the pack and of the same kind as the
    value it replaces (a number for a number, 是/否 for 是/否), so that a threshold never compares against text."""
    unknown = sorted(set(changed) - set(parameters))
    if unknown:
        raise PackError(f"规则包「{pack_id}」没有参数：{'、'.join(unknown)}。")
    for name, value in changed.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise PackError(f"参数「{pack_id}.{name}」应为有限的数字，收到的是「{value}」。")
        expected = _kind(parameters[name].value)
        if isinstance(parameters[name].value, tuple) and isinstance(value, str | list | tuple):
            changed = {**changed, name: levels(value) if isinstance(value, str) else tuple(map(str, value))}
        elif _kind(value) != expected:
            raise PackError(f"参数「{pack_id}.{name}」应为{expected}，收到的是「{value}」。")
    return {name: p.model_copy(update={"value": changed.get(name, p.value)}) for name, p in parameters.items()}


def single(name: str, value: Scalar) -> bool | int | float | str:
    """A parameter that must be one value (a quota, a cut-off), refused if a file gives a list."""
    if isinstance(value, tuple):
        raise PackError(f"参数「{name}」应是一个值，不能是一组选项。")
    return value


def levels(text: str) -> tuple[str, ...]:
    """A set of choices as typed on the command line: 市级、省级、国家级 (or with commas)."""
    return tuple(item.strip() for item in re.split(r"[、,，]", text) if item.strip())


def _kind(value: Scalar) -> str:
    if isinstance(value, tuple):
        return "一组选项（用顿号或逗号分隔）"
    if isinstance(value, bool):
        return "true 或 false"
    return "数字" if isinstance(value, int | float) else "文字"
