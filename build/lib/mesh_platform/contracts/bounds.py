"""Date bounds of `min` / `max` rules: an absolute date or one relative to the run's as-of date.

Syntax (the whole grammar): `YYYY-MM-DD`, `as_of`, or `as_of + N unit` / `as_of - N unit` with unit
one of day(s), week(s), month(s), year(s). A bound is resolved against the as-of date of the run that
builds the product (`ProductRun.as_of`), never against the wall clock: a rebuild of a past as-of date
is judged as it was then.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

AS_OF = "as_of"
UNITS = {"day": "days", "week": "weeks", "month": "months", "year": "years"}
_RELATIVE = re.compile(r"^as_of(?:\s*([+-])\s*(\d+)\s*(day|week|month|year)s?)?$")
SYNTAX_HINT = "write a number, a date YYYY-MM-DD, or as_of [+|- N days|weeks|months|years], e.g. as_of - 30 years"


@dataclass(frozen=True)
class DateBound:
    """`absolute` when the bound is a fixed date; else `offset` `unit`s from the as-of date."""

    absolute: date | None = None
    offset: int = 0  # signed
    unit: str = "days"

    @property
    def relative(self) -> bool:
        return self.absolute is None

    def resolve(self, as_of: date) -> date:
        if self.absolute is not None:
            return self.absolute
        if self.unit == "days":
            return as_of + timedelta(days=self.offset)
        if self.unit == "weeks":
            return as_of + timedelta(weeks=self.offset)
        months = self.offset * (12 if self.unit == "years" else 1)
        year, month = divmod(as_of.month - 1 + months, 12)
        year += as_of.year
        # 29 February minus a year is 28 February: clamp to the target month's last day
        return date(year, month + 1, min(as_of.day, calendar.monthrange(year, month + 1)[1]))

    def text(self) -> str:
        """The canonical spelling, as written back to YAML and ODCS."""
        if self.absolute is not None:
            return self.absolute.isoformat()
        if not self.offset:
            return AS_OF
        unit = self.unit if abs(self.offset) != 1 else self.unit.removesuffix("s")
        return f"{AS_OF} {'+' if self.offset > 0 else '-'} {abs(self.offset)} {unit}"

    def order_key(self) -> tuple[int, int] | None:
        """Comparable only between bounds of the same kind: relative ones by their offset in days (a
        month as 30, a year as 365: enough to tell which of two offsets is later)."""
        if self.absolute is not None:
            return (0, self.absolute.toordinal())
        days = {"days": 1, "weeks": 7, "months": 30, "years": 365}[self.unit]
        return (1, self.offset * days)


def parse_date_bound(value: str) -> DateBound:
    """Raises ValueError with the fix when `value` is neither a date nor an as_of expression."""
    text = value.strip()
    found = _RELATIVE.match(text)
    if found:
        sign, amount, unit = found.groups()
        if sign is None:
            return DateBound()
        return DateBound(offset=int(amount) * (1 if sign == "+" else -1), unit=UNITS[unit])
    try:
        return DateBound(absolute=date.fromisoformat(text))
    except ValueError:
        raise ValueError(f"{value!r} is not a bound; {SYNTAX_HINT}") from None
