"""`funnel validate` checks exactly the keys `funnel report` accepts: each file of
tests/data/validate_keys is refused by both, or accepted by both (warnings allowed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from funnelcli.definition import HISTORY_COLUMN_FIELDS
from funnelcli.readers.history_columns import HistoryColumns

from ..conftest import DATA
from ..processes import run_funnel

CASES = DATA / "validate_keys"
EXPORT = str(DATA / "crm" / "hubspot_custom.csv")


@pytest.mark.parametrize(
    ("name", "refused"),
    [
        ("entered_unknown_stage.yaml", "columns.entered.Nope: no stage of that name"),
        ("history_unknown_field.yaml", "history_columns.bogus: unknown field"),
        ("column_description_as_key.yaml", "columns.created date: unknown field"),
        ("fail_below_unknown_stage.yaml", "alerts.fail_below.Nope: no stage named 'Nope'"),
        ("unknown_top_key.yaml", None),
        ("good.yaml", None),
    ],
)
def test_validate_and_report_judge_a_file_alike(
    name: str, refused: str | None, tmp_path: Path
) -> None:
    path = str(CASES / name)
    validated = run_funnel("validate", path)
    reported = run_funnel("report", EXPORT, "--funnel", path, "--format", "json", "--quiet")
    if refused is None:
        assert (validated.returncode, reported.returncode) == (0, 0), reported.stderr
    else:
        assert (validated.returncode, reported.returncode) == (2, 2)
        assert refused in validated.stderr
        assert refused in reported.stderr


def test_history_columns_fields_are_the_readers() -> None:
    # One list: what validate accepts is what the history reader maps.
    names = tuple(HistoryColumns.__dataclass_fields__)
    assert names == HISTORY_COLUMN_FIELDS
