"""Every hand-written SQL statement, per dialect ("duckdb" or "bigquery"), in one module.

Identifiers come from code (the table definitions), never from user strings; `identifier()`
still validates them so a bad configuration value cannot become SQL.
"""

from __future__ import annotations

import re

from nba_precompute.phase3.contract import Table
from nba_precompute.registry import DECLARATIONS
from nba_precompute.tables import DEPENDENCY_CHECKS, FAILURES

_TYPES = {
    "duckdb": {
        "STRING": "VARCHAR", "DATE": "DATE", "INT64": "BIGINT", "FLOAT64": "DOUBLE",
        "BOOL": "BOOLEAN", "TIMESTAMP": "TIMESTAMPTZ",
    },
    "bigquery": {
        "STRING": "STRING", "DATE": "DATE", "INT64": "INT64", "FLOAT64": "FLOAT64",
        "BOOL": "BOOL", "TIMESTAMP": "TIMESTAMP",
    },
}

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROJECT = re.compile(r"^[a-z][a-z0-9\-]{4,28}[a-z0-9]$")

# BigQuery clustering per table: each Phase 4 table by its entity; failures by processor and category.
CLUSTERING = {
    **{d.table.name: (d.entity,) for d in DECLARATIONS.values()},
    FAILURES.name: ("processor_name", "failure_category"),
    DEPENDENCY_CHECKS.name: ("processor_name", "upstream_table"),
}


def identifier(name: str) -> str:
    if not _IDENTIFIER.match(name or ""):
        raise ValueError(f"invalid SQL identifier {name!r}")
    return name


def project_id(name: str) -> str:
    if not _PROJECT.match(name or ""):
        raise ValueError(f"invalid Google Cloud project id {name!r}")
    return name


def qualified(table: Table, dialect: str, project: str | None = None) -> str:
    ds, name = identifier(table.dataset), identifier(table.name)
    if dialect == "bigquery":
        return f"`{project_id(project)}.{ds}.{name}`" if project else f"`{ds}.{name}`"
    return f"{ds}.{name}"


def column_type(logical: str, dialect: str) -> str:
    return _TYPES[dialect][logical]


def create_schema(dataset: str, dialect: str, project: str | None = None) -> str:
    if dialect == "bigquery":
        target = f"`{project_id(project)}.{identifier(dataset)}`" if project else f"`{identifier(dataset)}`"
        return f"CREATE SCHEMA IF NOT EXISTS {target}"
    return f"CREATE SCHEMA IF NOT EXISTS {identifier(dataset)}"


def create_table(table: Table, dialect: str, project: str | None = None) -> str:
    cols = ",\n  ".join(
        f"{identifier(c)} {column_type(t, dialect)}"
        + (" NOT NULL" if c in table.not_null and dialect == "bigquery" else "")
        for c, t in table.columns
    )
    ddl = f"CREATE TABLE IF NOT EXISTS {qualified(table, dialect, project)} (\n  {cols}\n)"
    if dialect == "bigquery" and table.date_column == "analysis_date":
        ddl += f"\nPARTITION BY {identifier(table.date_column)}"
        if table.name in CLUSTERING:
            ddl += "\nCLUSTER BY " + ", ".join(identifier(c) for c in CLUSTERING[table.name])
    return ddl


def delete_dates(table: Table, dialect: str, dates_param: str, project: str | None = None,
                 processor: bool = False) -> str:
    """Delete the rows of a list of dates (and, for the failure table, of one processor)."""
    where = f"{identifier(table.date_column)} IN UNNEST(@{dates_param})" if dialect == "bigquery" else (
        f"{identifier(table.date_column)} IN (SELECT d FROM {identifier(dates_param)})"
    )
    if processor:
        where += " AND processor_name = " + ("@processor" if dialect == "bigquery" else "?")
    return f"DELETE FROM {qualified(table, dialect, project)} WHERE {where}"


def delete_range(table: Table, dialect: str, project: str | None = None) -> str:
    col = identifier(table.date_column)
    if dialect == "bigquery":
        return f"DELETE FROM {qualified(table, dialect, project)} WHERE {col} BETWEEN @start AND @end"
    return f"DELETE FROM {qualified(table, dialect, project)} WHERE {col} BETWEEN ? AND ?"


def insert_from(table: Table, source: str, dialect: str, project: str | None = None) -> str:
    cols = ", ".join(identifier(c) for c in table.column_names)
    return f"INSERT INTO {qualified(table, dialect, project)} ({cols}) SELECT {cols} FROM {source}"


def select_range(table: Table, dialect: str, columns: list[str] | None = None, project: str | None = None,
                 bounded: bool = True) -> str:
    cols = ", ".join(identifier(c) for c in (columns or table.column_names))
    sql = f"SELECT {cols} FROM {qualified(table, dialect, project)}"
    if bounded:
        col = identifier(table.date_column)
        sql += f" WHERE {col} BETWEEN " + ("@start AND @end" if dialect == "bigquery" else "? AND ?")
    return sql
