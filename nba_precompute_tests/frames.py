"""Small typed frames for tests: a table's columns, its types, NULL where a record says nothing."""

from __future__ import annotations

import pandas as pd

from nba_precompute.phase3.contract import Table


def table_frame(table: Table, records: list[dict]) -> pd.DataFrame:
    """A frame with the table's columns and types (dates stay datetime.date, as Parquet reads them)."""
    df = pd.DataFrame.from_records(records, columns=table.column_names)
    for col, typ in table.columns:
        if typ == "INT64":
            df[col] = pd.array(df[col], dtype="Int64")
        elif typ == "FLOAT64":
            df[col] = pd.to_numeric(df[col]).astype("float64")
        elif typ == "BOOL":
            df[col] = pd.array(df[col].astype("object"), dtype="boolean")
        elif typ == "TIMESTAMP":
            df[col] = pd.to_datetime(df[col], utc=True)
        else:
            df[col] = df[col].astype("object")
    return df
