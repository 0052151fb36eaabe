"""Contract column types and their Spark equivalents.

Contracts use Spark SQL type names so that a domain engineer writes what `df.printSchema()` shows.
"""

from __future__ import annotations

import re

from pyspark.sql import types as T

_SIMPLE: dict[str, T.DataType] = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "bigint": T.LongType(),
    "double": T.DoubleType(),
    "boolean": T.BooleanType(),
    "date": T.DateType(),
    "timestamp": T.TimestampType(),
}
DECIMAL = re.compile(r"^decimal\((\d+),\s*(\d+)\)$")
_ARRAY = re.compile(r"^array<(.+)>$")

SUPPORTED_TYPES = [*_SIMPLE, "decimal(p,s)", "array<type>"]


def spark_type(name: str) -> T.DataType:
    """The Spark type of a contract type name; ValueError for an unknown one."""
    name = name.strip().lower()
    if name in _SIMPLE:
        return _SIMPLE[name]
    if match := DECIMAL.match(name):
        precision, scale = int(match[1]), int(match[2])
        if not 0 < precision <= 38 or scale > precision:
            raise ValueError(f"decimal({precision},{scale}) is out of range")
        return T.DecimalType(precision, scale)
    if match := _ARRAY.match(name):
        return T.ArrayType(spark_type(match[1]))
    raise ValueError(f"unknown type {name!r}")


def is_supported_type(name: str) -> bool:
    try:
        spark_type(name)
    except ValueError:
        return False
    return True
