"""readers/evidence.py: an export file -> its evidence -> its own funnel, end to end.

A property over generated CSV exports whose generator knows the true funnel: with Date
entered columns or a probability column the funnel built from the file is the true one;
with neither, the command's error (exit 2) names the labels, never a guessed order.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from funnelcli.errors import UsageError
from funnelcli.readers.evidence import export_funnel
from funnelcli.readers.export import ReadOptions

WORDS = ("Alpha", "Bravo", "Charlie", "Kilo", "Echo", "Foxtrot", "Golf", "Hotel", "Juliett")


@st.composite
def exports(draw: st.DrawFn) -> tuple[list[str], str, str]:
    """(the true open stages top first, the evidence kind, the CSV text). The Date entered
    columns come in any order ("entered" when it is the true one, else "shuffled"); each
    deal's dates rise along the true order, and every won deal went through every stage."""
    stages = draw(st.lists(st.sampled_from(WORDS), min_size=2, max_size=6, unique=True))
    kind = draw(st.sampled_from(["entered", "probability", "none"]))
    header = ["Deal ID", "Deal Stage", "Amount"]
    columns = list(range(len(stages)))
    if kind == "entered":
        columns = draw(st.permutations(columns))
        header += [f'Date entered "{stages[i]} (Main)"' for i in columns]
    if kind == "probability":
        header.append("Probability (%)")
    rows = []
    # Every stage has a deal, so the probability column gives every stage a median.
    places = [*range(len(stages)), *draw(st.lists(st.integers(0, len(stages) - 1), max_size=12))]
    places += [-1] * draw(st.integers(1, 3)) + [-2] * draw(st.integers(1, 3))  # won, lost
    for number, place in enumerate(places):
        label = {-1: "Closed Won", -2: "Closed Lost"}.get(place, stages[place])
        row = [f"D{number}", label, "1000"]
        if kind == "entered":
            reached = len(stages) if place == -1 else (1 if place == -2 else place + 1)
            row += [f"2026-01-{day + 1:02d}" if day < reached else "" for day in columns]
        if kind == "probability":
            # Stage i's deals carry 10 x (i + 1) give or take 4: medians rise strictly.
            base = {-1: 100, -2: 0}.get(place, 10 * (place + 1))
            noise = 0 if place < 0 else draw(st.integers(-4, 4))
            row.append(f"{base + noise}%")
        rows.append(row)
    if kind == "entered" and columns != sorted(columns):
        kind = "shuffled"
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return stages, kind, out.getvalue()


@settings(max_examples=60)
@given(case=exports())
def test_the_funnel_built_from_a_file_is_the_true_one_or_refused(
    case: tuple[list[str], str, str], tmp_path_factory: pytest.TempPathFactory
) -> None:
    stages, kind, text = case
    path = tmp_path_factory.mktemp("export") / "deals.csv"
    path.write_text(text, encoding="utf-8")
    if kind == "none":
        # A probability-free, date-free export of invented labels: no evidence orders it.
        with pytest.raises(UsageError) as refused:
            export_funnel(str(path), ReadOptions())
        message = str(refused.value)
        assert "cannot tell the order of the stages" in message
        assert "funnel init --from" in message
        return
    funnel = export_funnel(str(path), ReadOptions())
    assert [stage.name for stage in funnel.stages] == [*stages, "Closed Won"]
    assert funnel.lost_labels == ("Closed Lost",)
    assert (
        funnel.evidence
        == {
            "entered": "the export's Date entered columns",
            "shuffled": "the dates in the export's Date entered columns",
            "probability": "the export's 'Probability (%)' column",
        }[kind]
    )


def test_a_single_open_label_is_its_own_funnel(tmp_path: Path) -> None:
    path = tmp_path / "deals.csv"
    path.write_text("Deal ID,Deal Stage\nD1,Kilo\nD2,Closed Won\nD3,Closed Lost\n")
    funnel = export_funnel(str(path), ReadOptions())
    assert [stage.name for stage in funnel.stages] == ["Kilo", "Closed Won"]
    assert funnel.lost_labels == ("Closed Lost",)


def test_slash_dates_and_times_of_day_order_date_entered_columns(tmp_path: Path) -> None:
    """Columns in the header order Demo, Intro; month-first dates (8/20 settles it) with
    12-hour times. Deal D1 entered Intro at 9:00 AM and Demo at 2:00 PM of one day; D2
    Intro on 8/5 and Demo on 8/20. Both say Intro, then Demo."""
    path = tmp_path / "deals.csv"
    path.write_text(
        'Deal ID,Deal Stage,Date entered "Demo (Main)",Date entered "Intro (Main)"\n'
        "D1,Demo,8/2/24 2:00 PM,8/2/24 9:00 AM\n"
        "D2,Demo,8/20/24 10:00 AM,8/5/24 10:00 AM\n"
        "D3,Intro,,8/6/24 10:00 AM\n",
        encoding="utf-8",
    )
    funnel = export_funnel(str(path), ReadOptions())
    assert [stage.name for stage in funnel.stages] == ["Intro", "Demo", "Won"]
    assert funnel.evidence == "the dates in the export's Date entered columns"


def test_the_pipeline_option_counts_that_pipelines_rows_only(tmp_path: Path) -> None:
    """Two pipelines: with pipeline="B", A's label 'Alpha' is no label of the funnel."""
    path = tmp_path / "deals.csv"
    path.write_text(
        'Deal ID,Deal Stage,Pipeline,Date entered "Alpha (A)",Date entered "Kilo (B)",'
        'Date entered "Echo (B)"\n'
        "D1,Alpha,A,2026-01-01,,\n"
        "D2,Alpha,A,2026-01-01,,\n"
        "D3,Echo,B,,2026-01-01,2026-01-02\n"
        "D4,Kilo,B,,2026-01-01,\n",
        encoding="utf-8",
    )
    funnel = export_funnel(str(path), ReadOptions(), pipeline="B")
    assert [stage.name for stage in funnel.stages] == ["Kilo", "Echo", "Won"]
    with pytest.raises(UsageError) as refused:
        export_funnel(str(path), ReadOptions(), refuse_mixed=True)
    assert str(refused.value) == (
        f"{path}: deals of 2 pipelines, each with Date entered columns of its own: "
        "'A' (2 rows), 'B' (2 rows); one funnel cannot hold both: run again with "
        "--pipeline NAME (e.g. --pipeline A)"
    )
