"""Row filters (`access.row_filters`): a vetted subset of Spark SQL, checked with sqlglot.

A filter runs inside every read of its consumer, so it may only compare the product's own columns with
literals through pure operators and a few pure scalar functions. Anything else (reflect/java_method into
the JVM, UDFs, subqueries, nondeterministic or unknown functions) is refused when the contract loads,
and again when a read applies the filter (`vetted_filter_sql`), which hands Spark the vetted tree as
sqlglot prints it rather than the raw text, so Spark never parses something sqlglot did not check.
"""

from __future__ import annotations

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.simplify import simplify

OPERATORS: tuple[type[exp.Expression], ...] = (
    exp.And, exp.Or, exp.Not, exp.Paren,
    exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.NullSafeEQ, exp.NullSafeNEQ,
    exp.In, exp.Between, exp.Is, exp.Like, exp.ILike,
    exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Neg, exp.DPipe,
    exp.Case, exp.If, exp.Cast, exp.TryCast, exp.DataType, exp.DataTypeParam, exp.Interval,
    exp.Column, exp.Identifier, exp.Literal, exp.Boolean, exp.Null,
)
# Pure scalar functions, by the class sqlglot parses them into (it maps aliases: nvl and ifnull are
# Coalesce, lcase is Lower, date_add is TsOrDsAdd, to_date is TsOrDsToDate, ...).
FUNCTIONS: tuple[type[exp.Func], ...] = (
    exp.Lower, exp.Upper, exp.Trim, exp.Initcap, exp.Length, exp.Substring, exp.Concat,
    exp.Coalesce, exp.Nullif, exp.Abs, exp.Round, exp.Floor, exp.Ceil,
    exp.CurrentDate, exp.CurrentTimestamp, exp.Year, exp.Quarter, exp.Month, exp.Day, exp.DayOfMonth,
    exp.DayOfWeek, exp.Extract, exp.DateTrunc, exp.TimestampTrunc, exp.DateDiff, exp.DateAdd, exp.DateSub,
    exp.TsOrDsAdd, exp.TsOrDsToDate, exp.AddMonths, exp.LastDay,
)
ALLOWED = ("comparisons, AND/OR/NOT, IN, BETWEEN, IS NULL, LIKE, CASE, CAST, arithmetic, literals, the "
           "product's columns and lower, upper, trim, initcap, length, substring, concat, coalesce, nullif, "
           "abs, round, floor, ceil, current_date, current_timestamp, year, quarter, month, day, dayofweek, "
           "extract, date_trunc, trunc, datediff, date_add, date_sub, add_months, last_day, to_date")


def _function_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Anonymous):
        return node.name.lower()  # reflect, java_method, a UDF: sqlglot does not know them
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return type(node).__name__.lower()


def _refused(node: exp.Expression) -> str | None:
    """Why `node` may not appear in a row filter, or None if it may."""
    if isinstance(node, (exp.Select, exp.Subquery, exp.Exists)):
        return "must not contain a subquery: a row filter sees one row at a time"
    if isinstance(node, (exp.AggFunc, exp.Window)):
        return "must not aggregate or use a window: a row filter sees one row at a time"
    if isinstance(node, exp.Var) and isinstance(node.parent, (exp.Interval, *FUNCTIONS)):
        return None  # a unit: INTERVAL 30 DAYS, date_trunc('MONTH', d)
    if isinstance(node, (*OPERATORS, *FUNCTIONS)):
        return None
    what = f"calls {_function_name(node)}" if isinstance(node, exp.Func) else f"uses {_function_name(node)}"
    return f"{what}, which a row filter may not: it may use only {ALLOWED}"


def _parse(predicate: str) -> exp.Expression | str:
    """The predicate's tree, or why it is not one predicate."""
    try:
        statements = [s for s in sqlglot.parse(predicate, read="spark") if s is not None]
    except SqlglotError as exc:
        return f"is not valid Spark SQL ({str(exc).splitlines()[0]})"
    if len(statements) != 1:
        return "must be one SQL predicate, not several statements"
    return statements[0]


def filter_problem(predicate: str, columns: dict[str, str]) -> str | None:
    """Why `predicate` is not a row filter over `columns`, or None if it is one."""
    tree = _parse(predicate)
    if isinstance(tree, str):
        return tree
    if not isinstance(tree, exp.Condition) or isinstance(tree, exp.Literal):
        return "must be a condition over the product's columns, e.g. region_name = 'EUROPE'"
    for node in tree.walk():
        problem = _refused(node)
        if problem:
            return problem
    qualified = sorted({c.sql() for c in tree.find_all(exp.Column) if c.table})
    if qualified:
        return f"names columns of another table: {', '.join(qualified)}; name the product's own columns unqualified"
    unknown = sorted({c.name for c in tree.find_all(exp.Column)} - set(columns))
    if unknown:
        return f"names columns not in the product: {', '.join(unknown)}"
    return None


def vetted_filter_sql(predicate: str, columns: dict[str, str]) -> str:
    """The Spark SQL a read applies for `predicate`: sqlglot's print of the vetted tree.
    ValueError if the predicate is not a row filter (a contract that bypassed validation)."""
    problem = filter_problem(predicate, columns)
    if problem:
        raise ValueError(f"row filter {predicate!r} {problem}")
    return sqlglot.parse_one(predicate, read="spark").sql(dialect="spark")


def _self_comparisons_true(node: exp.Expression) -> exp.Expression:
    # `x = x` is true on every row but NULL ones; for "does this filter restrict?" it counts as true.
    if isinstance(node, (exp.EQ, exp.GTE, exp.LTE, exp.NullSafeEQ)) and node.this == node.expression:
        return exp.true()
    return node


def always_true(predicate: str) -> bool:
    """Whether a valid filter restricts nothing: TRUE, 1 = 1, x = x, or an OR with such a branch."""
    tree = _parse(predicate)
    if isinstance(tree, str):
        return False
    try:
        simplified = simplify(tree.transform(_self_comparisons_true))
    except Exception:  # noqa: BLE001 - the simplifier is a heuristic here: never fail a lint over it
        return False
    return isinstance(simplified, exp.Boolean) and simplified.this is True
