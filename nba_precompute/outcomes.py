"""What the Dagster layer records for each (asset, date): names shared by the step, the heal
sensor, the CLI and coverage. No Dagster import."""

from __future__ import annotations

DATE_OUTCOME_CHECK = "date_outcome"
"""The partitioned asset check every (asset, date) gets one evaluation of."""
