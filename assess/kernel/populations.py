"""Named populations (`populations.yaml` of a rule folder) and the compiling of any pack's expression against the
features, its parameters and those populations, into an engine-neutral tree (rendered as DuckDB or Spark SQL by
`assess.dialects`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pydantic import Field, ValidationError
from sqlglot import exp

from assess.features import FEATURE_NAMES
from assess.kernel import expressions
from assess.kernel.expressions import ExpressionError, Scalar
from assess.kernel.spec import PackError, Parameter, SpecModel, read_mapping, values_of
from assess.validation_messages import validation_message

POPULATIONS_FILE = "populations.yaml"


class Population(SpecModel):
    title: str
    condition: str


class PopulationFile(SpecModel):
    version: int
    source: str
    parameters: dict[str, Parameter] = Field(default_factory=dict)
    populations: dict[str, Population]


@dataclass(frozen=True)
class Populations:
    spec: PopulationFile
    path: Path
    sha256: str
    trees: dict[str, exp.Expr]  # compiled, parameters and nested populations substituted


def load_populations(path: Path) -> Populations:
    raw, sha = read_mapping(path)
    try:
        spec = PopulationFile(**raw)
    except ValidationError as exc:
        raise PackError(validation_message(path, exc)) from exc
    values = values_of(spec.parameters)
    trees: dict[str, exp.Expr] = {}
    pending = dict(spec.populations)
    while pending:  # a population may name others defined before or after it, but not itself
        ready = {
            name: p
            for name, p in pending.items()
            if not (expressions.names(_parsed(path, name, p.condition)) & (set(pending) - {name}))
        }
        if not ready:
            raise PackError(f"规则文件「{path.name}」中的人群定义相互引用：{'、'.join(pending)}。")
        for name, population in ready.items():
            trees[name] = checked(path, name, population.condition, values, trees, predicate=True)
            del pending[name]
    return Populations(spec=spec, path=path, sha256=sha, trees=trees)


def _parsed(path: Path, rule: str, text: str) -> exp.Expr:
    try:
        return expressions.parse(text)
    except ExpressionError as exc:
        raise PackError(f"规则文件「{path.name}」中「{rule}」有误：{exc}") from exc


def checked(
    path: Path,
    rule: str,
    text: str,
    parameters: dict[str, Scalar],
    populations: dict[str, exp.Expr],
    *,
    predicate: bool,
    extra_columns: frozenset[str] = frozenset(),
) -> exp.Expr:
    """An expression parsed and checked against the features (and `extra_columns`), parameters substituted."""
    try:
        return expressions.check(text, FEATURE_NAMES | extra_columns, parameters, populations, predicate=predicate)
    except ExpressionError as exc:
        raise PackError(f"规则文件「{path.name}」中「{rule}」有误：{exc}") from exc


def never_null(tree: exp.Expr) -> exp.Expr:
    """A condition that is false, never null, where a value it reads is missing: for who a rule applies to, an
    exclusion or a fast track (a claim the filing does not make does not hold)."""
    return exp.Coalesce(this=tree.copy(), expressions=[exp.false()])


def three_valued(tree: exp.Expr) -> exp.Expr:
    """A condition that is null where a value it needs is missing (待补数据): for verdicts and gates."""
    return exp.paren(tree.copy())


def inputs(tree: exp.Expr) -> tuple[str, ...]:
    """The feature columns a (substituted) condition reads, in the order it names them."""
    return tuple(dict.fromkeys(c.name for c in tree.find_all(exp.Column) if c.name in FEATURE_NAMES))


def compile_tree(
    path: Path,
    label: str,
    text: str,
    parameters: dict[str, Parameter],
    populations: Populations,
    *,
    predicate: bool,
    extra_columns: frozenset[str] = frozenset(),
) -> exp.Expr:
    """An expression of a configuration file (a stage, an index component, a tier exclusion), checked exactly as a
    rule's; a condition is false, never null, where a value it reads is missing (gates that keep 待补数据 open use
    `compile_gate`)."""
    tree = checked(
        path, label, text, values_of(parameters), populations.trees, predicate=predicate, extra_columns=extra_columns
    )
    return never_null(tree) if predicate else tree


def conjunction(names: list[str], populations: Populations) -> exp.Expr:
    """The named populations joined by AND (true for none); the caller has checked the names."""
    parts = [exp.paren(populations.trees[p].copy()) for p in names]
    return exp.and_(*parts) if len(parts) > 1 else parts[0] if parts else exp.true()


def unknown_populations(names: list[str], populations: Populations) -> list[str]:
    return [p for p in names if p not in populations.trees]


def compile_gate(
    path: Path,
    label: str,
    text: str,
    parameters: dict[str, Parameter],
    populations: Populations,
    extra_columns: frozenset[str] = frozenset(),
) -> tuple[exp.Expr, tuple[str, ...]]:
    """A gate of a configuration file that is null where an input is missing (待补数据), with its inputs."""
    tree = checked(
        path, label, text, values_of(parameters), populations.trees, predicate=True, extra_columns=extra_columns
    )
    return three_valued(tree), inputs(tree)


def population_tree(path: Path, label: str, names: list[str], populations: Populations) -> exp.Expr:
    """The conjunction of named populations (never null)."""
    unknown = unknown_populations(names, populations)
    if unknown:
        raise PackError(f"规则文件「{path.name}」中「{label}」引用了未定义的人群：{'、'.join(unknown)}。")
    return never_null(conjunction(names, populations))
