"""Hostile text from a CRM, growth of --by, and the messages about a funnel file's keys.

Every case runs ``python -m funnelcli`` as a real process, stdout and stderr piped as a
cron job has them, and checks stdout, stderr and the exit code:

* names from a CRM, a funnel file or a file name (deal ids, owners, stage names, --by
  values, the funnel's name, the export's file name) show literally in Markdown: no
  link, no HTML, no table cell broken (checked with the CommonMark renderer that Rich
  brings, markdown-it, as well as by the escaped text itself);
* the same names reach a terminal, an HTML page and stderr without the control
  characters a terminal obeys (``ESC[2J``, ``ESC]0;title BEL``, C1, bidi overrides),
  while CSV keeps them as data; an error or warning line is always one line;
* --by a column with more values than --max-segments keeps the largest and folds the
  rest into one ``(others)`` row whose figures are the folded deals' own;
* ``validate`` rejects an unknown ``columns:`` field with the line ``report`` gives, and
  60,000 unknown keys give 20 lines and a count.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from funnelcli.definition import COLUMN_FIELDS, UNKNOWN_KEYS_SHOWN
from funnelcli.readers.columns import FIELDS
from funnelcli.render.neutralise import markdown_text, printable
from funnelcli.results import DEFAULT_MAX_SEGMENTS

TIMEOUT = 120.0

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
LINK = "[x](javascript:alert(1))"
PIPED = "a|b `c`"
TERMINAL = "\x1b]0;pwned\x07\u202eevil\x9b"  # retitles the window, reverses, C1 CSI
CLEAR = "esc\x1b[2Jx"  # clears the screen

# The same names as a CommonMark renderer must get them, written out by hand.
SCRIPT_MD = "&lt;script&gt;alert\\(1\\)&lt;/script&gt;"
IMG_MD = "&quot;&gt;&lt;img src=x onerror=alert\\(1\\)&gt;"
LINK_MD = "\\[x\\]\\(javascript:alert\\(1\\)\\)"
PIPED_MD = "a\\|b \\`c\\`"
TERMINAL_MD = "\\]0;pwnedevil"

FUNNEL = f"""\
name: "{SCRIPT}"
currency: USD
average_deal_value: 1000
stages:
  - name: Qualified
    conversion: 50%
    days: 10
  - name: "{LINK}"
    conversion: 50%
    days: 10
    aliases: [Demo]
  - name: Won
lost: [Lost]
"""

HEADER = [
    "Deal - ID",
    "Deal - Owner",
    "Deal - Value",
    "Deal - Stage",
    "Deal - Status",
    "Deal - Deal created",
    "Deal - Deal closed on",
]

HOSTILE_ROWS = [
    [SCRIPT, IMG, "1000", "Qualified", "Open", "2026-01-01", ""],
    [LINK, PIPED, "2000", "Demo", "Open", "2026-01-01", ""],
    [CLEAR, TERMINAL, "3000", "Qualified", "Won", "2026-01-01", "2026-01-20"],
    ["4", "plain", "500", "\x1b[2J<b>odd</b>", "Open", "2026-01-01", ""],  # skipped
]

EXPORT_NAME = "deals [x](javascript:y) <b>.csv"


def run(args: list[str], cwd: Path, **env: str) -> tuple[int, str, str]:
    """``python -m funnelcli ARGS``: exit code, stdout and stderr; never left running."""
    environment = {
        key: value for key, value in os.environ.items() if key not in ("FORCE_COLOR", "NO_COLOR")
    }
    environment.update({"COLUMNS": "200", **env})
    process = subprocess.Popen(
        [sys.executable, "-m", "funnelcli", *args],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        start_new_session=True,  # a timeout kills the forked readers too
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    return process.returncode, stdout.decode(), stderr.decode()


def write_export(path: Path, rows: list[list[str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as file:
        csv.writer(file, delimiter=";").writerows([HEADER, *rows])


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    (tmp_path / "funnel.yaml").write_text(FUNNEL, encoding="utf-8")
    write_export(tmp_path / EXPORT_NAME, HOSTILE_ROWS)
    return tmp_path


def report(folder: Path, *options: str, **env: str) -> tuple[int, str, str]:
    return run(
        [
            "report",
            EXPORT_NAME,
            "--funnel",
            "funnel.yaml",
            "--by",
            "Deal - Owner",
            "--as-of",
            "2026-03-01",
            *options,
        ],
        folder,
        **env,
    )


def assert_one_line_each(stderr: str) -> None:
    """Every stderr line is one of ours, and none holds a character a terminal obeys."""
    for line in stderr.splitlines():
        assert line.startswith(("error: ", "warning: ", "alert: ")), line
        assert line.isprintable(), line


# --- 1. Markdown -------------------------------------------------------------------------


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_markdown_report_shows_crm_text_literally(hostile: Path) -> None:
    code, stdout, stderr = report(hostile, "--format", "markdown")
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0] == f"## Funnel report: {SCRIPT_MD}"
    assert lines[2] == (
        "deals \\[x\\]\\(javascript:y\\) &lt;b&gt;.csv, as of 2026-03-01; funnel funnel.yaml."
    )
    assert f"| {LINK_MD} | 2 | 1 | 0 | 50% | 100% | 50% | 66.7% | $2,000 | – |" in lines
    # Stale deals (59 days in a 10-day stage): the deal id, owner and stage as text.
    assert f"| {SCRIPT_MD} | {IMG_MD} | Qualified | 59 | $1,000 |" in lines
    assert f"| {LINK_MD} | {PIPED_MD} | {LINK_MD} | 59 | $2,000 |" in lines
    # --by values, and the stage names heading the segment columns.
    assert f"| Segment | Deals | Win | Qualified | {LINK_MD} | Bottleneck |" in lines
    assert f"| {TERMINAL_MD} | 1 | 100% | 100%* | 100%* | – |" in lines
    assert f"| {IMG_MD} | 1 | – | – | – | – |" in lines
    assert f"| {PIPED_MD} | 1 | – | 100%* | – | – |" in lines
    page = _html(stdout)
    for tag in ("<script", "<img", "<a ", "<code", "<b>"):
        assert tag not in page
    # Each segment row stays one row of six cells, the pipe in "a|b" included.
    body = page.split(">Bottleneck</th>")[1]
    rows = body.split("<tr>")[1:]
    assert [row.count("<td") for row in rows] == [6, 6, 6]
    assert "\x1b" not in stdout and "\x9b" not in stdout and "\u202e" not in stdout
    assert_one_line_each(stderr)


def test_markdown_plan_shows_funnel_text_literally(hostile: Path) -> None:
    code, stdout, stderr = run(
        ["plan", "funnel.yaml", "--target", "10000", "--format", "markdown"], hostile
    )
    assert (code, stderr) == (0, "")
    lines = stdout.splitlines()
    assert lines[0] == f"## Plan: {SCRIPT_MD}"
    # 10 won deals at $1,000; 50% to won from the second stage: 20, and 40 before it.
    assert f"| {LINK_MD} | 20 | 50% | 50% |" in lines
    page = _html(stdout)
    assert "<script" not in page and "<a " not in page


def test_markdown_text_escapes_every_markup_character() -> None:
    assert markdown_text('<&>"[]()|`*~\\\nx\ty') == (
        "&lt;&amp;&gt;&quot;\\[\\]\\(\\)\\|\\`\\*\\~\\\\ x y"
    )
    # Underscores between letters or digits cannot make emphasis: file names keep them.
    assert markdown_text("deals_2026.csv _x_ __y__") == "deals_2026.csv \\_x\\_ \\_\\_y\\_\\_"


# --- 2. Terminal, HTML, CSV and stderr ------------------------------------------------------


def test_table_drops_control_characters_and_keeps_its_colours(hostile: Path) -> None:
    code, stdout, stderr = report(hostile, FORCE_COLOR="1", TERM="xterm-256color")
    assert code == 0
    assert "\x1b[1m" in stdout  # Rich's own bold headers are still there
    for control in ("\x1b[2J", "\x1b]0;", "\x07", "\x9b", "\u202e"):
        assert control not in stdout
    assert "]0;pwnedevil" in stdout  # the rest of the value is shown, as text
    assert SCRIPT in stdout and IMG in stdout
    assert_one_line_each(stderr)


def test_plain_table_and_html_drop_control_characters(hostile: Path) -> None:
    code, table, _ = report(hostile)
    assert code == 0
    assert printable(table) == table  # nothing a terminal would obey
    assert "]0;pwnedevil" in table
    code, page, _ = report(hostile, "--format", "html")
    assert code == 0
    assert "\x1b" not in page and "\x9b" not in page and "\u202e" not in page
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "<title>Funnel report: &lt;script&gt;alert(1)&lt;/script&gt;</title>" in page


def test_inspect_drops_control_characters_from_labels(hostile: Path) -> None:
    code, stdout, stderr = run(["inspect", EXPORT_NAME, "--funnel", "funnel.yaml"], hostile)
    assert (code, stderr) == (0, "")
    assert printable(stdout) == stdout
    assert "  [2J<b>odd</b>  " in stdout  # the label, without the ESC that would clear


def test_validate_summary_is_one_printable_line(tmp_path: Path) -> None:
    # YAML's double quotes read \e as ESC and \a as BEL.
    (tmp_path / "funnel.yaml").write_text(
        'name: "evil\\e]0;pwned\\anext\\nline"\n'
        "stages:\n  - name: A\n    conversion: 50%\n  - name: Won\n"
    )
    code, stdout, stderr = run(["validate", "funnel.yaml"], tmp_path)
    assert (code, stderr) == (0, "")
    assert stdout == (
        "funnel.yaml: OK: 'evil\\x1b]0;pwned\\x07next\\nline', 2 stages (A -> Won), "
        "50% from first stage to won\n"
    )


def test_csv_keeps_crm_text_as_data(hostile: Path) -> None:
    code, stdout, _ = report(hostile, "--format", "csv")
    assert code == 0
    segments = {row[0] for row in csv.reader(stdout.splitlines()[1:])}
    assert {IMG, PIPED, TERMINAL} <= segments


def test_a_skipped_label_with_escapes_is_one_printable_warning_line(hostile: Path) -> None:
    code, _, stderr = report(hostile, "--format", "json")
    assert code == 0
    (line,) = stderr.splitlines()
    assert line == (
        f"warning: {EXPORT_NAME}: 1 row skipped, unknown stage label: "
        "row 5 '\\x1b[2J<b>odd</b>'; labels '\\x1b[2J<b>odd</b>' (1): "
        "add them to a stage's aliases: in funnel.yaml"
    )


def test_a_file_name_with_a_newline_and_escapes_is_one_error_line(tmp_path: Path) -> None:
    name = "gone\n\x1b[2Jdeals.csv"
    code, stdout, stderr = run(["report", name], tmp_path)
    assert (code, stdout) == (2, "")
    (line,) = stderr.splitlines()
    assert line.startswith("error: ")
    assert "gone\\n\\x1b[2Jdeals.csv" in line
    assert line.isprintable()


def test_a_funnel_file_name_with_a_newline_is_one_error_line(tmp_path: Path) -> None:
    name = "bad\nname.yaml"
    (tmp_path / name).write_text("stages: []\ncolumns: {stgae: Stage}\n", encoding="utf-8")
    code, stdout, stderr = run(["validate", name], tmp_path)
    assert (code, stdout) == (2, "")
    lines = stderr.splitlines()
    assert lines and all(line.startswith("error: bad\\nname.yaml: ") for line in lines)
    assert_one_line_each(stderr)


# --- 3. Growth: --by with many values -----------------------------------------------------

GROWTH_FUNNEL = """\
name: Growth
currency: USD
average_deal_value: 1000
stages:
  - name: Qualified
    conversion: 50%
  - name: Demo
    conversion: 50%
  - name: Won
lost: [Lost]
"""

# Deal j of an owner: won at Demo, lost at Qualified, open at Qualified, open at Demo.
_KINDS = (("Demo", "Won"), ("Qualified", "Lost"), ("Qualified", "Open"), ("Demo", "Open"))
_AMOUNT = 100


def _owner_counts() -> dict[str, int]:
    """zeta 40 deals; alpha, beta, gamma 25 (a tie, broken by name); small-01..20 1..20."""
    counts = {"zeta": 40, "alpha": 25, "beta": 25, "gamma": 25}
    counts.update({f"small-{size:02d}": size for size in range(1, 21)})
    return counts


def _kinds(deals: int) -> dict[str, int]:
    """How many of an owner's first ``deals`` deals fall in each kind."""
    kinds = {"won": 0, "lost": 0, "open_qualified": 0, "open_demo": 0}
    names = list(kinds)
    for index in range(deals):
        kinds[names[index % 4]] += 1
    return kinds


@pytest.fixture
def growth(tmp_path: Path) -> Path:
    (tmp_path / "funnel.yaml").write_text(GROWTH_FUNNEL, encoding="utf-8")
    rows = []
    number = 0
    for owner, deals in _owner_counts().items():
        for index in range(deals):
            stage, status = _KINDS[index % 4]
            closed = "2026-02-01" if status != "Open" else ""
            number += 1
            rows.append([str(number), owner, str(_AMOUNT), stage, status, "2026-01-01", closed])
    write_export(tmp_path / EXPORT_NAME, rows)
    return tmp_path


def test_segments_beyond_max_segments_fold_into_one_exact_row(growth: Path) -> None:
    code, stdout, stderr = report(growth, "--format", "json", "--max-segments", "3")
    assert (code, stderr) == (0, "")
    segments = json.loads(stdout)["segments"]
    assert [row["segment"] for row in segments["rows"]] == ["zeta", "alpha", "beta"]
    assert [row["deals"] for row in segments["rows"]] == [40, 25, 25]
    assert segments["max_segments"] == 3
    # Folded: gamma (25) and small-01..20 (1 + ... + 20 = 210).
    assert segments["folded"] == {"segments": 21, "deals": 235}
    folded = [25, *range(1, 21)]
    won = sum(_kinds(deals)["won"] for deals in folded)
    lost = sum(_kinds(deals)["lost"] for deals in folded)
    open_qualified = sum(_kinds(deals)["open_qualified"] for deals in folded)
    open_demo = sum(_kinds(deals)["open_demo"] for deals in folded)
    assert won + lost + open_qualified + open_demo == 235
    others = segments["others"]
    assert others["segment"] == "(others)"
    assert (others["deals"], others["won"], others["lost"], others["open"]) == (
        235,
        won,
        lost,
        open_qualified + open_demo,
    )
    assert others["win_rate"] == float(Fraction(won, won + lost))
    reached_demo = won + open_demo
    assert [stage["reached"] for stage in others["stages"]] == [235, reached_demo, won]
    # Resolved: of the deals that left Qualified (all but those open there), those at Demo on.
    assert others["stages"][0]["resolved_conversion"] == float(
        Fraction(reached_demo, 235 - open_qualified)
    )
    assert not any(stage["worst"] for stage in others["stages"])


def test_segments_fold_by_default_and_not_with_zero(growth: Path) -> None:
    assert DEFAULT_MAX_SEGMENTS == 50
    code, stdout, _ = report(growth, "--format", "json")
    assert code == 0
    segments = json.loads(stdout)["segments"]
    assert len(segments["rows"]) == 24  # fewer than 50: nothing folded
    assert (segments["folded"], segments["others"]) == (None, None)
    code, stdout, _ = report(growth, "--format", "json", "--max-segments", "0")
    assert code == 0
    assert len(json.loads(stdout)["segments"]["rows"]) == 24


def test_every_format_says_segments_were_folded(growth: Path) -> None:
    sentence = (
        "21 smaller segments (235 deals) folded into (others): the 3 with the most deals "
        "are shown; --max-segments 0 shows every one."
    )
    code, table, _ = report(growth, "--max-segments", "3")
    assert code == 0
    assert sentence in table.replace("\n", " ")
    assert "(others)" in table
    code, markdown, _ = report(growth, "--format", "markdown", "--max-segments", "3")
    assert code == 0
    assert sentence in markdown.splitlines()
    assert any(line.startswith("| \\(others\\) | 235 | ") for line in markdown.splitlines())
    code, text, _ = report(growth, "--format", "csv", "--max-segments", "3")
    assert code == 0
    segments = [row[0] for row in csv.reader(text.splitlines()[1:])]
    assert (
        segments == ["(all)"] * 3 + ["zeta"] * 3 + ["alpha"] * 3 + ["beta"] * 3 + ["(others)"] * 3
    )


def test_max_segments_needs_by(growth: Path) -> None:
    code, stdout, stderr = run(
        ["report", EXPORT_NAME, "--funnel", "funnel.yaml", "--max-segments", "3"], growth
    )
    assert (code, stdout) == (2, "")
    assert stderr == ("error: --max-segments applies to --by; name the column, like --by owner\n")


# --- 4. The columns: rule and unknown keys --------------------------------------------------


def test_validate_rejects_an_unknown_columns_field_as_report_does(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text(GROWTH_FUNNEL + "columns: {stgae: Deal Stage}\n")
    write_export(tmp_path / "deals.csv", [["1", "a", "100", "Demo", "Open", "2026-01-01", ""]])
    expected = (
        "error: funnel.yaml: columns.stgae: unknown field; the fields are: "
        + ", ".join(COLUMN_FIELDS)
        + "\n"
    )
    validated = run(["validate", "funnel.yaml"], tmp_path)
    reported = run(["report", "deals.csv", "--funnel", "funnel.yaml"], tmp_path)
    assert validated == (2, "", expected)
    assert reported == (2, "", expected)


def test_the_columns_fields_are_the_fields_the_reader_knows() -> None:
    assert tuple(FIELDS) == COLUMN_FIELDS


def test_sixty_thousand_unknown_keys_give_twenty_lines_and_a_count(tmp_path: Path) -> None:
    keys = "".join(f"k{index}: 1\n" for index in range(60_000))
    (tmp_path / "funnel.yaml").write_text(GROWTH_FUNNEL + keys)
    code, stdout, stderr = run(["validate", "funnel.yaml"], tmp_path)
    assert code == 0
    lines = stderr.splitlines()
    assert len(lines) == UNKNOWN_KEYS_SHOWN + 1 == 21
    assert lines[0].startswith("warning: funnel.yaml: k0: unknown key, ignored")
    assert lines[19].startswith("warning: funnel.yaml: k19: unknown key, ignored")
    assert lines[20] == "warning: funnel.yaml: ... and 59,980 more unknown keys, ignored"
    assert stdout.startswith("funnel.yaml: OK: 'Growth', 3 stages")


def test_sixty_thousand_unknown_columns_fields_give_twenty_errors_and_a_count(
    tmp_path: Path,
) -> None:
    fields = "".join(f"  f{index}: X\n" for index in range(60_000))
    (tmp_path / "funnel.yaml").write_text(GROWTH_FUNNEL + "columns:\n" + fields)
    code, stdout, stderr = run(["validate", "funnel.yaml"], tmp_path)
    assert (code, stdout) == (2, "")
    lines = stderr.splitlines()
    assert len(lines) == 21
    assert lines[0].startswith("error: funnel.yaml: columns.f0: unknown field; the fields are: ")
    assert lines[20] == (
        "error: funnel.yaml: ... and 59,980 more unknown fields in columns; the fields are: "
        + ", ".join(COLUMN_FIELDS)
    )
