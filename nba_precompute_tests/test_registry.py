"""The asset registry: every per-asset fact is derived from one declaration per asset."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from nba_precompute import registry
from nba_precompute.checks.registry import CHECK_NAMES
from nba_precompute.checks.candidates import CANDIDATE_INPUTS
from nba_precompute.tables import MLFS, PCF, PDC, PSZA, TDZA
from nba_precompute.warehouse.sql import CLUSTERING

PACKAGE = Path(registry.__file__).parent


def test_the_five_assets_in_producer_first_order_with_their_tables_and_entities():
    assert registry.ASSET_NAMES == ("psza", "tdza", "pdc", "pcf", "mlfs")
    assert dict(registry.ASSET_TABLES) == {"psza": PSZA, "tdza": TDZA, "pdc": PDC, "pcf": PCF, "mlfs": MLFS}
    assert dict(registry.ENTITY_COLUMN) == {
        "psza": "player_lookup", "tdza": "team_abbr", "pdc": "player_lookup", "pcf": "player_lookup",
        "mlfs": "player_lookup",
    }
    assert registry.SLATE_ASSETS == ("pdc", "pcf", "mlfs")


def test_upstream_and_downstream_are_derived_from_what_each_asset_reads():
    assert registry.upstream_assets("mlfs") == ["pdc", "pcf", "psza", "tdza"]
    assert dict(registry.DOWNSTREAM) == {
        "psza": ("pdc", "pcf", "mlfs"), "tdza": ("pcf", "mlfs"), "pdc": ("mlfs",), "pcf": ("mlfs",), "mlfs": (),
    }
    assert [t.name for t in registry.phase3_inputs("pcf")] == [
        "upcoming_player_game_context", "upcoming_team_game_context",
    ]


def test_rules_checks_candidates_and_clustering_come_from_the_declarations():
    assert [r.number for r in registry.RULES] == list(range(1, 16))
    assert [r.number for r in registry.rules_for("pcf")] == [7, 8, 9, 10]
    assert CHECK_NAMES["psza"][-1] == "zone_rates_sum" and "zone_rates_sum" not in CHECK_NAMES["tdza"]
    assert [a for a in registry.ASSET_NAMES if "non_constant_features" in CHECK_NAMES[a]] == ["pcf", "mlfs"]
    assert {a: (t.name, mode) for a, (t, mode) in CANDIDATE_INPUTS.items()} == {
        "psza": ("player_game_summary", "history"), "tdza": ("team_defense_game_summary", "history"),
        "pdc": ("upcoming_player_game_context", "on_date"), "pcf": ("upcoming_player_game_context", "on_date"),
        "mlfs": ("upcoming_player_game_context", "on_date"),
    }
    assert CLUSTERING["team_defense_zone_analysis"] == ("team_abbr",)
    assert CLUSTERING["ml_feature_store_v2"] == ("player_lookup",)


def test_an_unknown_asset_names_the_known_ones():
    with pytest.raises(KeyError, match="unknown asset 'xyz'; assets are psza, tdza, pdc, pcf, mlfs"):
        registry.get("xyz")


@pytest.mark.parametrize("asset", registry.ASSET_NAMES)
def test_each_short_asset_name_is_spelled_in_at_most_two_modules_of_the_package(asset):
    pattern = re.compile(rf"[\"']{asset}[\"']")
    spelled = sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text()))
    assert 1 <= len(spelled) <= 2, spelled


def test_loading_the_code_location_does_not_import_the_demo_generator(tmp_path):
    code = "import sys, nba_precompute.definitions; print(any(m.startswith('nba_precompute_demo') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"NBA_PRECOMPUTE_WAREHOUSE": str(tmp_path / "w.duckdb"), "PATH": "/usr/bin:/bin"})
    assert out.stdout.strip() == "False"
