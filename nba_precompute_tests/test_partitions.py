"""The partitions definition: production covers every season, the demo its own season."""

import subprocess
import sys


def _keys(env: dict) -> list[str]:
    code = "from nba_precompute.partitions import daily_partitions as p; k = p.get_partition_keys(); print(k[0], k[-1], len(k))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_the_demo_bounds_make_the_partitions_the_demo_season(monkeypatch):
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("NBA_PRECOMPUTE_")}
    first, last, n = _keys({**env, "NBA_PRECOMPUTE_START_DATE": "2021-10-19", "NBA_PRECOMPUTE_END_DATE": "2022-04-10"})
    assert (first, last, n) == ("2021-10-19", "2022-04-10", "174")
    first, last, n = _keys(env)  # production: from the first supported opener to tomorrow
    assert first == "2021-10-19" and int(n) > 1800
