"""Column helpers that encode the mesh's interoperability conventions for transforms."""

from __future__ import annotations

from pyspark.sql import Column
from pyspark.sql import functions as F

MONEY = "decimal(18,2)"


def money(column: Column | str) -> Column:
    """Money is decimal(18,2), rounded half-up to 2 places (Spark rounds decimals HALF_UP)."""
    return F.round(F.col(column) if isinstance(column, str) else column, 2).cast(MONEY)


def identifier(column: Column | str) -> Column:
    """Identifiers are the decimal text of the source key."""
    return (F.col(column) if isinstance(column, str) else column).cast("string")
