"""A governance finding: which rule a contract breaks, where, and how to fix it (lint, versioning, the gate)."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: str
    product: str
    file: str
    field: str
    message: str
    remediation: str

    def line(self) -> str:
        return f"{self.severity} {self.rule} {self.file}: {self.field}: {self.message}. Fix: {self.remediation}"

    def as_dict(self) -> dict:
        return asdict(self)


def critical(violations: list[Violation]) -> list[Violation]:
    return [v for v in violations if v.severity == "CRITICAL"]
