"""Where the product's own data lives, and reading it with a Chinese message when it cannot be read.

The schemas, the rule packs, the sample data and the templates are package data: a wheel carries them under
`assess/_data/`, while a source checkout (an editable install, the tests) reads the folders at its top. Nothing else
is read at run time but the database folder and the paths a user names (`--rules`, ASSESS_RULES, files to ingest).
"""

from __future__ import annotations

import os
from pathlib import Path

from assess.errors import ResourceError

_PACKAGE = Path(__file__).resolve().parent
RULES_ENV = "ASSESS_RULES"


def _packaged(name: str) -> Path:
    installed = _PACKAGE / "_data" / name
    return installed if installed.is_dir() else _PACKAGE.parent / name


SCHEMAS_DIR = _packaged("schemas")
PACKAGED_RULES = _packaged("rules")
SAMPLE_DIR = _packaged("sample_data")
TEMPLATES_DIR = _packaged("templates")
INDUSTRY_CODES = SCHEMAS_DIR / "gbt4754-2017.csv"  # GB/T 4754-2017, copied from the shared specification


def rules_dir(given: Path | None = None) -> Path:
    """The rule folder a command uses: --rules DIR, else env ASSESS_RULES, else the packaged rules."""
    chosen = given or (Path(os.environ[RULES_ENV]) if os.environ.get(RULES_ENV) else None)
    if chosen is None:
        return PACKAGED_RULES
    if not chosen.is_dir():
        raise ResourceError(f"规则文件夹「{chosen}」不存在：请检查 --rules 或环境变量 {RULES_ENV}。")
    return chosen


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResourceError(_unreadable(path)) from exc


def parse_yaml(text: str | bytes) -> object:
    """YAML with libyaml's safe loader where PyYAML was built with it (several times faster), else the pure one.
    PyYAML is imported here, not with this module: reading uploads from a store never parses YAML."""
    import yaml

    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def read_yaml(path: Path) -> dict:
    """A YAML mapping of the product's reference files."""
    import yaml

    try:
        loaded = parse_yaml(read_text(path))
    except yaml.YAMLError as exc:
        raise ResourceError(_unreadable(path)) from exc
    if not isinstance(loaded, dict):
        raise ResourceError(_unreadable(path))
    return loaded


def _unreadable(path: Path) -> str:
    return (
        f"参考文件「{path.name}」缺失或无法读取（{path.parent}）：请重新安装 assess，或检查 --rules 指定的规则文件夹。"
    )
