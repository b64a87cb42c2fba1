"""Names a user types to filter an answer (a city, a chain, a list, a rule, a status), checked against what exists.

A name that matches nothing is a usage error (`InputError`, exit status 2 on the command line) naming the closest
valid names, never an empty answer: "共 0 家" after a typo reads as a fact about the firms.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from difflib import get_close_matches

from assess.contract import Contract
from assess.errors import InputError

SUGGESTIONS = 3


def suggest(text: str, valid: Iterable[str]) -> list[str]:
    """The valid names closest to `text`: those that contain it or that it contains, else the most similar."""
    names = list(dict.fromkeys(valid))
    typed = text.strip()
    containing = [name for name in names if typed and (typed in name or name in typed)]
    return (containing or get_close_matches(typed, names, n=SUGGESTIONS, cutoff=0.4))[:SUGGESTIONS]


def refusal(what: str, text: str, valid: Iterable[str]) -> InputError:
    """ "没有名为「X」的<what>" with the closest valid names, or all of them when there are only a few."""
    names = list(dict.fromkeys(valid))
    close = suggest(text, names)
    if close:
        hint = f"是不是「{'」「'.join(close)}」？"
    elif len(names) <= 12:
        hint = f"可用的有：{'、'.join(names)}。"
    else:
        hint = f"可用的有 {len(names)} 个，如 {'、'.join(names[:SUGGESTIONS])}。"
    return InputError(f"没有名为「{text}」的{what}。{hint}")


def choose(what: str, text: str, valid: Iterable[str]) -> str:
    """`text` when it is one of `valid`, else the refusal."""
    names = list(valid)
    if text.strip() in names:
        return text.strip()
    raise refusal(what, text, names)


def city(text: str, contract: Contract) -> str:
    """A city as the store keeps it (济南市 -> 济南), one of Shandong's 16."""
    cities = list(dict.fromkeys(contract.cities.values()))
    return choose("地市（应为山东省16市之一）", text.strip().removesuffix("市"), cities)


@dataclass(frozen=True)
class ChainFilter:
    """A flagship chain (`column` "chain") or one of its directions (`column` "direction")."""

    column: str
    name: str


def chain(text: str, contract: Contract) -> ChainFilter:
    """One of the plan's 11 flagship chains or 29 directions, by its name."""
    typed = text.strip()
    if typed in contract.chains:
        return ChainFilter("chain", typed)
    directions = [d for ds in contract.chains.values() for d in ds]
    if typed in directions:
        return ChainFilter("direction", typed)
    raise refusal("标志性产业链或产业链方向", typed, [*contract.chains, *directions])


def years(text: str) -> list[int]:
    """`2024` or a range `2020-2024` (both ends included), as the years in order."""
    typed = text.strip().replace("—", "-").replace("－", "-").replace("~", "-")
    first, sep, last = typed.partition("-")
    try:
        start, end = int(first), int(last if sep else first)
    except ValueError:
        raise InputError(f"年度应写成 2024 或范围 2020-2024，收到的是「{text}」。") from None
    if end < start:
        raise InputError(f"年度范围「{text}」的结束年早于起始年。")
    return list(range(start, end + 1))
