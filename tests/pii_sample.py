"""A labelled sample for the PII probe, generated (deterministic seed), with precision and recall.

Columns of COLUMN_ROWS values, each labelled with the PII kind it holds or None: pure PII columns,
minority PII at 1 %, 5 % and 40 % among TPC-H-like comments and codes, PII embedded in free text, and
hard negatives (TPC-H comments, phone-like part numbers, SKU codes, dates, timestamps, prices, hashes,
UUIDs, IP addresses, version strings, TPC-H keys). Every value is labelled too (its own kind, or None).
Used by tests/test_pii_detection.py and bench/pii_detection.py.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections import Counter
from dataclasses import dataclass

SEED, COLUMN_ROWS = 20261201, 400
KINDS = ("email", "phone", "card_number", "person_name")

_FIRST = ["Anna", "James", "Fatima", "Carlos", "Ivan", "Grace", "Omar", "Emma", "Pierre", "Mei", "John", "Ahmed"]
_LAST = ["Smith", "Kowalski", "O'Neil", "Nguyen", "Garcia", "Tanaka", "Rossi", "Larsen", "Dubois", "Smith-Jones"]
_DOMAINS = ["example.com", "mail.org", "corp.co.uk", "uni.edu", "shop.io", "post.example.de"]
# TPC-H's text grammar (spec 4.2.2.10): comments are random sentences of these words.
_NOUNS = ("foxes ideas theodolites pinto beans instructions dependencies excuses platelets asymptotes courts "
          "dolphins multipliers sauternes warthogs frets dinos attainments somas Tiresias patterns forges braids "
          "frays warhorses dugouts notornis epitaphs pearls tithes waters orbits gifts sheaves depths").split()
_VERBS = ("sleep wake are cajole haggle nag use boost affix detect integrate maintain nod was lose sublate solve "
          "thrash promise engage hinder print x-ray breach eat grow impress mold poach serve run dazzle").split()
_ADJECTIVES = ("furious sly careful blithe quick fluffy slow quiet ruthless thin close dogged daring final ironic "
               "even bold").split()
_ADVERBS = ("sometimes always never furiously slyly carefully blithely quickly fluffily slowly quietly "
            "ironically").split()
_PREPOSITIONS = "about above across after against along among around atop before behind beneath beside by".split()
_TERMINATORS = [".", ";", ":", "?", "!", " --"]


@dataclass(frozen=True)
class LabelledColumn:
    name: str
    label: str | None  # the kind the column holds, or None
    values: list[str | None]
    labels: list[str | None]  # per value


def _luhn_complete(rng: random.Random, prefix: str, length: int) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    total = 0
    for i, digit in enumerate(int(c) for c in reversed(body)):
        if i % 2 == 0:  # doubled once the check digit is appended
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return body + str((10 - total % 10) % 10)


class _Values:
    def __init__(self, rng: random.Random):
        self.rng = rng

    def digits(self, n: int) -> str:
        return "".join(self.rng.choice("0123456789") for _ in range(n))

    def email(self) -> str:
        r = self.rng
        first, last = r.choice(_FIRST).lower(), r.choice(_LAST).lower().replace("'", "")
        local = r.choice([f"{first}.{last}{r.randint(1, 99)}", f"{first[0]}{last}", f"{first}_{last}+news",
                          f"{last.upper()}.{first}"])
        return f"{local}@{r.choice(_DOMAINS)}"

    def phone(self) -> str:
        d, r = self.digits, self.rng
        return r.choice([
            f"+1-{d(3)}-{d(3)}-{d(4)}", f"+1 ({d(3)}) {d(3)}-{d(4)}", f"({d(3)}) {d(3)}-{d(4)}",
            f"{d(3)}.{d(3)}.{d(4)}", f"{r.randint(10, 34)}-{d(3)}-{d(3)}-{d(4)}",  # TPC-H's own format
            f"+44 20 {d(4)} {d(4)}", f"+49 30 {d(8)}", f"+33 1 {d(2)} {d(2)} {d(2)} {d(2)}",
        ])

    def card(self) -> str:
        r = self.rng
        number = _luhn_complete(r, r.choice(["4", "51", "55", "37"]), 15 if r.random() < 0.2 else 16)
        if len(number) == 15:
            return r.choice([number, f"{number[:4]} {number[4:10]} {number[10:]}"])
        groups = [number[i:i + 4] for i in range(0, 16, 4)]
        return r.choice([number, " ".join(groups), "-".join(groups)])

    def name(self) -> str:
        r = self.rng
        middle = f"{r.choice('ABCDEFGHJK')}. " if r.random() < 0.2 else ""
        return f"{r.choice(_FIRST)} {middle}{r.choice(_LAST)}"

    def comment(self) -> str:
        r = self.rng
        words = []
        for _ in range(r.randint(1, 3)):
            words += [r.choice(_ADVERBS), r.choice(_ADJECTIVES), r.choice(_NOUNS), r.choice(_VERBS),
                      r.choice(_PREPOSITIONS), "the", r.choice(_ADJECTIVES), r.choice(_NOUNS)]
        return " ".join(words[: r.randint(4, len(words))]) + r.choice(_TERMINATORS)

    def embed(self, pii: str) -> str:
        r = self.rng
        return r.choice([
            f"{self.comment()} call me at {pii} after 5pm", f"contact {pii} for details",
            f"{self.comment()} ({pii}) {self.comment()}", f"ref: {pii}; {self.comment()}",
            f"customer wrote: my number is {pii}.", f"{pii} -- {self.comment()}",
        ])


def _negatives(v: _Values) -> dict[str, callable]:
    d, r = v.digits, v.rng
    return {
        "tpch_comment": v.comment,
        "part_number": lambda: r.choice([f"{d(2)}-{d(5)}-{d(2)}", f"PN-{d(3)}-{d(4)}", f"{d(4)}-{d(4)}-{d(2)}",
                                         f"{d(3)}.{d(3)}.{d(3)}", f"#{d(3)}-{d(2)}-{d(3)}", f"{d(5)} {d(5)}"]),
        "sku_code": lambda: r.choice([f"SKU-{d(5)}-BLU-XL", f"AB{d(2)}-CD{d(2)}-{d(6)}", f"X{d(1)}-{d(5)}-{d(1)}",
                                      f"{r.choice('ABCDE')}{d(10)}", f"MFGR#{d(2)}{d(2)}"]),
        "date": lambda: r.choice([f"199{r.randint(2, 8)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
                                  f"{r.randint(1, 28):02d}/{r.randint(1, 12):02d}/199{r.randint(2, 8)}"]),
        "timestamp": lambda: f"199{r.randint(2, 8)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} "
                             f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
        "price": lambda: r.choice([f"{r.randint(900, 104_950) / 100:.2f}", f"${r.randint(1, 9)},{d(3)}.{d(2)}",
                                   f"EUR {r.randint(1, 999)}.{d(2)}", f"{r.randint(1, 9)} {d(3)} {d(3)}.{d(2)}"]),
        "hash": lambda: r.choice([hashlib.sha256(d(12).encode()).hexdigest(), hashlib.md5(d(12).encode()).hexdigest()]),
        "uuid": lambda: str(uuid.UUID(int=r.getrandbits(128), version=4)),
        "ip_address": lambda: ".".join(str(r.randint(1, 254)) for _ in range(4)),
        "version": lambda: f"v{r.randint(1, 20)}.{r.randint(0, 99)}.{r.randint(0, 999)}",
        "tpch_key": lambda: r.choice([f"Customer#{d(9)}", f"Clerk#{d(9)}", f"Supplier#{d(9)}", d(7)]),
    }


def labelled_columns(seed: int = SEED, rows: int = COLUMN_ROWS) -> list[LabelledColumn]:
    rng = random.Random(seed)
    v = _Values(rng)
    pii = {"email": v.email, "phone": v.phone, "card_number": v.card, "person_name": v.name}
    negatives = _negatives(v)
    fillers = {"comments": negatives["tpch_comment"], "part_numbers": negatives["part_number"],
               "sku_codes": negatives["sku_code"]}
    columns = []

    def column(name, label, make_pii, share, filler, embedded=False):
        values, labels = [], []
        positives = set(rng.sample(range(rows), round(share * rows)))
        for i in range(rows):
            if i % 50 == 7:
                values.append(None)  # nulls, as real columns have
                labels.append(None)
            elif i in positives:
                values.append(v.embed(make_pii()) if embedded else make_pii())
                labels.append(label)
            else:
                values.append(filler())
                labels.append(None)
        columns.append(LabelledColumn(name, label, values, labels))

    for kind, make in pii.items():
        column(f"pure_{kind}", kind, make, 1.0, v.comment)
    for kind in ("email", "phone", "card_number"):
        for share, (among, filler) in zip((0.01, 0.05, 0.4), fillers.items()):
            column(f"{kind}_{share:.0%}_among_{among}", kind, pii[kind], share, filler)
        for share in (0.02, 0.4):
            column(f"{kind}_embedded_{share:.0%}", kind, pii[kind], share, v.comment, embedded=True)
    column("person_name_40%", "person_name", v.name, 0.4, v.comment)
    for name, make in negatives.items():
        column(f"negative_{name}", None, lambda: None, 0.0, make)
    column("negative_mixed_codes", None, lambda: None, 0.0, lambda: rng.choice(list(negatives.values()))())
    return columns


def score(pairs: list[tuple[str | None, str | None]]) -> dict[str, dict[str, float]]:
    """Precision and recall per kind and overall (micro) from (label, predicted) pairs; None is no PII."""
    counts = {k: Counter() for k in KINDS}
    for label, predicted in pairs:
        if predicted is not None:
            counts[predicted]["tp" if predicted == label else "fp"] += 1
        if label is not None and predicted != label:
            counts[label]["fn"] += 1
    counts["overall"] = sum(counts.values(), Counter())
    return {k: {"precision": c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else 1.0,
                "recall": c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else 1.0,
                "tp": c["tp"], "fp": c["fp"], "fn": c["fn"]} for k, c in counts.items()}


def value_level(columns: list[LabelledColumn]) -> dict[str, dict[str, float]]:
    from mesh_platform.governance.pii import classify

    return score([(label, classify(value)) for c in columns for value, label in zip(c.values, c.labels)
                  if value is not None])


def column_level(spark, columns: list[LabelledColumn], thresholds=None) -> tuple[dict, dict]:
    """The gate's own decision (PiiProbe in one aggregation) per column: (scores, findings)."""
    from pyspark.sql.types import StringType, StructField, StructType

    from mesh_platform.checks.metrics import MetricPlan
    from mesh_platform.governance.gate import PiiProbe, PiiThresholds
    from mesh_platform.governance.policies import council_policies_file, load_policy_file

    if thresholds is None:
        thresholds = PiiThresholds.of(load_policy_file(council_policies_file()).rules.get("SECURITY-002"))
    names = [f"c{i}" for i in range(len(columns))]  # the labels' names hold %, which column names may not
    schema = StructType([StructField(n, StringType()) for n in names])
    df = spark.createDataFrame(list(zip(*(c.values for c in columns))), schema)
    probe = PiiProbe(names)
    found = probe.findings(MetricPlan(probe.metrics()).compute(df), thresholds)
    by_label = {c.name: found.get(n) for c, n in zip(columns, names)}
    scores = score([(c.label, (by_label[c.name] or {}).get("kind")) for c in columns])
    return scores, by_label
