"""What the Dagster layer records for each (asset, date): names shared by the step, the heal
sensor, the CLI and coverage. No Dagster import."""

from __future__ import annotations

DATE_OUTCOME_CHECK = "date_outcome"
"""The partitioned asset check every (asset, date) gets one evaluation of."""
FAILED_DEPENDENCIES = "failed_dependencies"
"""date_outcome metadata: the upstream tables of the date's failing dependency verdicts (a JSON
list, the same verdicts as nba_processing.precompute_dependency_checks); the heal sensor reads it."""
