"""The Dagster wiring of the code location, loaded by `dg.load_from_defs_folder` (definitions.py).

Each module holds one `@dg.definitions` function, evaluated when the code location loads (so the
warehouse target is read from the settings of that load, not at import):

* phase3.py     the six Phase 3 tables as external assets
* phase4.py     the Phase 4 multi-asset and its named checks, the daily job and schedule
* coverage.py   the `coverage_report` asset and its morning schedule
* automation.py the heal sensor
* operations.py the daily cycle: arrival, freshness, volume and run-failure sensors, freshness checks
* resources.py  the warehouse resource and the in-process executor

Domain logic lives outside this folder (pipeline.py, features/, checks/, coverage/): nothing
here decides an outcome, it only records what those modules return.
"""
