"""The five Phase 4 assets, collected from their declarations (features/<module>.py).

Everything the package knows per asset is derived here from `AssetDeclaration`s: names in
producer-first order, tables, entity columns, the slate assets, upstream / downstream assets,
dependency rules. Adding an asset = one feature module with its DECLARATION, listed below.
Pure: no Dagster import.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from nba_precompute.declaration import AssetDeclaration
from nba_precompute.dependencies import Rule
from nba_precompute.features import composite_factors, daily_cache, feature_store, shot_zones, team_defense
from nba_precompute.phase3.contract import Table

# Producer-first: every asset after the assets it reads.
_DECLARED: tuple[AssetDeclaration, ...] = tuple(
    m.DECLARATION for m in (shot_zones, team_defense, daily_cache, composite_factors, feature_store)
)

DECLARATIONS: Mapping[str, AssetDeclaration] = MappingProxyType({d.name: d for d in _DECLARED})
ASSET_NAMES: tuple[str, ...] = tuple(DECLARATIONS)
ASSET_TABLES: Mapping[str, Table] = MappingProxyType({d.name: d.table for d in _DECLARED})
ENTITY_COLUMN: Mapping[str, str] = MappingProxyType({d.name: d.entity for d in _DECLARED})
SLATE_ASSETS: tuple[str, ...] = tuple(d.name for d in _DECLARED if d.slate_based)
ASSET_OF_TABLE: Mapping[str, str] = MappingProxyType({d.table.fqn: d.name for d in _DECLARED})
RULES: tuple[Rule, ...] = tuple(sorted((r for d in _DECLARED for r in d.rules), key=lambda r: r.number))


def get(asset: str) -> AssetDeclaration:
    try:
        return DECLARATIONS[asset]
    except KeyError:
        raise KeyError(f"unknown asset {asset!r}; assets are {', '.join(ASSET_NAMES)}") from None


def output_columns(asset: str) -> list[str]:
    """Columns a pure function returns for `asset` (the table's, without created_at)."""
    return get(asset).output_columns


def upstream_assets(asset: str) -> list[str]:
    """The Phase 4 assets `asset` reads, in its read order."""
    return [ASSET_OF_TABLE[t.fqn] for t in get(asset).reads if t.fqn in ASSET_OF_TABLE]


def phase3_inputs(asset: str) -> list[Table]:
    return [t for t in get(asset).reads if t.fqn not in ASSET_OF_TABLE]


DOWNSTREAM: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {a: tuple(b for b in ASSET_NAMES if a in upstream_assets(b)) for a in ASSET_NAMES}
)
"""asset -> its direct Phase 4 consumers."""


def rules_for(asset: str) -> tuple[Rule, ...]:
    return get(asset).rules


def rule_for(asset: str, upstream_fqn: str) -> Rule | None:
    """The rule of `asset` on an upstream table (used by coverage to re-evaluate a clause)."""
    return next((r for r in rules_for(asset) if r.upstream.fqn == upstream_fqn), None)


def _check_order() -> None:
    for i, d in enumerate(_DECLARED):
        late = [u for u in upstream_assets(d.name) if ASSET_NAMES.index(u) >= i]
        if late:
            raise ValueError(f"asset {d.name} is declared before its upstream {', '.join(late)}")


_check_order()
