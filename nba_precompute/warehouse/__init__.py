"""Storage: the embedded DuckDB warehouse (default) and BigQuery (production).

Both implement the same small interface (`Warehouse`), selected in one place
(`nba_precompute.resources.warehouse_from_config`). Dialect-specific SQL lives in `sql.py`.
"""

from nba_precompute.warehouse.base import Warehouse, WarehouseError, WarehouseInputError

__all__ = ["Warehouse", "WarehouseError", "WarehouseInputError"]
