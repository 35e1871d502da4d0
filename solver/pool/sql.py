"""Rows to and from PostgreSQL records, by field name: a field added to a row type and to
its table needs nothing else (the stores' shared helpers)."""
from __future__ import annotations

from dataclasses import fields


def columns(row_type, sql: dict[str, str] | None = None) -> str:
    """The SELECT list of a row type: its fields by name, SQL[field] where a field is
    computed or named otherwise in the table."""
    sql = sql or {}
    return ", ".join(f"{sql[f.name]} AS {f.name}" if f.name in sql else f.name
                     for f in fields(row_type))


def row(row_type, record):
    """A row built from a record by field name (arrays become lists)."""
    values = {f.name: record[f.name] for f in fields(row_type)}
    for name in ("permutation", "parents"):
        if name in values:
            values[name] = list(values[name])
    return row_type(**values)


def updated(status: str) -> int:
    """How many rows an UPDATE or DELETE touched, from asyncpg's status string."""
    return int(status.split()[-1])
