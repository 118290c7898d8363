"""The fast lane (DealReader.deal_rows + ReportBuilder.add_rows) gives the general path's report.

The general path is DealReader.deals(): one Deal object per row, every cell through the
full parsers. The fast lane reads common cells in place and sends any other row the
general way. Here every test export, and generated exports full of cells that look
almost like the fast shapes, are reported both ways: the JSON must be identical.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funnelcli.deal_records import Deal, DealRow, Outcome, deal_row
from funnelcli.definition import Funnel, default_funnel
from funnelcli.loading import load_funnel_file
from funnelcli.readers.deals import DealReader
from funnelcli.readers.export import ReadOptions, report_export
from funnelcli.readers.tabular.table import Cell
from funnelcli.render.json_report import report_json
from funnelcli.report import ReportBuilder, new_builder
from funnelcli.results import SliceRequest
from funnelcli.segments import SlicedBuilder, new_sliced_builder

from ..conftest import DATA
from .test_export import CASES as TWO_PROCESS_CASES

EXPORTS = DATA / "exports"
AS_OF = dt.date(2025, 11, 30)
CASES = [
    *TWO_PROCESS_CASES,  # every export of tests/readers/test_export.py, and:
    (EXPORTS / "salesforce_formatted.xlsx", EXPORTS / "salesforce_funnel.yaml"),
    (EXPORTS / "pipedrive_multicurrency.csv", EXPORTS / "pipedrive_fx_funnel.yaml"),
    (DATA / "cli_report" / "hubspot_like.csv", DATA / "cli_report" / "hubspot_like.yaml"),
    (DATA / "cli_report" / "skips.csv", None),
    (DATA / "slicing" / "pipelines.csv", DATA / "slicing" / "pipelines.yaml"),
    (DATA / "languages" / "deals.csv", DATA / "languages" / "funnel.yaml"),
]
REQUESTS = {
    "plain": SliceRequest(),
    "by-owner": SliceRequest(by="owner"),
    "by-stage-cohort": SliceRequest(by="stage", cohort="quarter"),
}


def _general_only(
    self: DealReader, rows: Iterator[tuple[int, tuple[Cell, ...]]], batch_size: int = 1
) -> Iterator[list[DealRow]]:
    """deal_rows() as the general path alone: every row a Deal, then a row."""
    for deal in self.deals(rows):
        yield [deal_row(deal)]


def _report(export: Path, funnel: Funnel, request: SliceRequest) -> str:
    result = report_export(str(export), funnel, as_of=AS_OF, options=ReadOptions(), request=request)
    return report_json(result, "funnel", "export")


def _both_ways(
    export: Path, funnel: Funnel, request: SliceRequest, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, str]:
    monkeypatch.setenv("FUNNEL_WORKERS", "1")
    fast = _report(export, funnel, request)
    with monkeypatch.context() as patched:
        patched.setattr(DealReader, "deal_rows", _general_only)
        general = _report(export, funnel, request)
    return fast, general


@pytest.mark.parametrize("request_name", sorted(REQUESTS))
@pytest.mark.parametrize(
    ("export", "funnel_path"), CASES, ids=lambda value: getattr(value, "name", "")
)
def test_every_export_reports_the_same_both_ways(
    export: Path, funnel_path: Path | None, request_name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    funnel = load_funnel_file(str(funnel_path)).funnel if funnel_path else default_funnel()
    request = REQUESTS[request_name]
    try:
        fast, general = _both_ways(export, funnel, request, monkeypatch)
    except Exception as error:  # an export without an owner column, say: both must refuse
        with monkeypatch.context() as patched:
            patched.setattr(DealReader, "deal_rows", _general_only)
            with pytest.raises(type(error), match=str(error)[:40].replace("(", r"\(")):
                _report(export, funnel, request)
        return
    assert fast == general
    assert '"read": ' in fast


# --- generated exports: cells on both sides of every fast shape -----------------------

HEADER = (
    "Record ID",
    "Deal Name",
    "Deal Stage",
    "Amount",
    "Create Date",
    "Close Date",
    "Deal owner",
    'Date entered "Lead (Sales)"',
    'Date entered "MQL (Sales)"',
    'Date entered "SQL (Sales)"',
    'Date entered "Opportunity (Sales)"',
    'Date entered "Won (Sales)"',
)
STAGES = ("Lead", "MQL", "SQL", "Opportunity", "Proposal", "Won", "Closed Lost", "closedwon")
ODD_STAGES = ("", "Mystery", " Lead ", "lead")
AMOUNTS = ("1000", "1,000.50", "250", "12.5", "0", "0.00", "")
ODD_AMOUNTS = (
    "1,00",
    " 1000",
    "1000 ",
    "-5",
    "$5",
    "USD 1,000.00",
    "00012",
    "1e3",
    "1,000,000,000,000,001",
    "1000000000000000.01",
    "(300)",
    "1.000,50",
    "abc",
)
DATES = ("2024-03-05", "2024-03-05 14:03", "2024-04-01 09:30:15", "2024-05-20T08:00", "")
ODD_DATES = (
    "2024-03-05 24:00",
    "2024-03-05 14:03Z",
    "2024-03-05 14:3",
    "2024-02-30",
    " 2024-03-05",
    "2024-3-5",
    "2024-03-05T14:03:05+02:00",
    "5 March 2024",
    "someday",
)
OWNERS = ("Ann", " Ann ", "", "Bo")


def _cells() -> st.SearchStrategy[tuple[str, ...]]:
    """A row whose every cell is usually a common shape, sometimes an odd one: so that
    odd cells meet rows whose other cells keep them in the fast lane."""

    def pool(common: tuple[str, ...], unusual: tuple[str, ...]) -> st.SearchStrategy[str]:
        return st.sampled_from(common * 3 + unusual)

    date = pool(DATES, ODD_DATES)
    return st.tuples(
        st.sampled_from(("D-1", "D-2", "", " D-3 ")),
        st.sampled_from(("Deal", "")),
        pool(STAGES, ODD_STAGES),
        pool(AMOUNTS, ODD_AMOUNTS),
        date,
        date,
        st.sampled_from(OWNERS),
        *(date for _ in range(5)),
    )


def _write(path: Path, rows: list[tuple[str, ...]]) -> None:
    """Deal ids are made distinct by their row (a repeated id is one deal: its later rows
    are skipped before either lane reads them), keeping their blank or padded shape."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(
        (row[0].replace("D-", f"D{index}-"), *row[1:]) for index, row in enumerate(rows)
    )
    path.write_text(buffer.getvalue(), encoding="utf-8")


@settings(
    max_examples=300,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(_cells(), min_size=1, max_size=30),
    request_name=st.sampled_from(sorted(REQUESTS)),
)
def test_generated_exports_report_the_same_both_ways(
    rows: list[tuple[str, ...]],
    request_name: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = tmp_path / "deals.csv"
    _write(path, rows)
    fast, general = _both_ways(path, default_funnel(), REQUESTS[request_name], monkeypatch)
    assert fast == general


@pytest.mark.parametrize("odd", ODD_DATES + ODD_AMOUNTS + ODD_STAGES)
def test_an_odd_cell_after_common_ones_reports_the_same_both_ways(
    odd: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast lane's caches are warm (the same day, a time of day, a stage) when the
    odd cell comes: it must still go the general way, in every column it can stand in."""
    common = ("D-1", "Deal", "SQL", "1,000.50", "2024-03-05 14:03", "2024-03-05", "Ann")
    common += ("2024-03-05", "2024-03-05 14:03", "", "", "")
    rows = [common]
    for column in range(2, len(HEADER)):
        rows.append((*common[:column], odd, *common[column + 1 :]))
    path = tmp_path / "deals.csv"
    _write(path, rows)
    fast, general = _both_ways(path, default_funnel(), SliceRequest(by="owner"), monkeypatch)
    assert fast == general


def test_the_fast_lane_reads_common_rows_in_place_and_sends_the_rest_the_general_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lane is really taken: only the odd row goes through the general code."""
    path = tmp_path / "deals.csv"
    common = ("D-1", "Deal", "SQL", "1,000.50", "2024-03-05 14:03", "", "Ann", *[""] * 5)
    odd = ("D-2", "Deal", "SQL", "$5", "2024-03-05", "", "Ann", *[""] * 5)
    _write(path, [common, common, odd, common])
    general_rows: list[int] = []
    counted = DealReader._counted_deal

    def spy(self: DealReader, number: int, cells: tuple[Cell, ...]) -> Deal | None:
        general_rows.append(number)
        return counted(self, number, cells)

    monkeypatch.setattr(DealReader, "_counted_deal", spy)
    monkeypatch.setenv("FUNNEL_WORKERS", "1")
    result = report_export(str(path), default_funnel(), as_of=AS_OF, options=ReadOptions())
    assert general_rows == [4]  # line 4: the header is line 1
    assert result.account.used == 4
    sql = result.report.stages[2]
    assert sql.current == 4
    # 3 x 1,000.50 + 5, worked by hand
    money = result.report.money[0]
    assert money.open_value == Decimal("3006.50")


# --- the builder: rows in any batches, or deal by deal, build the same thing ----------


def _deal_rows() -> st.SearchStrategy[DealRow]:
    day = st.one_of(st.none(), st.dates(dt.date(2024, 1, 1), dt.date(2025, 11, 30)))
    return st.builds(
        lambda number, outcome, stage, deal_id, amount, currency, created, closed, entered, seg: (
            DealRow(
                number,
                outcome,
                stage,
                deal_id,
                "Ann",
                amount,
                currency,
                created,
                closed,
                entered,
                seg,
                None,
            )
        ),
        st.integers(2, 10_000),
        st.sampled_from(list(Outcome)),
        st.one_of(st.none(), st.integers(0, 4)),
        st.one_of(st.none(), st.sampled_from(("a", "b", "ab"))),
        st.one_of(st.none(), st.decimals(0, 10_000, places=2)),
        st.sampled_from((None, "USD", "EUR")),
        day,
        day,
        st.one_of(st.none(), st.lists(day, min_size=5, max_size=5)),
        st.sampled_from((None, "east", "west")),
    )


def _as_deal(row: DealRow) -> Deal:
    return Deal(**row._asdict())


@settings(max_examples=200)
@given(st.lists(_deal_rows(), max_size=60, unique_by=lambda row: row[0]), st.integers(1, 7))
def test_rows_in_batches_build_what_deals_one_by_one_build(rows: list[DealRow], batch: int) -> None:
    """Rows are unique within an export, as their numbers are."""
    funnel = default_funnel()
    one_by_one = new_sliced_builder(funnel, AS_OF, stale_days=30)
    for row in rows:
        one_by_one.add(_as_deal(row))
    batched = new_sliced_builder(funnel, AS_OF, stale_days=30)
    for start in range(0, len(rows), batch):
        batched.add_rows(rows[start : start + batch])
    assert batched == one_by_one
    assert list(batched.segments) == list(one_by_one.segments)  # first-seen order


def test_add_rows_counts_a_won_and_a_lost_deal_as_worked_by_hand() -> None:
    funnel = default_funnel()  # five stages: Lead, MQL, SQL, Opportunity, Won
    builder: ReportBuilder = new_builder(funnel, AS_OF)
    entered = [dt.date(2025, 1, 1), dt.date(2025, 1, 11), None, None, None]
    won = (2, Outcome.WON, 4, "w", None, Decimal("500"), None, dt.date(2025, 1, 1),
           dt.date(2025, 3, 2), None, None, None)  # fmt: skip
    lost = (3, Outcome.LOST, None, "l", None, Decimal("70"), None, dt.date(2025, 1, 1),
            dt.date(2025, 1, 31), entered, None, None)  # fmt: skip
    builder.add_rows([won, lost])
    assert builder.reached_at == [0, 1, 0, 0, 1]  # lost at MQL, its furthest dated stage
    assert (builder.won, builder.lost[1]) == (1, 1)
    assert list(builder.cycle_days) == [60]  # 2025-01-01 .. 2025-03-02
    assert list(builder.days_in_stage[0]) == [10]  # Lead: Jan 1 .. Jan 11
    assert list(builder.days_before_loss[1]) == [20]  # MQL: Jan 11 .. the close, Jan 31
    assert builder.money["USD"].won_total == Decimal("500")
    assert builder.money["USD"].lost_value == Decimal("70")


def test_sliced_builders_compare_by_value() -> None:
    """The property above needs dataclass equality of whole sliced builders."""
    funnel = default_funnel()
    assert new_sliced_builder(funnel, AS_OF) == SlicedBuilder(new_builder(funnel, AS_OF))


def test_a_time_with_non_ascii_digits_is_an_unreadable_date(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Review finding: ``\\d`` without re.ASCII took them in both lanes."""
    path = tmp_path / "deals.csv"
    # U+0660 ARABIC-INDIC DIGIT ZERO, U+FF10 FULLWIDTH DIGIT ZERO in the hour.
    path.write_text(
        "Deal Name,Stage,Amount,Create Date\n"
        "A,Lead,10,2024-03-05 1\u0660:30\n"
        "B,Lead,10,2024-03-05 1\uff10:30\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("FUNNEL_WORKERS", "1")
    result = report_export(str(path), default_funnel(), as_of=AS_OF, options=ReadOptions())
    # dates.parse_date refuses both cells ("not a recognised date"), as it does
    # "2024-03-05 1x:30"; the reader must skip them as unreadable dates too.
    assert result.account.skipped["unreadable_date"] == 2
