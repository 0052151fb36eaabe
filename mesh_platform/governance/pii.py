"""Detecting personal data in values: the patterns run in Spark (RLIKE) and in Python alike.

Patterns are anchored and use only syntax that Java's, Python's and Rust's (Sail) regexes share. A column "looks like
PII" when at least `COLUMN_SHARE` of its non-null values match one kind. Card-like matches are
confirmed with the Luhn checksum on a few examples, because long digit runs are also ordinary codes.
"""

from __future__ import annotations

import re

# A capitalised name word: Smith, O'Neil, Smith-Jones. Title-case place names ("New York") also match:
# an accepted false positive, measured in tests/data/pii_labelled_sample.csv.
_NAME_WORD = r"[A-Z](?:[a-z]+|'[A-Z][a-z]+)(?:-[A-Z][a-z]+)?"
# A phone number: country code, area code (maybe in brackets), two digit groups. At least one separator
# or a leading + must be present: plain digit runs are identifiers, not phone numbers.
_PHONE_PARTS = (r"\+?", "[0-9]{1,3}", "[-. ]?", r"\(?", "[0-9]{2,4}", r"\)?", "[-. ]?", "[0-9]{3,4}", "[-. ]?", "[0-9]{3,4}")


def _at_least_one_of(parts: tuple[str, ...]) -> str:
    """`parts` in sequence with at least one of their optional ones present, without look-ahead, which
    Rust's regex (Sail) lacks: one alternative per optional part, that part made mandatory."""
    optional = [i for i, part in enumerate(parts) if part.endswith("?")]
    branches = ["".join(p[:-1] if i == required else p for i, p in enumerate(parts)) for required in optional]
    return "^(?:" + "|".join(branches) + ")$"


PATTERNS: dict[str, str] = {
    "email": r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$",
    "phone": _at_least_one_of(_PHONE_PARTS),
    "card_number": r"^(?:[0-9][ -]?){12,18}[0-9]$",
    "person_name": rf"^{_NAME_WORD} (?:[A-Z]\.? )?{_NAME_WORD}$",
}
COLUMN_SHARE = 0.5
_COMPILED = {kind: re.compile(pattern) for kind, pattern in PATTERNS.items()}


def luhn_valid(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    checksum = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return len(digits) >= 13 and checksum % 10 == 0


def classify(value: str) -> str | None:
    """The PII kind of one value, or None (the same decision the Spark path makes per value)."""
    for kind, pattern in _COMPILED.items():
        if pattern.match(value) and (kind != "card_number" or luhn_valid(value)):
            return kind
    return None
