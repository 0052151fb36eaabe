"""Detecting personal data in values: the patterns run in Spark and in Python alike.

E-mails, phone numbers and card numbers are searched for anywhere in a value ("call me at +1 415 ...",
"contact jane@example.com"), so free-text columns are probed too; personal names only as the whole
value (a capitalised word pair inside a sentence is no evidence of a person). Each pattern captures the
match as group 1, between explicit boundaries instead of look-around, which Rust's regex (Sail) lacks:
the syntax is what Java's, Python's and Rust's regexes share. Card matches must pass the Luhn checksum,
because long digit runs are also ordinary codes. A value holds every kind found in it.
"""

from __future__ import annotations

import re
from functools import reduce

from pyspark.sql import Column
from pyspark.sql import functions as F

# A capitalised name word: Smith, O'Neil, Smith-Jones. Title-case place names ("New York") also match:
# an accepted false positive, measured in tests/data/pii_labelled_sample.csv.
_NAME_WORD = r"[A-Z](?:[a-z]+|'[A-Z][a-z]+)(?:-[A-Z][a-z]+)?"
# A phone number: country code, area code (maybe in brackets), two digit groups, the last of four digits
# (so dotted quads such as IP addresses are not phones). At least one separator or a leading + must be
# present: plain digit runs are identifiers, not phone numbers.
_PHONE_PARTS = (r"\+?", "[0-9]{1,3}", "[-. ]?", r"\(?", "[0-9]{2,4}", r"\)?", "[-. ]?", "[0-9]{3,4}", "[-. ]?",
                "[0-9]{4}")
# (415) 555-0123, and a + with digit groups of any length: +33 1 23 45 67 89.
_NANP_BRACKETS = r"\([0-9]{3}\) ?[0-9]{3}[-. ][0-9]{4}"
_INTERNATIONAL = r"\+[0-9]{1,3}[-. ][0-9]{1,4}(?:[-. ][0-9]{2,4}){2,4}"
# A match must not continue a longer token: "SKU-A4155551234", "1998-05-10-12345678" and the UUID
# "36140783-7066-4551-b2a2-fb8274824373" hold no phone number, and a run of spaced digit groups (a card
# number "4111 1111 1111 1111", a price "1 234 567.89") holds none either: a space is a boundary only
# with no digit across it. So phone numbers and card numbers never match the same text.
_BEFORE = "(?:^|[^- 0-9A-Za-z]|[^0-9] )"
_AFTER = "(?:[^- 0-9A-Za-z]| [^0-9]| ?$)"


def _at_least_one_of(parts: tuple[str, ...]) -> str:
    """`parts` in sequence with at least one of their optional ones present, without look-ahead: one
    alternative per optional part, that part made mandatory."""
    optional = [i for i, part in enumerate(parts) if part.endswith("?")]
    return "|".join("".join(p[:-1] if i == required else p for i, p in enumerate(parts)) for required in optional)


PATTERNS: dict[str, str] = {
    "email": r"([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})",
    "card_number": rf"{_BEFORE}((?:[0-9][ -]?){{12,18}}[0-9]){_AFTER}",
    "phone": rf"{_BEFORE}((?:{_at_least_one_of(_PHONE_PARTS)}|{_NANP_BRACKETS}|{_INTERNATIONAL})){_AFTER}",
    "person_name": rf"^({_NAME_WORD} (?:[A-Z]\.? )?{_NAME_WORD})$",
}
# Kinds whose match is weak evidence alone: decided by a column share, never by a count (see policies.yaml).
WHOLE_VALUE_KINDS = frozenset({"person_name"})
_COMPILED = {kind: re.compile(pattern) for kind, pattern in PATTERNS.items()}
_CARD_DIGITS = 19


def luhn_valid(value: str) -> bool:
    digits = [int(c) for c in value if c.isdigit()]
    checksum = 0
    for i, digit in enumerate(reversed(digits)):
        if i % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        checksum += digit
    return 13 <= len(digits) <= _CARD_DIGITS and checksum % 10 == 0


def find(value: str) -> dict[str, str]:
    """{kind: matched text} of the patterns found in `value`, as the Spark path (`searches`) finds them
    (a text may hold an e-mail and a phone number); card matches are not Luhn-checked here."""
    found = {}
    for kind, pattern in _COMPILED.items():
        match = pattern.search(value)  # the first match, as Spark's regexp_extract
        if match:
            found[kind] = match.group(1)
    return found


def classify(value: str) -> str | None:
    """The first kind `value` holds, in `PATTERNS` order (a card only if Luhn-valid), or None."""
    return next((k for k, text in find(value).items() if k != "card_number" or luhn_valid(text)), None)


def searches(value: Column) -> dict[str, Column]:
    """Per kind, the text of `value` its pattern finds ("" for none, null for a value that cannot hold
    one): expressions to aggregate, in the caller's pass. The Luhn check of card matches is left to the
    caller, on examples: in the plan it made every aggregation twice as slow, even over text without
    a digit (its expression is too large for the JIT).

    A search runs only on values that can hold a match: an e-mail has an @, a card number a digit, a
    phone number a digit and a separator (+, -, ., space or bracket), a name starts with a capital and
    has a space. Those tests are byte searches, most text (TPC-H's comments) fails them, and a regex costs
    far more: a copy of the value for the engine, then a try at every start position. The JVM evaluated
    each aggregate's input on its own here (no common subexpression), so this saving counts thrice.
    """

    def any_of(chars: str) -> Column:
        return reduce(Column.__or__, [value.contains(c) for c in chars])

    digit = any_of("0123456789")
    can_hold = {"email": value.contains("@"), "phone": digit & any_of("+-. ("), "card_number": digit,
                "person_name": F.substring(value, 1, 1).between("A", "Z") & value.contains(" ") & ~digit}
    return {kind: F.when(can_hold[kind], F.regexp_extract(value, pattern, 1)) for kind, pattern in PATTERNS.items()}


def mask(kind: str, text: str) -> str:
    """A matched value as a reviewer may see it: its shape, never its content."""
    if kind == "email":
        local, _, domain = text.partition("@")
        host, _, tld = domain.rpartition(".")
        return f"{local[:1]}***@{host[:1]}***.{tld}"
    if kind == "person_name":
        return " ".join(f"{word[:1]}***" for word in text.split())
    keep = 4 if kind == "card_number" else 2  # the last digits, as receipts print them
    hidden = sum(c.isdigit() for c in text) - keep  # digits before those
    masked, seen = [], 0
    for group in re.split(r"([0-9]+)", text):
        if not group.isdigit():
            masked.append(group)
        elif seen == 0 and kind == "phone" and text.startswith("+"):
            masked.append(group)  # the country code: a region, not a person
        elif seen + len(group) <= hidden:
            masked.append("***")
        else:
            masked.append(("***" if seen == 0 else "") + group[max(0, hidden - seen):])
        seen += len(group) if group.isdigit() else 0
    return "".join(masked)
