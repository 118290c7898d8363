"""Text from every language sales teams export in: Swedish, Danish, Chinese, Russian, Hebrew.

tests/data/languages/funnel.yaml names each stage in one language (潜在客户, Kvalificerad,
Tilbud, Förhandling, Vunnen) with aliases from the others; tests/data/languages/deals.csv
writes the labels in other cases (FÖRHANDLING, förhandling, ПЕРЕГОВОРЫ, квалификация,
GROSSANGEBOT for the alias Großangebot), so only casefold matching maps every row. Its
owners are Åsa Öberg, Søren Ærø, 王小明, Дмитрий Ёлкин and דוד כהן.

Checked: every row maps and the counts are the ones worked out below; the terminal table
keeps to 80 display cells with its number columns lined up around wide characters; every
stage name and owner comes back exactly as written (NFC) from JSON, CSV, Markdown, XLSX and
HTML; the funnel file validates and ``funnel init --from`` writes a YAML that reads back.
"""

from __future__ import annotations

import csv
import json
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
import yaml
from rich.cells import cell_len
from typer.testing import CliRunner, Result

from funnelcli.cli import app
from funnelcli.definition import label_key

from ..conftest import DATA
from ..html_dom import Dom

FOLDER = DATA / "languages"
EXPORT = FOLDER / "deals.csv"
FUNNEL = FOLDER / "funnel.yaml"
AS_OF = "2025-06-30"
REPORT_ARGS = ("report", str(EXPORT), "--funnel", str(FUNNEL), "--as-of", AS_OF)

STAGES = ["潜在客户", "Kvalificerad", "Tilbud", "Förhandling", "Vunnen"]
OWNERS = ["王小明", "Åsa Öberg", "Дмитрий Ёлкин", "דוד כהן", "Søren Ærø"]
FUNNEL_NAME = "Försäljning 销售 Продажи מכירות"
LOST_WARNING = (
    f"warning: {EXPORT}: 4 lost deals do not say at which stage they were lost; "
    "they count as lost at the first stage\n"
)

# --- the export by hand ------------------------------------------------------------------
#
# Open, by the stage their label maps to (no stage dates, so the label's stage is the
# furthest reached):
#   潜在客户      D01 潜在客户, D02 prospekt, D03 ПОТЕНЦИАЛЬНЫЙ                     3
#   Kvalificerad D04 商机, D05 квалификация, D06 KVALIFICERAD                     3
#   Tilbud       D07 הצעה, D08 GROSSANGEBOT (Großangebot), D09 tilbud             3
#   Förhandling  D10 FÖRHANDLING, D11 förhandling, D12 FORHANDLING,
#                D13 ПЕРЕГОВОРЫ, D14 משא ומתן                                     5
# Won:  D15 VUNNEN, D16 赢单, D17 выиграна, D18 vundet                            4
# Lost: D19 förlorad, D20 输单, D21 ПРОИГРАНА, D22 TABT, with no stage dates: at an
#       unknown stage, so lost at the first stage                                4
# reached[i] = reached[i+1] + open[i] + lost[i]: Vunnen 4, Förhandling 4 + 5 = 9,
# Tilbud 9 + 3 = 12, Kvalificerad 12 + 3 = 15, 潜在客户 15 + 3 + 4 = 22.
REACHED = [22, 15, 12, 9, 4]
OPEN = [3, 3, 3, 5, 0]
LOST = [4, 0, 0, 0, 0]

CASE_PAIRS = [
    ("FÖRHANDLING", "Förhandling"),
    ("förhandling", "Förhandling"),
    ("FORHANDLING", "Forhandling"),
    ("ПЕРЕГОВОРЫ", "Переговоры"),
    ("квалификация", "Квалификация"),
    ("ПОТЕНЦИАЛЬНЫЙ", "Потенциальный"),
    ("выиграна", "Выиграна"),
    ("ПРОИГРАНА", "Проиграна"),
    ("GROSSANGEBOT", "Großangebot"),
    ("KVALIFICERAD", "Kvalificerad"),
    ("förlorad", "Förlorad"),
]
"""Labels as the export writes them, and the funnel file's spelling they must match."""

EXTENSIONS = {"json": "json", "csv": "csv", "markdown": "md", "xlsx": "xlsx", "html": "html"}

runner = CliRunner()


def run(*args: str) -> Result:
    return runner.invoke(app, list(args), prog_name="funnel")


def export_rows() -> list[dict[str, str]]:
    with open(EXPORT, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def owner_by_id() -> dict[str, str]:
    return {row["id"]: row["owner"] for row in export_rows()}


# --- the data files are what this module says they are ------------------------------------


def test_the_data_files_are_nfc_utf8() -> None:
    for path in (EXPORT, FUNNEL):
        text = path.read_bytes().decode("utf-8")
        assert unicodedata.is_normalized("NFC", text), path
    assert {row["owner"] for row in export_rows()} == set(OWNERS)


@pytest.mark.parametrize(("in_export", "in_funnel"), CASE_PAIRS)
def test_the_export_writes_labels_in_other_cases(in_export: str, in_funnel: str) -> None:
    labels = {row["stage"] for row in export_rows()}
    funnel = yaml.safe_load(FUNNEL.read_text("utf-8"))
    written = {label for stage in funnel["stages"] for label in stage.get("aliases", [])}
    written |= {stage["name"] for stage in funnel["stages"]} | set(funnel["lost"])
    assert in_export in labels
    assert in_funnel in written
    assert in_export != in_funnel
    assert label_key(in_export) == label_key(in_funnel)


# --- 1. casefold matching: every row maps ------------------------------------------------


def test_every_label_maps_and_the_counts_are_worked_out_by_hand() -> None:
    result = run(*REPORT_ARGS, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == LOST_WARNING
    data = json.loads(result.stdout)
    assert data["rows"]["read"] == data["rows"]["used"] == 22
    assert data["rows"]["skipped"] == 0
    assert data["rows"]["skipped_by_reason"] == {}
    assert [stage["name"] for stage in data["stages"]] == STAGES
    assert [stage["reached"] for stage in data["stages"]] == REACHED
    assert [stage["current"] for stage in data["stages"]] == OPEN
    assert [stage["lost"] for stage in data["stages"]] == LOST
    assert (data["won"]["count"], data["lost"]["count"], data["open"]["count"]) == (4, 4, 14)
    assert data["win_rate"] == 0.5


INSPECT_MAPS = {
    "FÖRHANDLING": "Förhandling",
    "潜在客户": "潜在客户",
    "prospekt": "潜在客户",
    "ПОТЕНЦИАЛЬНЫЙ": "潜在客户",
    "商机": "Kvalificerad",
    "квалификация": "Kvalificerad",
    "KVALIFICERAD": "Kvalificerad",
    "הצעה": "Tilbud",
    "GROSSANGEBOT": "Tilbud",
    "tilbud": "Tilbud",
    "FORHANDLING": "Förhandling",
    "ПЕРЕГОВОРЫ": "Förhandling",
    "משא ומתן": "Förhandling",
    "VUNNEN": "Vunnen",
    "赢单": "Vunnen",
    "выиграна": "Vunnen",
    "vundet": "Vunnen",
    "förlorad": "lost",
    "输单": "lost",
    "ПРОИГРАНА": "lost",
    "TABT": "lost",
}
"""``funnel inspect``: each label of the export (case variants once, first spelling) and
where it maps."""


def inspect_label_lines() -> dict[str, str]:
    result = run("inspect", str(EXPORT), "--funnel", str(FUNNEL))
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Stage labels"))
    shown = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        label = re.sub(r"\s+[\d,]+\s+->.*$", "", line.strip())
        shown[label] = line
    return shown


def test_inspect_maps_every_label() -> None:
    lines = inspect_label_lines()
    assert list(lines) == list(INSPECT_MAPS)
    for label, stage in INSPECT_MAPS.items():
        assert lines[label].endswith(f"-> {stage}"), lines[label]


def test_inspect_counts_line_up_with_wide_labels() -> None:
    lines = inspect_label_lines()
    edges = {
        label: cell_len(line[: re.search(r"[\d,]+(?=\s+->)", line).end()])  # type: ignore[union-attr]
        for label, line in lines.items()
    }
    assert len(set(edges.values())) == 1, edges


def test_an_export_in_nfd_maps_like_the_same_text_in_nfc(tmp_path: Path) -> None:
    export = tmp_path / "deals_nfd.csv"
    export.write_text(unicodedata.normalize("NFD", EXPORT.read_text("utf-8")), "utf-8")
    args = ("report", str(export), "--funnel", str(FUNNEL), "--as-of", AS_OF)
    data = json.loads(run(*args, "--format", "json").stdout)
    assert (data["rows"]["used"], data["rows"]["skipped"]) == (22, 0)
    assert [stage["reached"] for stage in data["stages"]] == REACHED
    assert label_key(unicodedata.normalize("NFD", "Förlorad")) == label_key("Förlorad")


# --- 2. the terminal table lines up around wide characters -------------------------------


def terminal_lines() -> list[str]:
    result = run(*REPORT_ARGS, "--format", "table")
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def right_edges(line: str, start: int) -> list[int]:
    """The display column just after each whitespace-separated token from ``start`` on."""
    return [cell_len(line[: start + m.end()]) for m in re.finditer(r"\S+", line[start:])]


def stage_row(lines: list[str], name: str) -> str:
    return next(line for line in lines if line.startswith(name + " "))


def test_every_line_fits_80_cells() -> None:
    lines = terminal_lines()
    too_wide = [(cell_len(line), line) for line in lines if cell_len(line) > 80]
    assert too_wide == []
    assert any("潜在客户" in line for line in lines)


def test_stage_rows_line_up_with_wide_characters() -> None:
    lines = terminal_lines()
    header = next(line for line in lines if line.startswith("Stage "))
    reached_edge = cell_len(header[: header.index("Reached") + len("Reached")])
    rows = {name: stage_row(lines, name) for name in STAGES}
    edges = {name: right_edges(row, len(name)) for name, row in rows.items()}
    for name, row in rows.items():
        reached = re.match(rf"{re.escape(name)}\s+([\d,]+)", row)
        assert reached is not None, row
        assert cell_len(row[: reached.end()]) == reached_edge, (name, row)
    assert len({tuple(edge) for edge in edges.values()}) == 1, rows


def test_stale_rows_line_up_with_wide_owners() -> None:
    lines = terminal_lines()
    owners = owner_by_id()
    rows = [line for line in lines if re.match(r"D\d\d ", line)]
    assert len(rows) == 10
    days_edges, value_edges = set(), set()
    for line in rows:
        deal_id = line[:3]
        assert owners[deal_id] in line, line
        days = re.search(r"(\d+)\s+[\d,]+ SEK\s*$", line)
        assert days is not None, line
        days_edges.add(cell_len(line[: days.end(1)]))
        value_edges.add(cell_len(line.rstrip()))
    assert len(days_edges) == len(value_edges) == 1, rows
    assert {owners[line[:3]] for line in rows} == set(OWNERS)


# --- 3. every format gives the text back as written -------------------------------------


@dataclass(frozen=True)
class Produced:
    files: dict[str, Path]

    def text(self, output_format: str) -> str:
        return self.files[output_format].read_text("utf-8")


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> Produced:
    """The report in every format, written with --output (the format named by the extension)."""
    folder = tmp_path_factory.mktemp("languages")
    files = {}
    with pytest.MonkeyPatch.context() as patch:  # conftest pins these per test only
        patch.setenv("COLUMNS", "80")
        patch.setenv("TERM", "dumb")
        patch.delenv("NO_COLOR", raising=False)
        patch.delenv("FORCE_COLOR", raising=False)
        for output_format, extension in EXTENSIONS.items():
            path = folder / f"report.{extension}"
            result = run(*REPORT_ARGS, "--output", str(path))
            assert result.exit_code == 0, result.stderr
            files[output_format] = path
    return Produced(files)


def markdown_table(text: str, first_header: str) -> list[list[str]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip()[1:-1].split(" | ")])
    return rows


def check_stale(shown: list[tuple[str, str, str]], json_stale: list[dict[str, Any]]) -> None:
    """Each shown stale deal as (id, owner, stage): the owner as the export writes it, the
    stage as the JSON names it, and all five owners among them."""
    owners = owner_by_id()
    stages = {deal["id"]: deal["stage"] for deal in json_stale}
    assert shown
    for deal_id, owner, stage in shown:
        assert owner == owners[deal_id]
        assert stage == stages[deal_id]
        assert stage in STAGES
    assert {owner for _, owner, _ in shown} == set(OWNERS)


def test_json_round_trip(produced: Produced) -> None:
    data = json.loads(produced.text("json"))
    assert data["funnel"] == FUNNEL_NAME
    assert [stage["name"] for stage in data["stages"]] == STAGES
    owners = owner_by_id()
    assert data["stale_count"] == 14
    for deal in data["stale"]:
        assert deal["owner"] == owners[deal["id"]]
    check_stale([(d["id"], d["owner"], d["stage"]) for d in data["stale"]], data["stale"])


def test_csv_round_trip(produced: Produced) -> None:
    with open(produced.files["csv"], encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["stage"] for row in rows] == STAGES
    assert [int(row["reached"]) for row in rows] == REACHED


def test_markdown_round_trip(produced: Produced) -> None:
    text = produced.text("markdown")
    assert text.startswith(f"## Funnel report: {FUNNEL_NAME}\n")
    stages = markdown_table(text, "Stage")
    assert [row[0] for row in stages] == STAGES
    assert [int(row[1]) for row in stages] == REACHED
    stale = markdown_table(text, "Deal")
    json_stale = json.loads(produced.text("json"))["stale"]
    check_stale([(row[0], row[1], row[2]) for row in stale], json_stale)


def test_xlsx_round_trip(produced: Produced) -> None:
    workbook = openpyxl.load_workbook(produced.files["xlsx"])
    assert workbook.sheetnames[:2] == ["Summary", "Stages"]
    assert workbook["Summary"]["B1"].value == FUNNEL_NAME
    stages = list(workbook["Stages"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in stages] == STAGES
    assert [row[1] for row in stages] == REACHED
    stale = list(workbook["Stale deals"].iter_rows(values_only=True))
    assert stale[0][:3] == ("ID", "Owner", "Stage")
    json_stale = json.loads(produced.text("json"))["stale"]
    check_stale([(str(r[0]), str(r[1]), str(r[2])) for r in stale[1:]], json_stale)


def test_html_round_trip(produced: Produced) -> None:
    dom = Dom(produced.text("html"))
    assert dom.title == f"Funnel report: {FUNNEL_NAME}"
    stages = dom.table("Stages")
    assert [row[0].text for row in stages.rows] == STAGES
    assert [int(row[1].text) for row in stages.rows] == REACHED
    json_stale = json.loads(produced.text("json"))["stale"]
    stale = dom.table("Stale deals")
    shown = [(row[0].text, row[1].text, row[2].text) for row in stale.rows]
    check_stale(shown, json_stale)


@pytest.mark.parametrize("output_format", EXTENSIONS)
def test_no_format_writes_decomposed_text(produced: Produced, output_format: str) -> None:
    """The NFC owners and stages are found in the files' own text (XLSX: its cell values)."""
    if output_format == "xlsx":
        workbook = openpyxl.load_workbook(produced.files["xlsx"])
        values = [
            cell
            for sheet in workbook
            for row in sheet.iter_rows(values_only=True)
            for cell in row
            if isinstance(cell, str)
        ]
        text = "\n".join(values)
    elif output_format == "json":
        text = json.dumps(json.loads(produced.text("json")), ensure_ascii=False)
    elif output_format == "html":
        text = Dom(produced.text("html")).text
    else:
        text = produced.text(output_format)
    assert unicodedata.is_normalized("NFC", text)
    expected = STAGES if output_format == "csv" else STAGES + OWNERS
    assert [word for word in expected if word not in text] == []


# --- 4. the funnel file validates; init --from writes one that reads back ---------------


def test_the_funnel_file_validates() -> None:
    result = run("validate", str(FUNNEL))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"{FUNNEL}: OK: '{FUNNEL_NAME}', 5 stages (潜在客户 -> Vunnen), "
        "21% from first stage to won\n"
    )


def first_spellings() -> list[str]:
    """The export's labels, one per label_key, spelled as the first row writes it."""
    spellings: dict[str, str] = {}
    for row in export_rows():
        spellings.setdefault(label_key(row["stage"]), row["stage"])
    return list(spellings.values())


def test_init_from_the_export_reads_back(tmp_path: Path) -> None:
    path = tmp_path / "funnel.yaml"
    result = run("init", str(path), "--from", str(EXPORT))
    assert result.exit_code == 0, result.stderr
    text = path.read_text("utf-8")
    assert unicodedata.is_normalized("NFC", text)
    written = yaml.safe_load(text)
    names = [stage["name"] for stage in written["stages"]]
    # The won and lost words of these languages are known (vocabulary.py): Vunnen,
    # 赢单, Выиграна and Vundet are the won stage, Förlorad, 输单, Проиграна and Tabt lost.
    # Nothing orders the open labels (no dates, no probability, no known pipeline): they
    # are written by row count, marked ORDER UNKNOWN, and init says so on stderr.
    won = {"vunnen", "赢单", "выиграна", "vundet"}
    lost = {"förlorad", "输单", "проиграна", "tabt"}
    open_labels = [label for label in first_spellings() if label.casefold() not in won | lost]
    assert sorted(names[:-1]) == sorted(open_labels)
    won_stage = written["stages"][-1]
    assert {label.casefold() for label in [won_stage["name"], *won_stage["aliases"]]} == won
    assert {label.casefold() for label in written["lost"]} == lost
    assert "# ORDER UNKNOWN: nothing in the export gives the place of " in text
    assert "put them in order before using the file" in result.stderr
    assert len(names) == len({label_key(name) for name in names})
    validated = run("validate", str(path))
    assert validated.exit_code == 0, validated.stderr
    assert f"{len(names)} stages ({names[0]} -> {won_stage['name']})" in validated.stdout
    report = run("report", str(EXPORT), "--funnel", str(path), "--format", "json")
    assert report.exit_code == 0, report.stderr
    data = json.loads(report.stdout)
    assert [stage["name"] for stage in data["stages"]] == names
    assert (data["rows"]["used"], data["rows"]["skipped"]) == (22, 0)
