"""The export's own funnel: `funnel report EXPORT` with no funnel file, for each CRM shape.

Each export in ``tests/data/crm/`` (built from ``/work/shared/CRM_EXPORTS.md``, see its
SOURCE.md) has a hand-written funnel beside it: the export's labels in their true order,
the won stage, the ``lost:`` labels, and no conversion rates, so that no plan-dependent
figure enters the comparison. For each export:

* the report with the hand-written funnel gives the figures worked out by hand below;
* the report with no funnel file (in an empty working directory) gives the same stage
  counts, rows accounting, won/lost/open counts and values, win rate and cycle, and says
  in ``funnel_evidence`` what ordered its stages;
* ``funnel init OUT --from EXPORT`` then ``funnel report EXPORT --funnel OUT`` gives them
  again;
* an export whose order no evidence gives exits 2, naming every open label.

The figures by hand (every case): a deal with no stage of loss counts as lost at the first
stage, so reached[i] = rows used - (open + lost deals counted at stages above i); the win
rate is won / (won + lost).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from ..conftest import DATA
from ..processes import run_funnel

CRM = DATA / "crm"
AS_OF = "2026-12-01"

D = Decimal
F = Fraction


@dataclass(frozen=True)
class Case:
    """One export, its hand-written funnel, and the figures worked out by hand."""

    export: str
    funnel: str  # hand-written, in tests/data/crm/
    evidence: str  # the no-file report's funnel_evidence
    stages: tuple[str, ...]  # open stages top first, then the won stage
    reached: tuple[int, ...]
    won: tuple[int, Decimal]  # count, value
    lost: tuple[int, Decimal]
    open: tuple[int, Decimal]
    skipped: dict[str, int] = field(default_factory=dict)  # rows skipped, by reason
    history: str | None = None  # a stage-history file, for --history

    @property
    def read(self) -> int:
        return self.won[0] + self.lost[0] + self.open[0] + sum(self.skipped.values())

    @property
    def win_rate(self) -> Fraction:
        return F(self.won[0], self.won[0] + self.lost[0])


CASES = [
    # HubSpot's default Sales Pipeline by label. Won 10000 + 12000 + 8000 + 15000 + 5000 +
    # 20000; lost 4000 + 6000 + 3000 + 9000 + 2500 (no stage of loss: at the first stage);
    # open: Appointment Scheduled 4 (2000 + 3000 + 4000 + 1500), Qualified To Buy 3 (6000 +
    # 7000 + 5000), Presentation Scheduled 3 (9000 + 11000 + 10000), Decision Maker
    # Bought-In none, Contract Sent 3 (14000 + 16000 + 12500) = 101000.
    # reached: 24; 24 - 4 - 5 = 15; 15 - 3 = 12; 12 - 3 = 9; 9 - 0 = 9; 9 - 3 = 6.
    Case(
        export="hubspot_default.csv",
        funnel="hubspot_default_funnel.yaml",
        evidence="HubSpot's default Sales Pipeline",
        stages=(
            "Appointment Scheduled",
            "Qualified To Buy",
            "Presentation Scheduled",
            "Decision Maker Bought-In",
            "Contract Sent",
            "Closed Won",
        ),
        reached=(24, 15, 12, 9, 9, 6),
        won=(6, D(70000)),
        lost=(5, D(24500)),
        open=(13, D(101000)),
    ),
    # The same deals with HubSpot's internal stage values (appointmentscheduled ...) and
    # dates re-saved by Excel (1/5/26 09:15): the stages take the pipeline's labels.
    Case(
        export="hubspot_ids.csv",
        funnel="hubspot_ids_funnel.yaml",
        evidence="HubSpot's default Sales Pipeline",
        stages=(
            "Appointment Scheduled",
            "Qualified To Buy",
            "Presentation Scheduled",
            "Decision Maker Bought-In",
            "Contract Sent",
            "Closed Won",
        ),
        reached=(24, 15, 12, 9, 9, 6),
        won=(6, D(70000)),
        lost=(5, D(24500)),
        open=(13, D(101000)),
    ),
    # A custom "Enterprise" pipeline with Date entered "<Stage> (Enterprise)" columns; two
    # rows of the junk label "test" (no Date entered column) are skipped. Lost deals say
    # how far they got: furthest Discovery 1, Technical Fit 2, Business Case 1, Security
    # Review 1, Negotiation 1. Won 50000 + 80000 + 65000 + 120000 + 45000; lost 20000 +
    # 30000 + 25000 + 40000 + 60000 + 70000; open: Discovery 4 (10000 + 15000 + 20000 +
    # 25000), Technical Fit 3 (30000 + 35000 + 40000), Business Case 3 (45000 + 50000 +
    # 55000), Security Review none, Negotiation 3 (90000 + 100000 + 110000) = 625000.
    # reached: 24; 24 - 4 - 1 = 19; 19 - 3 - 2 = 14; 14 - 3 - 1 = 10; 10 - 0 - 1 = 9;
    # 9 - 3 - 1 = 5.
    Case(
        export="hubspot_custom.csv",
        funnel="hubspot_custom_funnel.yaml",
        evidence="the export's Date entered columns",
        stages=(
            "Discovery",
            "Technical Fit",
            "Business Case",
            "Security Review",
            "Negotiation",
            "Closed Won",
        ),
        reached=(24, 19, 14, 10, 9, 5),
        won=(5, D(360000)),
        lost=(6, D(245000)),
        open=(13, D(625000)),
        skipped={"unknown_stage_label": 2},
    ),
    # Salesforce's standard picklist, no probability column (Perception Analysis has no
    # opportunity). Won 120000 + 85000 + 240000 + 60000 + 95000; lost 50000 + 30000 +
    # 75000 + 45000 (at the first stage); open two per stage from Prospecting to
    # Proposal/Price Quote (10000 + 15000, 20000 + 25000, ... 60000 + 65000) and one in
    # Negotiation/Review (70000) = 520000.
    # reached: 22; 22 - 2 - 4 = 16; 14; 12; 10; 8; 8 (Perception Analysis holds none);
    # 6; 6 - 1 = 5.
    Case(
        export="salesforce_default.csv",
        funnel="salesforce_default_funnel.yaml",
        evidence="Salesforce's standard stage picklist",
        stages=(
            "Prospecting",
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Id. Decision Makers",
            "Perception Analysis",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
        ),
        reached=(22, 16, 14, 12, 10, 8, 8, 6, 5),
        won=(5, D(600000)),
        lost=(4, D(200000)),
        open=(13, D(520000)),
    ),
    # Renamed stages ordered by Probability (%): medians Lead In 12.5 (10%, 15%), Discovery
    # Call 20 (20%, 25%, 20%), Solution Demo 40, Commercial Proposal 60 (60%, 65%, 60%),
    # Legal Review 82.5 (80%, 85%); their row counts (2, 3, 1, 3, 2) give no order.
    # Won 90000 + 110000 + 70000 + 130000 + 100000; lost 20000 + 40000 + 60000 + 35000 +
    # 45000; open 5000 + 7000, 12000 + 15000 + 18000, 25000, 40000 + 45000 + 50000,
    # 80000 + 90000 = 387000.
    # reached: 21; 21 - 2 - 5 = 14; 14 - 3 = 11; 11 - 1 = 10; 10 - 3 = 7; 7 - 2 = 5.
    Case(
        export="salesforce_renamed.csv",
        funnel="salesforce_renamed_funnel.yaml",
        evidence="the export's 'Probability (%)' column",
        stages=(
            "Lead In",
            "Discovery Call",
            "Solution Demo",
            "Commercial Proposal",
            "Legal Review",
            "Closed Won",
        ),
        reached=(21, 14, 11, 10, 7, 5),
        won=(5, D(500000)),
        lost=(5, D(200000)),
        open=(11, D(387000)),
    ),
    # Pipedrive's default pipeline; Deal - Status says Won/Lost/Open and a lost deal keeps
    # its stage: lost at Qualified 1, Contact Made 1, Demo Scheduled 2, Proposal Made 1,
    # Negotiations Started 1. Won 4000 + 6500 + 9000 + 12000 + 3500; lost 1500 + 2000 +
    # 3000 + 2500 + 5000 + 8000; open 1000 + 1200 + 1800, 2200 + 2600, 3000 + 3400,
    # 5500 + 6000, 7000 + 9500 = 43200.
    # reached: 22; 22 - 3 - 1 = 18; 18 - 2 - 1 = 15; 15 - 2 - 2 = 11; 11 - 2 - 1 = 8;
    # 8 - 2 - 1 = 5.
    Case(
        export="pipedrive_default.csv",
        funnel="pipedrive_default_funnel.yaml",
        evidence="Pipedrive's default pipeline",
        stages=(
            "Qualified",
            "Contact Made",
            "Demo Scheduled",
            "Proposal Made",
            "Negotiations Started",
            "Won",
        ),
        reached=(22, 18, 15, 11, 8, 5),
        won=(5, D(35000)),
        lost=(6, D(22000)),
        open=(11, D(43200)),
    ),
    # Zoho's standard stages with a Probability (%) column: the probability orders the
    # labels seen (10, 20, 40, 60, 75, 90/85), so Perception Analysis, never seen, is no
    # stage. Lost: Closed Lost 12000 + 7000 + 15000, Closed-Lost to Competition 22000 +
    # 30000. Won 25000 + 18000 + 40000 + 9000 + 33000; open 5000 + 6000 + 7000, 8000 +
    # 9000, 10000 + 11000, 14000, 16000 + 20000, 26000 + 28000 = 160000.
    # reached: 22; 22 - 3 - 5 = 14; 14 - 2 = 12; 12 - 2 = 10; 10 - 1 = 9; 9 - 2 = 7;
    # 7 - 2 = 5.
    Case(
        export="zoho_default.csv",
        funnel="zoho_default_funnel.yaml",
        evidence="the export's 'Probability (%)' column",
        stages=(
            "Qualification",
            "Needs Analysis",
            "Value Proposition",
            "Id. Decision Makers",
            "Proposal/Price Quote",
            "Negotiation/Review",
            "Closed Won",
        ),
        reached=(22, 14, 12, 10, 9, 7, 5),
        won=(5, D(125000)),
        lost=(5, D(86000)),
        open=(12, D(160000)),
    ),
    # German labels with Probability (%): Qualifizierung 10, Bedarfsanalyse 30, Angebot 60,
    # Verhandlung 80; Gewonnen won, Verloren lost. Won 12000 + 15000 + 9000 + 24000; lost
    # 5000 + 8000 + 6000 + 11000; open 2000 + 3000 + 4000, 5000 + 5500 + 6000 + 6500,
    # 10000 + 12000 + 14000, 20000 + 22000 = 110000.
    # reached: 20; 20 - 3 - 4 = 13; 13 - 4 = 9; 9 - 3 = 6; 6 - 2 = 4.
    Case(
        export="zoho_translated.csv",
        funnel="zoho_translated_funnel.yaml",
        evidence="the export's 'Probability (%)' column",
        stages=("Qualifizierung", "Bedarfsanalyse", "Angebot", "Verhandlung", "Gewonnen"),
        reached=(20, 13, 9, 6, 4),
        won=(4, D(60000)),
        lost=(4, D(30000)),
        open=(12, D(110000)),
    ),
    # A generic export with custom labels; the order comes from the long stage history
    # (every deal moves Inbound > Workshop > Pilot > Contract). Two open deals and one lost
    # deal at each stage (the history says where each was lost). Won 10000 + 20000 +
    # 15000 + 5000; lost 3000 + 4000 + 6000 + 7000; open 1000 + 2000, 3000 + 3500,
    # 8000 + 9000, 12000 + 14000 = 52500.
    # reached: 16; 16 - 2 - 1 = 13; 10; 7; 7 - 2 - 1 = 4.
    Case(
        export="history_deals.csv",
        funnel="history_funnel.yaml",
        evidence=f"the stage history in {CRM / 'history_stages.csv'}",
        stages=("Inbound", "Workshop", "Pilot", "Contract", "Won"),
        reached=(16, 13, 10, 7, 4),
        won=(4, D(50000)),
        lost=(4, D(20000)),
        open=(8, D(52500)),
        history=str(CRM / "history_stages.csv"),
    ),
]

# `funnel init --from` reads the export alone: no case with a history file.
INIT_CASES = [case for case in CASES if case.history is None]


def case_id(case: Case) -> str:
    return case.export.removesuffix(".csv")


def report(case: Case, cwd: Path, *funnel: str) -> dict[str, Any]:
    """`funnel report` of the case's export as JSON, run in ``cwd``; exit 0 required."""
    history = ("--history", case.history) if case.history else ()
    export = str(CRM / case.export)
    args = ("report", export, *funnel, *history, "--format", "json", "--as-of", AS_OF)
    result = run_funnel(*args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def hand_report(case: Case, cwd: Path) -> dict[str, Any]:
    return report(case, cwd, "--funnel", str(CRM / case.funnel))


def compared(report: dict[str, Any]) -> dict[str, Any]:
    """The figures that do not depend on a plan: what the two funnels must agree on."""
    history = report["history"]
    return {
        "stages": [
            {
                key: stage[key]
                for key in ("name", "reached", "current", "lost", "resolved_conversion")
            }
            for stage in report["stages"]
        ],
        "rows": {
            key: report["rows"][key] for key in ("read", "used", "skipped", "skipped_by_reason")
        },
        "won": report["won"],
        "lost": report["lost"],
        "open": report["open"],
        "win_rate": report["win_rate"],
        "median_cycle_days": report["median_cycle_days"],
        "p90_cycle_days": report["p90_cycle_days"],
        "history_rows": history["rows"] if history else None,
    }


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_hand_written_funnel_gives_the_figures_by_hand(case: Case, tmp_path: Path) -> None:
    result = hand_report(case, tmp_path)

    assert [stage["name"] for stage in result["stages"]] == list(case.stages)
    assert [stage["reached"] for stage in result["stages"]] == list(case.reached)
    assert result["rows"]["read"] == case.read
    assert result["rows"]["used"] == case.read - sum(case.skipped.values())
    assert result["rows"]["skipped_by_reason"] == case.skipped
    assert (result["won"]["count"], result["won"]["value"]) == (case.won[0], float(case.won[1]))
    assert (result["lost"]["count"], result["lost"]["value"]) == (
        case.lost[0],
        float(case.lost[1]),
    )
    assert (result["open"]["count"], result["open"]["value"]) == (
        case.open[0],
        float(case.open[1]),
    )
    assert result["win_rate"] == pytest.approx(float(case.win_rate), rel=1e-12)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_no_funnel_file_gives_the_hand_written_figures(case: Case, tmp_path: Path) -> None:
    own = report(case, tmp_path)  # tmp_path holds no funnel.yaml
    hand = hand_report(case, tmp_path)

    assert own["funnel_evidence"] == case.evidence
    assert hand["funnel_evidence"] is None
    assert compared(own) == compared(hand)
    assert [stage["reached"] for stage in own["stages"]] == list(case.reached)


@pytest.mark.parametrize("case", INIT_CASES, ids=case_id)
def test_init_from_the_export_gives_the_same_figures(case: Case, tmp_path: Path) -> None:
    written = tmp_path / "out.yaml"
    init = run_funnel("init", str(written), "--from", str(CRM / case.export), cwd=tmp_path)
    assert init.returncode == 0, init.stderr

    from_file = report(case, tmp_path, "--funnel", str(written))
    own = report(case, tmp_path)

    assert compared(from_file) == compared(own)
    assert [stage["name"] for stage in from_file["stages"]] == list(case.stages)


def test_an_order_no_evidence_gives_exits_2_naming_the_labels(tmp_path: Path) -> None:
    # unknown_order.csv: custom open labels, no probability column, no stage dates, no
    # known pipeline; Closed Won and Closed Lost are the outcomes.
    export = str(CRM / "unknown_order.csv")
    result = run_funnel("report", export, "--format", "json", "--as-of", AS_OF, cwd=tmp_path)

    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines == [
        f"error: {export}: cannot tell the order of the stages 'Intro Call', "
        "'Pilot Running', 'Procurement' (no Date entered columns, no probability column, "
        "and not a known CRM pipeline); write a funnel file with "
        f"`funnel init --from {export}`, put its stages in order, and run again with "
        "--funnel funnel.yaml, or give --history with the stage history"
    ]


# --- a new user's trial exports (tests/data/own_funnel_trial/SOURCE.md) -------------------

TRIAL = DATA / "own_funnel_trial"


def _stage_figures(report: dict[str, Any]) -> list[tuple[str, int, float | None]]:
    return [
        (stage["name"], stage["reached"], stage["resolved_conversion"])
        for stage in report["stages"]
    ]


def test_the_dates_of_date_entered_columns_order_the_stages_not_the_header(
    tmp_path: Path,
) -> None:
    # The header says Proposal, Intro, Demo; every deal's dates say Intro < Demo <
    # Proposal. By hand (SOURCE.md): reached Intro 12, Demo 12 - 2 lost - 2 open = 8,
    # Proposal 8 - 1 - 1 = 6, won 6 - 1 - 2 = 3; resolved Intro 8 of 10 left, Demo 6 of
    # 7, Proposal 3 of 4.
    export = str(TRIAL / "hs_shuffled.csv")
    result = run_funnel("report", export, "--format", "json", "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["funnel_evidence"] == "the dates in the export's Date entered columns"
    assert _stage_figures(report) == [
        ("Intro", 12, pytest.approx(8 / 10)),
        ("Demo", 8, pytest.approx(6 / 7)),
        ("Proposal", 6, pytest.approx(3 / 4)),
        ("Closed won", 3, None),
    ]


def test_deals_of_two_pipelines_are_refused_without_pipeline(tmp_path: Path) -> None:
    export = str(TRIAL / "hs_two_pipelines.csv")
    result = run_funnel("report", export, "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {export}: deals of 2 pipelines, each with Date entered columns of its own: "
        "'Growth' (12 rows), 'Renewals' (3 rows); one funnel cannot hold both: run again "
        "with --pipeline NAME (e.g. --pipeline Growth)"
    ]


def test_pipeline_builds_that_pipelines_funnel(tmp_path: Path) -> None:
    # Renewals, by hand: 3 deals reach Renewal Call; 1 is lost there, 2 reach Quote; 1 is
    # open at Quote, 1 won. Resolved: Renewal Call 2 of 3 left, Quote 1 of 1.
    export = str(TRIAL / "hs_two_pipelines.csv")
    result = run_funnel(
        "report", export, "--pipeline", "Renewals", "--format", "json", "--as-of", AS_OF,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert _stage_figures(report) == [
        ("Renewal Call", 3, pytest.approx(2 / 3)),
        ("Quote", 2, pytest.approx(1)),
        ("Closed won", 1, None),
    ]
    assert report["rows"]["skipped"] == 0


@pytest.mark.parametrize(
    ("export", "why"),
    [
        (
            "sfjunk.csv",
            "'Bogus Stage' (no Date entered columns, no probability column, and the other "
            "labels follow Salesforce's standard stage picklist, but it is not among its "
            "stages)",
        ),
        (
            "prob_tie.csv",
            "'Scoping', 'Pilot' (no Date entered columns, a 'Probability (%)' column in "
            "which 'Scoping' and 'Pilot' are both at 20%, and not a known CRM pipeline)",
        ),
        (
            "prob_gaps.csv",
            "'Pilot' (no Date entered columns, a 'Probability (%)' column in which 'Pilot' "
            "has no probability, and not a known CRM pipeline)",
        ),
    ],
)
def test_an_order_error_says_what_each_evidence_lacked(
    tmp_path: Path, export: str, why: str
) -> None:
    path = str(TRIAL / export)
    result = run_funnel("report", path, "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {path}: cannot tell the order of the stages {why}; write a funnel file "
        f"with `funnel init --from {path}`, put its stages in order, and run again with "
        "--funnel funnel.yaml, or give --history with the stage history"
    ]


def test_init_with_a_history_names_it_in_the_next_command(tmp_path: Path) -> None:
    export, history = str(CRM / "history_deals.csv"), str(CRM / "history_stages.csv")
    written = tmp_path / "out.yaml"
    init = run_funnel("init", str(written), "--from", export, "--history", history, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert init.stdout.splitlines() == [
        f"Wrote {written} from {export}. Check the stage order, then run "
        f"'funnel report {export} --funnel {written} --history {history}'."
    ]


def test_a_measured_rate_is_written_rounded_down_so_the_plan_never_exceeds_it(
    tmp_path: Path,
) -> None:
    # pd23.csv: of 3 deals at Qualified, 2 went on (won) and 1 was lost: 2/3 = 66.67%.
    # Written as 66.6% (floor to 0.1%), never 66.7%, so the report with the file finds
    # no stage below plan.
    export = str(TRIAL / "pd23.csv")
    written = tmp_path / "out.yaml"
    init = run_funnel("init", str(written), "--from", export, cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    text = written.read_text(encoding="utf-8")
    assert (
        "    conversion: 66.6%  # 2 of 3 resolved deals moved on (66.67%, written rounded down); "
    ) in text
    result = run_funnel(
        "report", export, "--funnel", str(written), "--format", "json", "--as-of", AS_OF,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    qualified = json.loads(result.stdout)["stages"][0]
    assert qualified["name"] == "Qualified"
    assert qualified["planned_conversion"] == pytest.approx(0.666)
    assert qualified["resolved_conversion"] == pytest.approx(2 / 3)


def test_init_of_labels_no_evidence_orders_says_so_in_plain_words(tmp_path: Path) -> None:
    written = tmp_path / "out.yaml"
    init = run_funnel("init", str(written), "--from", str(CRM / "unknown_order.csv"), cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert (
        "# Stages and order from the export's labels, listed by row count: no evidence "
        "gives their order.\n"
    ) in written.read_text(encoding="utf-8")


def test_skipped_labels_of_a_funnel_built_from_the_export_end_in_a_full_stop(
    tmp_path: Path,
) -> None:
    # hubspot_custom.csv rows 9 and 17 (file lines, header = 1) have the label "test".
    export = str(CRM / "hubspot_custom.csv")
    result = run_funnel("report", export, "--format", "json", "--as-of", AS_OF, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines() == [
        f"warning: {export}: 2 rows skipped, unknown stage label: row 9 'test', row 17 "
        "'test'; labels 'test' (2): not stages of the funnel built from the export's Date "
        "entered columns; to count them, write the funnel with "
        f"`funnel init --from {export}` and add them to a stage's aliases."
    ]
