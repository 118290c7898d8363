"""Every YAML `funnel inspect` suggests is accepted by `validate` and `report`, and gives
the figures it claims: the suggestion is fed back into the funnel file as a user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import yaml

from ..conftest import DATA
from ..processes import run_funnel

CASE = DATA / "inspect_suggestions"


def _suggested(stdout: str) -> dict[str, object]:
    """The YAML block under "To add to the funnel file:", as data."""
    block = stdout.split("To add to the funnel file:\n", 1)[1]
    text = "\n".join(line[2:] for line in block.splitlines() if line.startswith("  "))
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def _follow(funnel: dict[str, object], suggestion: dict[str, object]) -> dict[str, object]:
    """Apply a suggestion as a user would: each suggested stage's aliases replace that
    stage's, a suggested lost: list replaces the file's."""
    stages = funnel["stages"]
    assert isinstance(stages, list)
    by_name = {stage["name"]: stage for stage in stages}
    for stage in suggestion.get("stages", []):  # type: ignore[attr-defined]
        by_name[stage["name"]]["aliases"] = stage["aliases"]
    if "lost" in suggestion:
        funnel["lost"] = suggestion["lost"]
    return funnel


def test_inspect_suggests_lost_words_under_lost_and_won_words_on_the_won_stage(
    tmp_path: Path,
) -> None:
    found = run_funnel("inspect", str(CASE / "deals.csv"), "--funnel", str(CASE / "funnel.yaml"))
    assert found.returncode == 0, found.stderr
    suggestion = _suggested(found.stdout)
    assert suggestion["lost"] == ["Closed Lost", "Verloren"]
    stages = suggestion["stages"]
    assert {"name": "Won", "aliases": ["Gewonnen"]} in stages  # type: ignore[operator]
    # The open label is shown on the first stage, never a lost or won word with it.
    assert {"name": "Lead", "aliases": ["Demo Booked"]} in stages  # type: ignore[operator]


def test_following_the_suggestion_validates_and_maps_every_row(tmp_path: Path) -> None:
    found = run_funnel("inspect", str(CASE / "deals.csv"), "--funnel", str(CASE / "funnel.yaml"))
    funnel = yaml.safe_load((CASE / "funnel.yaml").read_text(encoding="utf-8"))
    fixed = tmp_path / "funnel.yaml"
    fixed.write_text(yaml.safe_dump(_follow(funnel, _suggested(found.stdout))), encoding="utf-8")
    assert run_funnel("validate", str(fixed)).returncode == 0
    export = tmp_path / "deals.csv"
    shutil.copy(CASE / "deals.csv", export)
    report = run_funnel(
        "report", str(export), "--funnel", str(fixed), "--format", "json", "--as-of", "2026-12-01"
    )
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    # By hand from deals.csv: 13 rows; won: Won x2 (5,000 + 7,000) and Gewonnen (3,000);
    # lost: Closed Lost (1,500) and Verloren x2 (2,500 + 3,500); open: Lead x3, Demo x2 and
    # Demo Booked x2, the last two now in Lead as the suggestion put them.
    assert data["rows"]["used"] == 13
    assert data["rows"]["skipped"] == 0
    assert data["won"] == {"count": 3, "value": 5000 + 7000 + 3000}
    assert (data["lost"]["count"], data["lost"]["value"]) == (3, 1500 + 2500 + 3500)
    assert data["open"]["count"] == 7
    assert [stage["current"] for stage in data["stages"]] == [5, 2, 0]


def test_with_no_funnel_file_inspect_shows_the_exports_funnel_and_what_is_no_stage(
    tmp_path: Path,
) -> None:
    # hubspot_custom.csv's 'test' rows have no Date entered column: the evidence says the
    # label is no stage of the Enterprise pipeline, so it is not suggested as an alias.
    found = run_funnel("inspect", str(DATA / "crm" / "hubspot_custom.csv"), cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    lines = found.stdout.splitlines()
    assert "  stages and order from the export's Date entered columns" in lines
    (test,) = [line for line in lines if line.startswith("  test ")]
    assert test.endswith("2  -> skipped: no Date entered column for it in the Enterprise pipeline")
    assert "To add to the funnel file:" not in lines


def test_with_no_evidence_inspect_names_the_labels_it_cannot_order(tmp_path: Path) -> None:
    found = run_funnel("inspect", str(DATA / "crm" / "unknown_order.csv"), cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    (line,) = [line for line in found.stdout.splitlines() if "ORDER UNKNOWN" in line]
    for label in ("Intro Call", "Pilot Running", "Procurement"):
        assert f"'{label}'" in line
