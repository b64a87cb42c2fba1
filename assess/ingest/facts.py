"""What a sheet's rows settle for all of them, which a chunk of rows alone cannot know.

Two things in a sheet depend on every row of it: the unmapped columns that hold data anywhere (each is kept as extra
data in every row's JSON, and reported once), and, for a percent column, whether its plain numbers are all fractions
(then every one of them is read as a share of 1). A chunk is validated with what the sheet's rows settle (`Settled`);
what each chunk saw (`Seen`) is merged, so that the caller can tell whether the chunks read so far were validated
with what the whole sheet settles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class Percent:
    """The plain numbers of a percent column: the largest, whether one is above zero, whether none is below."""

    top: Decimal | None = None
    positive: bool = False
    non_negative: bool = True

    def merge(self, other: Percent) -> Percent:
        tops = [t for t in (self.top, other.top) if t is not None]
        return Percent(
            max(tops) if tops else None, self.positive or other.positive, self.non_negative and other.non_negative
        )

    @property
    def fractions(self) -> bool:
        return self.top is not None and self.top <= 1 and self.positive and self.non_negative


@dataclass(frozen=True)
class Settled:
    """What a sheet's rows settle: its unmapped columns with data (by index), and per percent column (by index)
    whether its plain numbers are fractions."""

    filled: frozenset[int] = frozenset()
    fractions: dict[int, bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Seen:
    """What the rows validated so far hold."""

    filled: frozenset[int] = frozenset()
    percents: dict[int, Percent] = field(default_factory=dict)

    def merge(self, other: Seen) -> Seen:
        percents = dict(self.percents)
        for index, percent in other.percents.items():
            percents[index] = percents[index].merge(percent) if index in percents else percent
        return Seen(self.filled | other.filled, percents)

    def settled(self) -> Settled:
        return Settled(self.filled, {index: p.fractions for index, p in self.percents.items()})
