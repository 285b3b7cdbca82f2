"""Quoting for the SQL we write as text (DuckDB reads lake files by path, COPY writes them; PostgreSQL's setval
names a table). Every path, name and pattern spliced into such SQL goes through these two functions: a file
named `it's.parquet` or a folder with a quote in it is data, never SQL. Values that can be bound (`?`) are
bound instead."""

from __future__ import annotations

from pathlib import PurePath


def sql_literal(value: str | PurePath) -> str:
    """A string literal: single quotes, each quote inside doubled (backslashes are not escapes in DuckDB,
    PostgreSQL or SQLite)."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted identifier: double quotes, each double quote inside doubled."""
    return '"' + name.replace('"', '""') + '"'
