"""What a new user's trial found in reading exports: the header row, date orders, the
--date-format of init and plan, and lost deals without a stage.

The inputs are in tests/data/reading_trial/ (SOURCE.md says what each shows); every
figure checked is worked out here from the rows, by hand.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from funnelcli.dates import DateOrderEvidence, DayOrder, shared_order, slash_formats
from funnelcli.loading import load_funnel_file
from funnelcli.readers.columns import header_key, header_score, named_headers
from funnelcli.readers.tabular.read import read_table

from ..conftest import DATA
from ..processes import run_funnel

TRIAL = DATA / "reading_trial"
CZECH_HEADER = (
    "Obchod - ID",
    "Obchod - Název",
    "Obchod - Hodnota",
    "Obchod - Měna hodnoty",
    "Obchod - Pipeline",
    "Obchod - Fáze",
    "Obchod - Stav",
    "Obchod - Obchod vytvořen",
)


def _json(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    done = run_funnel("report", *args, "--format", "json", "--quiet", env=env)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


# --- the header row -----------------------------------------------------------------


def test_a_data_row_reading_won_and_pipeline_is_not_the_header() -> None:
    # Without the Czech names, the header scores 0 and row 2 scores 2 (Pipeline, Won):
    # row 2 holds numbers and a date, so the earlier row of text is the header.
    table = read_table(TRIAL / "pipedrive_cz.csv", header_score=lambda cells: 0)
    assert (table.header, table.header_row, table.title_rows) == (CZECH_HEADER, 1, 0)
    table = read_table(TRIAL / "pipedrive_cz.csv", header_score=header_score)
    assert (table.header, table.header_row) == (CZECH_HEADER, 1)
    assert header_score(CZECH_HEADER) == 8  # every Czech header is a known name now


def test_the_names_a_funnel_file_gives_count_as_header_names() -> None:
    funnel = load_funnel_file(str(TRIAL / "gx.yaml")).funnel
    named = named_headers(funnel)
    assert named == {header_key("Phase"), header_key("Worth")}
    score = functools.partial(header_score, named=named)
    assert score(("Phase", "Worth", "Opened")) == 2
    assert score(("Won", "200", "2025-01-03")) == 1  # 'Won': the won flag's name
    table = read_table(TRIAL / "gen_hdr2.csv", header_score=score)
    assert (table.header, table.header_row) == (("Phase", "Worth", "Opened"), 1)


def test_a_later_text_row_must_score_higher_and_fill_more_cells(tmp_path: Path) -> None:
    # A row of text only that scores higher but is no wider is a data row of a table
    # whose header names nobody knows: the first row stays the header.
    path = tmp_path / "deals.csv"
    path.write_text("Firma,Fase,Estado\nAcme,Qualified,Won\nBeta,Qualified,Lost\n")
    assert read_table(path, header_score=header_score).header == ("Firma", "Fase", "Estado")
    # Text-only data rows (no amount, no date) whose Pipeline and Won come again in
    # their columns: names a header would not repeat, so they do not count.
    path.write_text(
        "Transakcja - ID,Transakcja - Etap,Transakcja - Lejek,Transakcja - Status\n"
        "T1,Negotiations,Pipeline,Won\nT2,Qualified,Pipeline,Won\nT3,Qualified,Pipeline,Lost\n"
    )
    assert read_table(path, header_score=header_score).header_row == 1
    # Notes as wide as the header above it: the header's two names are not repeated below.
    path.write_text("note 1,x\nnote 2,x\nDeal Name,Stage\nAcme,Won\nBeta,Lost\n")
    table = read_table(path, header_score=header_score)
    assert (table.header, table.header_row, table.title_rows) == (("Deal Name", "Stage"), 3, 2)
    # A title above a wider header that scores: the header.
    path.write_text("Report,Deals by stage\nName,Stage,Status\nAcme,Qualified,Won\n")
    table = read_table(path, header_score=header_score)
    assert (table.header, table.header_row, table.title_rows) == (("Name", "Stage", "Status"), 2, 1)


def test_pipedrive_czech_export_reports_the_figures_worked_by_hand() -> None:
    # Rows: won 1000 and 3000; lost 500, 700, 900; open 100, 200, 300.
    won, lost, open_ = [1000, 3000], [500, 700, 900], [100, 200, 300]
    for args in (
        [str(TRIAL / "pipedrive_cz.csv")],
        [str(TRIAL / "cz_ascii.csv"), "--funnel", str(TRIAL / "cz2.yaml")],
    ):
        result = _json(*args)
        assert result["rows"]["used"] == 8 and result["rows"]["skipped"] == 0
        assert (result["won"]["count"], result["won"]["value"]) == (2, sum(won))
        assert (result["lost"]["count"], result["lost"]["value"]) == (3, sum(lost))
        assert (result["open"]["count"], result["open"]["value"]) == (3, sum(open_))
        assert result["win_rate"] == pytest.approx(2 / (2 + 3))


def test_headers_only_the_funnel_file_names_report_the_figures_worked_by_hand() -> None:
    # Phase/Worth: Qualified 100, Qualified 300 (open), Won 200, Lost 50 (a lost label).
    result = _json(str(TRIAL / "gen_hdr2.csv"), "--funnel", str(TRIAL / "gx.yaml"))
    assert result["rows"]["used"] == 4
    assert (result["won"]["count"], result["won"]["value"]) == (1, 200)
    assert (result["lost"]["count"], result["lost"]["value"]) == (1, 50)
    assert (result["open"]["count"], result["open"]["value"]) == (2, 100 + 300)
    assert result["win_rate"] == pytest.approx(1 / 2)


# --- date orders and --date-format ---------------------------------------------------


def _evidence(*cells: str) -> DateOrderEvidence:
    seen = DateOrderEvidence()
    for cell in cells:
        seen.observe(cell)
    return seen


def test_an_undecided_column_takes_the_order_the_other_columns_agree_on() -> None:
    undecided = _evidence("3/01/2025", "4/01/2025")
    day_first = _evidence("18/02/2025", "1/03/2025")
    month_first = _evidence("8/20/24")
    assert shared_order([undecided, day_first]) is DayOrder.DAY_FIRST
    assert shared_order([undecided, month_first]) is DayOrder.MONTH_FIRST
    assert shared_order([undecided, day_first, month_first]) is None  # two locales
    assert shared_order([undecided, _evidence("13/01/2025", "01/13/2025")]) is None  # mixed
    assert shared_order([undecided]) is None


def test_suggested_formats_are_written_as_the_cells_are() -> None:
    assert slash_formats("8/1/24 14:03") == ("%d/%m/%y", "%m/%d/%y")
    assert slash_formats("3/01/2025") == ("%d/%m/%Y", "%m/%d/%Y")


def test_salesforce_created_dates_are_day_first_as_its_close_dates_are() -> None:
    # Won: Opp 4-6 created 7, 8, 9 January, closed 18, 19, 20 February 2025 (day first).
    cycles = [
        (dt.date(2025, 2, close) - dt.date(2025, 1, created)).days
        for created, close in ((7, 18), (8, 19), (9, 20))
    ]
    result = _json(str(TRIAL / "sf_report.csv"))
    assert result["median_cycle_days"] == sorted(cycles)[1] == 42
    done = run_funnel("inspect", str(TRIAL / "sf_report.csv"))
    assert "'Created Date': D/M/Y (from the export's other date columns)" in done.stdout


def test_hubspot_excel_dates_read_without_a_format() -> None:
    # Close Date 8/20/24 decides month first for every date column of the export.
    result = _json(str(TRIAL / "hs_excel.csv"))
    assert result["rows"]["used"] == 4 and result["rows"]["skipped"] == 0


def test_an_undecided_export_suggests_the_format_its_cells_have() -> None:
    path = str(TRIAL / "ambiguous_two_digit.csv")
    done = run_funnel("report", path)
    assert done.returncode == 2
    assert done.stderr == (
        f"error: {path}: column 'Create Date': dates like 8/1/24 14:03 could be day or month "
        "first and no value decides; pass --date-format %d/%m/%y or %m/%d/%y\n"
    )
    result = _json(path, "--date-format", "%m/%d/%y")
    assert result["rows"]["used"] == 3
    # The won deal: created 1 August, closed 2 August 2024.
    assert result["median_cycle_days"] == (dt.date(2024, 8, 2) - dt.date(2024, 8, 1)).days


def test_a_format_that_does_not_match_says_so_in_words_that_quote_the_cell() -> None:
    path = str(TRIAL / "ambiguous_two_digit.csv")
    done = run_funnel("report", path, "--date-format", "%m/%d/%Y")
    assert done.returncode == 2
    why = (
        "(does not match --date-format %m/%d/%Y: a two-digit year is %y, "
        "as in --date-format %m/%d/%y)"
    )
    assert done.stderr.splitlines()[0] == (
        f"warning: {path}: 3 rows skipped, unreadable date: "
        f"row 2 '8/1/24 14:03' in 'Create Date' {why}, "
        f"row 3 '8/1/24 14:03' in 'Create Date' {why}, "
        f"row 4 '8/4/24 09:00' in 'Create Date' {why}; "
        "check that --date-format %m/%d/%Y is how these cells write dates"
    )


def test_init_and_plan_take_date_format_with_an_export(tmp_path: Path) -> None:
    export = str(TRIAL / "ambiguous_two_digit.csv")
    written = tmp_path / "funnel.yaml"
    refused = run_funnel("init", str(written), "--from", export)
    assert refused.returncode == 2 and "pass --date-format %d/%m/%y or %m/%d/%y" in refused.stderr
    done = run_funnel("init", str(written), "--from", export, "--date-format", "%m/%d/%y")
    assert done.returncode == 0, done.stderr
    assert written.exists()
    done = run_funnel(
        "plan", "--target", "10k", "--rates-from", export, "--date-format", "%m/%d/%y"
    )
    assert done.returncode == 0, done.stderr
    done = run_funnel("plan", "--target", "10k", "--date-format", "%m/%d/%y")
    assert (done.returncode, done.stderr) == (
        2,
        "error: --date-format goes with --rates-from or --credit-pipeline\n",
    )
    done = run_funnel("init", str(tmp_path / "other.yaml"), "--date-format", "%m/%d/%y")
    assert (done.returncode, done.stderr) == (
        2,
        "error: --date-format goes with --from: the export whose dates it reads\n",
    )
    done = run_funnel("plan", "--target", "10k", "--rates-from", export, "--date-format", "x")
    assert done.returncode == 2
    assert done.stderr.startswith("error: --date-format: 'x' has no % directive")


# --- lost deals without a stage ----------------------------------------------------


@pytest.mark.parametrize("compiled", ["0", "1"])
def test_a_lost_deal_with_no_stage_is_lost_at_an_unknown_stage(compiled: str) -> None:
    # Rows: won 1 (Negotiations Started), open 2 (Qualified, Proposal Made), lost 3: one at
    # Qualified and two with an empty stage. Nothing is skipped.
    result = _json(str(TRIAL / "pd_blanklost.csv"), env={"FUNNEL_COMPILED": compiled})
    assert (result["rows"]["used"], result["rows"]["skipped"]) == (6, 0)
    assert result["won"]["count"] == 1
    assert (result["lost"]["count"], result["lost"]["unknown_stage"]) == (3, 2)
    assert result["open"]["count"] == 2
    win_rate = Fraction(1, 1 + 3)
    assert result["win_rate"] == pytest.approx(float(win_rate))
    # The losses are unattributed: no stage's conversion is measured, and an open deal's
    # chance of winning is the overall win rate, not 1.
    open_stages = [stage for stage in result["stages"] if stage["name"] != "Won"]
    assert all(stage["resolved_conversion"] is None for stage in open_stages)
    assert [stage["win_probability"] for stage in open_stages] == pytest.approx(
        [float(win_rate)] * len(open_stages)
    )
