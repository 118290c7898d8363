"""XLSX faults found in real use, each run through a real ``python -m funnelcli`` process.

Memory bombs a 2 KB workbook can hold (a cell far out, a huge shared string used by many
cells) are fed under an address-space limit of 1 GiB set in ``preexec_fn``, so a
regression fails the test instead of eating the machine; a refusal must be one
``error:`` line and exit 2. The workbooks are built in the test, part by part, so each
holds exactly the XML under test.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

MEMORY_LIMIT = 1024 * 1024 * 1024
TIMEOUT = 120.0

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE = "http://schemas.openxmlformats.org/package/2006/relationships"
_CONTENT_TYPES = "http://schemas.openxmlformats.org/package/2006/content-types"
_OFFICE = "application/vnd.openxmlformats-officedocument"


@dataclass(frozen=True)
class Sheet:
    name: str
    body: str  # the XML inside <worksheet>
    state: str | None = None  # "hidden", "veryHidden"


def text(ref: str, value: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def number(ref: str, value: float) -> str:
    return f'<c r="{ref}"><v>{value}</v></c>'


def row(number_: int, *cells: str) -> str:
    return f'<row r="{number_}">{"".join(cells)}</row>'


HEADER = row(1, text("A1", "Deal"), text("B1", "Stage"), text("C1", "Amount"))
DEAL = row(2, text("A2", "Acme"), text("B2", "Won"), number("C2", 100))


def deals_sheet(name: str = "Deals", *, state: str | None = None, extra: str = "") -> Sheet:
    return Sheet(name, f"<sheetData>{HEADER}{DEAL}{extra}</sheetData>", state)


def build(
    path: Path,
    sheets: list[Sheet],
    *,
    shared: list[str] | None = None,
    active: int | None = None,
) -> Path:
    """A minimal XLSX package: content types, workbook, its relationships, the sheets."""
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{index}.xml" '
        f'ContentType="{_OFFICE}.spreadsheetml.worksheet+xml"/>'
        for index in range(1, len(sheets) + 1)
    )
    relationships = "".join(
        f'<Relationship Id="rId{index}" Type="{_RELATIONSHIPS}/worksheet" '
        f'Target="worksheets/sheet{index}.xml"/>'
        for index in range(1, len(sheets) + 1)
    )
    if shared is not None:
        overrides += (
            '<Override PartName="/xl/sharedStrings.xml" '
            f'ContentType="{_OFFICE}.spreadsheetml.sharedStrings+xml"/>'
        )
        relationships += (
            f'<Relationship Id="rIdS" Type="{_RELATIONSHIPS}/sharedStrings" '
            'Target="sharedStrings.xml"/>'
        )
    entries = "".join(
        f'<sheet name="{sheet.name}" sheetId="{index}"'
        + (f' state="{sheet.state}"' if sheet.state else "")
        + f' r:id="rId{index}"/>'
        for index, sheet in enumerate(sheets, start=1)
    )
    views = (
        f'<bookViews><workbookView activeTab="{active}"/></bookViews>' if active is not None else ""
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            f'<Types xmlns="{_CONTENT_TYPES}">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            f'ContentType="{_OFFICE}.spreadsheetml.sheet.main+xml"/>{overrides}</Types>',
        )
        archive.writestr(
            "_rels/.rels",
            f'<Relationships xmlns="{_PACKAGE}"><Relationship Id="rId1" '
            f'Type="{_RELATIONSHIPS}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">{views}'
            f"<sheets>{entries}</sheets></workbook>",
        )
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            f'<Relationships xmlns="{_PACKAGE}">{relationships}</Relationships>',
        )
        for index, sheet in enumerate(sheets, start=1):
            whole = sheet.body.startswith("<x:worksheet")  # a root of the test's own
            archive.writestr(
                f"xl/worksheets/sheet{index}.xml",
                sheet.body if whole else f'<worksheet xmlns="{_MAIN}">{sheet.body}</worksheet>',
            )
        if shared is not None:
            strings = "".join(f"<si><t>{value}</t></si>" for value in shared)
            archive.writestr(
                "xl/sharedStrings.xml",
                f'<sst xmlns="{_MAIN}" count="{len(shared)}" uniqueCount="{len(shared)}">'
                f"{strings}</sst>",
            )
    return path


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def funnel(*args: str, cwd: Path) -> Outcome:
    """Run ``python -m funnelcli`` under the memory limit; the whole group is killed after."""
    environment = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    environment.pop("FORCE_COLOR", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "funnelcli", *args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
        start_new_session=True,
        preexec_fn=_limit_memory,  # pytest runs this file's tests in one thread
    )
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    return Outcome(process.returncode, stdout, stderr)


def one_error(outcome: Outcome) -> str:
    """The single error line of a refusal, after checking its shape: exit 2, no stdout."""
    assert outcome.code == 2, outcome
    assert outcome.stdout == ""
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    return lines[0]


def warnings_of(outcome: Outcome) -> list[str]:
    lines = outcome.stderr.splitlines()
    assert all(line.startswith("warning: ") for line in lines), lines
    return lines


@pytest.fixture(params=["compiled", "python"])
def scan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The sheet scanned in C (_xlsx_scan.c) or, with FUNNEL_COMPILED=0, in Python."""
    mode = str(request.param)
    if mode == "compiled":
        from funnelcli.readers.tabular.xlsx_scan import _compiled_scan

        if _compiled_scan() is None:
            pytest.skip("built without a C compiler")
        monkeypatch.delenv("FUNNEL_COMPILED", raising=False)
    else:
        monkeypatch.setenv("FUNNEL_COMPILED", "0")
    return mode


# --- memory bombs ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["report", "inspect"])
def test_a_cell_far_beyond_the_data_is_refused_before_reading(
    tmp_path: Path, command: str, scan: str
) -> None:
    far = row(20000, number("XFD20000", 1))
    build(tmp_path / "far.xlsx", [deals_sheet(extra=far)])
    assert (tmp_path / "far.xlsx").stat().st_size < 2048  # 1.9 KB that asked for 10 GB
    line = one_error(funnel(command, "far.xlsx", cwd=tmp_path))
    # 20,000 rows by 16,384 columns: the grid calamine would allocate, 32 bytes a cell.
    assert line == (
        "error: far.xlsx: sheet 'Deals': its cells span A1:XFD20000, a grid of 20,000 rows "
        f"by 16,384 columns ({20_000 * 16_384:,} cells), more than the 50,000,000 cells "
        "funnel reads from a sheet; refusing it, as reading it could exhaust memory; "
        "export the deals as CSV"
    )


def test_an_empty_string_far_out_is_refused_too(tmp_path: Path, scan: str) -> None:
    """calamine keeps an empty inline string as a value, so it stretches the grid."""
    far = row(20000, '<c r="XFD20000" t="inlineStr"><is><t></t></is></c>')
    build(tmp_path / "far.xlsx", [deals_sheet(extra=far)])
    line = one_error(funnel("report", "far.xlsx", cwd=tmp_path))
    assert "its cells span A1:XFD20000" in line


def test_cells_without_references_are_placed_as_the_reader_places_them(
    tmp_path: Path, scan: str
) -> None:
    """A cell without r="..." follows the one before it; rows without r follow too.

    One row of 16,384 unreferenced cells, then 20,000 rows later one more cell: 16,384
    columns by 20,002 rows, without a single far reference in the file.
    """
    wide = "<row>" + "<c><v>1</v></c>" * 16_384 + "</row>"
    far = '<row r="20002"><c><v>1</v></c></row>'
    build(tmp_path / "wide.xlsx", [deals_sheet(extra=wide + far)])
    line = one_error(funnel("report", "wide.xlsx", cwd=tmp_path))
    assert "a grid of 20,002 rows by 16,384 columns" in line
    assert "more than the 50,000,000 cells" in line


def test_a_sparse_grid_of_few_cells_is_refused(tmp_path: Path, scan: str) -> None:
    """Under the 50 million cap, but 26 million cells (832 MB) for a dozen cells present."""
    far = row(1_000_000, number("Z1000000", 1))
    build(tmp_path / "sparse.xlsx", [deals_sheet(extra=far)])
    line = one_error(funnel("report", "sparse.xlsx", cwd=tmp_path))
    cells_present = 3 + 3 + 1  # header, one deal, the far cell
    assert line == (
        "error: sparse.xlsx: sheet 'Deals': its cells span A1:Z1000000, a grid of "
        f"1,000,000 rows by 26 columns ({26_000_000:,} cells), over 64 times the "
        f"{cells_present} cells it holds: its far cells are not data; refusing it, as "
        "reading it could exhaust memory; export the deals as CSV"
    )


def test_a_full_dimension_with_a_cell_at_its_corner_is_refused(tmp_path: Path, scan: str) -> None:
    """The dimension is not what is measured: the cell at XFD1048576 is."""
    corner = row(1_048_576, number("XFD1048576", 1))
    body = f'<dimension ref="A1:XFD1048576"/><sheetData>{HEADER}{DEAL}{corner}</sheetData>'
    build(tmp_path / "corner.xlsx", [Sheet("Deals", body)])
    line = one_error(funnel("report", "corner.xlsx", cwd=tmp_path))
    assert line.startswith(
        "error: corner.xlsx: sheet 'Deals': its cells span A1:XFD1048576, a grid of "
        f"1,048,576 rows by 16,384 columns ({1_048_576 * 16_384:,} cells), more than"
    )


@pytest.mark.parametrize(
    "far",
    [
        row(1_000_000, '<c r="Z1000000" s="1"/>'),  # a formatted empty cell: no value
        '<row r="1000000" s="1" customFormat="1"/>',  # a formatted empty row
        '<row r="1000000" s="1" customFormat="1"></row>',
    ],
    ids=["empty-cell", "empty-row", "empty-row-closed"],
)
def test_formatting_far_below_the_data_is_read(tmp_path: Path, scan: str, far: str) -> None:
    """calamine skips cells without a value and rows without cells: nothing is allocated,
    so a stray format at row 1,000,000 (26 million cells if counted) is no reason to refuse."""
    header = row(1, text("A1", "Deal"), text("B1", "Stage"), text("Z1", "Amount"))
    build(
        tmp_path / "formatted.xlsx", [Sheet("Deals", f"<sheetData>{header}{DEAL}{far}</sheetData>")]
    )
    outcome = funnel("inspect", "formatted.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert outcome.stderr == ""
    assert "  header on row 1; 1 data rows" in outcome.stdout.splitlines()


def test_a_wrong_dimension_is_not_trusted_and_the_file_reads(tmp_path: Path, scan: str) -> None:
    """<dimension ref="A1:XFD1048576"/> over one deal: the cells decide, not the element."""
    body = f'<dimension ref="A1:XFD1048576"/><sheetData>{HEADER}{DEAL}</sheetData>'
    build(tmp_path / "dimension.xlsx", [Sheet("Deals", body)])
    outcome = funnel("inspect", "dimension.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert outcome.stderr == ""
    assert "  header on row 1; 1 data rows" in outcome.stdout.splitlines()


def test_a_shared_string_over_excels_limit_is_refused(tmp_path: Path, scan: str) -> None:
    """4 MB used by 1,000 cells would be copied into each: 4 GB, then 8 as Python text."""
    header = row(1, text("A1", "Deal"), text("B1", "Stage"), text("C1", "Notes"))
    rows = "".join(
        row(index, text(f"A{index}", f"D{index}"), text(f"B{index}", "Won"))[:-6]
        + f'<c r="C{index}" t="s"><v>0</v></c></row>'
        for index in range(2, 1002)
    )
    build(
        tmp_path / "notes.xlsx",
        [Sheet("Deals", f"<sheetData>{header}{rows}</sheetData>")],
        shared=["x" * (4 * 1024 * 1024)],
    )
    line = one_error(funnel("report", "notes.xlsx", cwd=tmp_path))
    assert line.startswith("error: notes.xlsx: the shared strings: ")
    assert "more than the 32,767 characters a cell can hold" in line
    assert line.endswith("export the deals as CSV")


def test_a_shared_string_just_over_the_limit_is_counted_in_characters(
    tmp_path: Path, scan: str
) -> None:
    """32,768 characters, 'é' two bytes each in UTF-8 and '&amp;' five: characters count."""
    long = "é" * 16_000 + "&amp;" * 16_768
    build(tmp_path / "long.xlsx", [deals_sheet()], shared=["short", long])
    line = one_error(funnel("report", "long.xlsx", cwd=tmp_path))
    assert line == (
        "error: long.xlsx: the shared strings: string 2 holds 32,768 characters, more "
        "than the 32,767 a cell can hold, and is copied into every cell that uses it; "
        "refusing it, as reading it could exhaust memory; export the deals as CSV"
    )


def test_a_shared_string_at_the_limit_is_read(tmp_path: Path) -> None:
    build(tmp_path / "ok.xlsx", [deals_sheet()], shared=["n" * 32_767])
    outcome = funnel("report", "ok.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert outcome.stderr == ""


def test_an_inline_string_over_the_limit_names_its_cell(tmp_path: Path, scan: str) -> None:
    extra = row(3, text("A3", "Beta"), text("B3", "Won"), text("C3", "y" * 40_000))
    build(tmp_path / "inline.xlsx", [deals_sheet(extra=extra)])
    line = one_error(funnel("inspect", "inline.xlsx", cwd=tmp_path))
    assert line == (
        "error: inline.xlsx: sheet 'Deals': cell C3 holds 40,000 characters, more than "
        "the 32,767 a cell can hold; refusing it, as reading it could exhaust memory; "
        "export the deals as CSV"
    )


# --- which sheet -----------------------------------------------------------------------


def test_a_hidden_first_sheet_is_passed_over_for_the_first_visible_one(tmp_path: Path) -> None:
    lookup = Sheet("Lookup", f"<sheetData>{row(1, text('A1', 'x'), text('B1', 'y'))}</sheetData>")
    hidden = Sheet(lookup.name, lookup.body, "hidden")
    build(tmp_path / "book.xlsx", [hidden, deals_sheet()], active=0)
    outcome = funnel("report", "book.xlsx", "--format", "json", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert warnings_of(outcome) == [
        "warning: book.xlsx: reading sheet 'Deals' (the first visible one; 'Lookup' is "
        "hidden); the workbook has no other visible sheet; pick another with --sheet NAME"
    ]
    quiet = funnel("report", "book.xlsx", "--format", "json", "--quiet", cwd=tmp_path)
    assert (quiet.code, quiet.stderr) == (0, "")
    assert quiet.stdout == outcome.stdout


def test_the_active_sheet_is_read_and_named(tmp_path: Path) -> None:
    old = Sheet("Old", f"<sheetData>{HEADER}</sheetData>")
    build(tmp_path / "book.xlsx", [old, deals_sheet(), deals_sheet("Spare")], active=1)
    outcome = funnel("inspect", "book.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert "  sheet 'Deals'" in outcome.stdout.splitlines()
    assert warnings_of(outcome) == [
        "warning: book.xlsx: reading sheet 'Deals' (the active sheet); the other sheets "
        "are: 'Old', 'Spare'; pick another with --sheet NAME"
    ]


def test_a_hidden_active_sheet_is_not_read(tmp_path: Path) -> None:
    build(
        tmp_path / "book.xlsx",
        [deals_sheet("Deals"), deals_sheet("Scratch", state="veryHidden")],
        active=1,
    )
    outcome = funnel("inspect", "book.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert "  sheet 'Deals'" in outcome.stdout.splitlines()
    assert outcome.stderr == ""  # the first sheet: nothing to say


def test_a_named_hidden_sheet_is_read(tmp_path: Path) -> None:
    build(tmp_path / "book.xlsx", [deals_sheet("Deals"), deals_sheet("Old", state="hidden")])
    outcome = funnel("inspect", "book.xlsx", "--sheet", "old", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert "  sheet 'Old'" in outcome.stdout.splitlines()
    assert outcome.stderr == ""


@pytest.mark.parametrize("command", ["report", "inspect"])
def test_a_cover_sheet_without_header_lists_the_other_sheets(tmp_path: Path, command: str) -> None:
    readme = Sheet("README", f"<sheetData>{row(1, text('A1', 'How to use'))}</sheetData>")
    build(
        tmp_path / "book.xlsx",
        [readme, deals_sheet(), deals_sheet("Secret", state="veryHidden")],
    )
    line = one_error(funnel(command, "book.xlsx", cwd=tmp_path))
    assert line == (
        "error: book.xlsx: sheet 'README': no header row in the first 50 non-blank rows "
        "(a header row has at least two text cells); export the deals with a header row; "
        "the other sheets are: 'Deals'; pick one with --sheet NAME"
    )
    assert funnel(command, "book.xlsx", "--sheet", "Deals", cwd=tmp_path).code == 0


# --- formulas without a saved value ----------------------------------------------------


def _formula_book(path: Path) -> Path:
    rows = (
        row(2, text("A2", "Acme"), text("B2", "Won"), '<c r="C2"><f>100*2</f><v /></c>')
        + row(3, text("A3", "Beta"), text("B3", "Won"), '<c r="C3"><f>100*3</f><v>300</v></c>')
        + row(4, text("A4", "Coda"), text("B4", "Won"), '<c r="C4"><f t="shared" si="0"/></c>')
    )
    return build(path, [Sheet("Deals", f"<sheetData>{HEADER}{rows}</sheetData>")])


@pytest.mark.parametrize("command", ["report", "inspect"])
def test_formulas_without_a_saved_value_are_named(tmp_path: Path, command: str, scan: str) -> None:
    _formula_book(tmp_path / "f.xlsx")
    outcome = funnel(command, "f.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    # C2 and C4 hold a formula and no value; C3's saved 300 is read.
    assert warnings_of(outcome) == [
        "warning: f.xlsx: sheet 'Deals': 2 cells hold formulas saved without a value, read "
        "as empty: column C 'Amount' (2); open the file in Excel or LibreOffice and save "
        "it to compute them"
    ]
    assert funnel(command, "f.xlsx", "--quiet", cwd=tmp_path).stderr == ""


def test_a_full_sheet_of_real_data_is_within_the_caps() -> None:
    """1,048,576 rows of 20 filled columns, too large to build here, passes the caps."""
    from funnelcli.readers.tabular import xlsx_scan

    rows, columns = 1_048_576, 20
    full = xlsx_scan._Facts(cells=rows * columns, last_row=rows, last_column=columns)
    xlsx_scan._refuse_grid(full, "deals.xlsx: sheet 'Deals'")  # no error
    # 100 columns of which 5 are filled, 200,000 rows: 20 times sparse, still read.
    sparse = xlsx_scan._Facts(cells=200_000 * 5, last_row=200_000, last_column=100)
    xlsx_scan._refuse_grid(sparse, "deals.xlsx: sheet 'Deals'")
    assert rows * columns < xlsx_scan.MAX_CELLS


@pytest.mark.parametrize(
    "cell",
    [
        '<c r="xfd20000"><v>1</v></c>',  # calamine reads it as XFD20000
        '<c\tr="XFD20000"><v>1</v></c>',
        '<c\nr="XFD20000"><v>1</v></c>',
        "<c r='XFD20000'><v>1</v></c>",
        '<c r = "XFD20000"><v>1</v></c>',
        '<c s="0" r="XFD20000"><v>1</v></c>',
    ],
    ids=["lower-case", "tab", "line-break", "single-quotes", "spaces", "r-not-first"],
)
def test_a_far_cell_written_otherwise_is_refused(tmp_path: Path, cell: str, scan: str) -> None:
    build(tmp_path / "far.xlsx", [deals_sheet(extra=f'<row r="20000">{cell}</row>')])
    line = one_error(funnel("report", "far.xlsx", cwd=tmp_path))
    assert "its cells span A1:XFD20000, a grid of 20,000 rows by 16,384 columns" in line


def test_a_far_cell_under_a_namespace_prefix_is_refused(tmp_path: Path, scan: str) -> None:
    body = (
        f"<x:sheetData>{HEADER}{DEAL}{row(20000, number('XFD20000', 1))}</x:sheetData>".replace(
            "<row", "<x:row"
        )
        .replace("</row", "</x:row")
        .replace("<c ", "<x:c ")
        .replace("</c>", "</x:c>")
        .replace("<v>", "<x:v>")
        .replace("</v>", "</x:v>")
        .replace("<is>", "<x:is>")
        .replace("</is>", "</x:is>")
        .replace("<t>", "<x:t>")
        .replace("</t>", "</x:t>")
    )
    whole = f'<x:worksheet xmlns:x="{_MAIN}">{body}</x:worksheet>'
    build(tmp_path / "far.xlsx", [Sheet("Deals", whole)])
    line = one_error(funnel("report", "far.xlsx", cwd=tmp_path))
    assert "its cells span A1:XFD20000" in line


def test_shared_strings_copied_into_too_many_cells_are_refused(tmp_path: Path, scan: str) -> None:
    """30,000 characters, under Excel's limit, used by 40,000 cells: 1.2 billion copied."""
    header = row(1, text("A1", "Deal"), text("B1", "Stage"), text("C1", "Notes"))
    rows = "".join(
        f'<row r="{index}">{text(f"A{index}", "D")}{text(f"B{index}", "Won")}'
        f'<c r="C{index}" t="s"><v>1</v></c></row>'
        for index in range(2, 40_002)
    )
    build(
        tmp_path / "notes.xlsx",
        [Sheet("Deals", f"<sheetData>{header}{rows}</sheetData>")],
        shared=["short", "n" * 30_000],
    )
    line = one_error(funnel("report", "notes.xlsx", cwd=tmp_path))
    assert line == (
        "error: notes.xlsx: sheet 'Deals': its cells copy "
        f"{30_000 * 40_000:,} characters of shared strings, more than the 500,000,000 "
        "funnel reads (string 2, 30,000 characters, is used by 40,000 cells); refusing it, "
        "as reading it could exhaust memory; export the deals as CSV"
    )


def test_shared_strings_used_by_few_cells_are_read(tmp_path: Path) -> None:
    """The same string in 100 cells: 3 million characters, read."""
    rows = "".join(
        f'<row r="{index}">{text(f"A{index}", "D")}{text(f"B{index}", "Won")}'
        f'<c r="C{index}" t="s"><v>0</v></c></row>'
        for index in range(2, 102)
    )
    header = row(1, text("A1", "Deal"), text("B1", "Stage"), text("C1", "Notes"))
    build(
        tmp_path / "notes.xlsx",
        [Sheet("Deals", f"<sheetData>{header}{rows}</sheetData>")],
        shared=["n" * 30_000],
    )
    outcome = funnel("inspect", "notes.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert "  header on row 1; 100 data rows" in outcome.stdout.splitlines()


def test_a_hidden_first_sheet_and_a_visible_active_one(tmp_path: Path) -> None:
    lookup = Sheet("Lookup", "<sheetData/>", "hidden")
    build(tmp_path / "book.xlsx", [lookup, deals_sheet("Spare"), deals_sheet()], active=2)
    outcome = funnel("inspect", "book.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert "  sheet 'Deals'" in outcome.stdout.splitlines()
    assert warnings_of(outcome) == [
        "warning: book.xlsx: reading sheet 'Deals' (the active sheet; 'Lookup' is hidden); "
        "the other sheets are: 'Spare'; pick another with --sheet NAME"
    ]


def test_the_other_sheets_listed_are_capped(tmp_path: Path) -> None:
    readme = Sheet("README", f"<sheetData>{row(1, text('A1', 'How to use'))}</sheetData>")
    months = [deals_sheet(f"M{month}") for month in range(1, 11)]
    build(tmp_path / "book.xlsx", [readme, *months])
    line = one_error(funnel("report", "book.xlsx", cwd=tmp_path))
    listed = ", ".join(f"'M{month}'" for month in range(1, 9))
    assert line.endswith(f"; the other sheets are: {listed} and 2 more; pick one with --sheet NAME")


def test_formulas_written_by_openpyxl_are_counted_per_column(tmp_path: Path, scan: str) -> None:
    """openpyxl saves a formula with no value: five deals, amount and tax both formulas."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Deals"
    sheet.append(["Deal", "Stage", "Amount", "Tax"])
    for index in range(2, 7):
        sheet.append([f"D{index}", "Won", f"=100*{index}", f"=C{index}*0.2"])
    workbook.save(tmp_path / "book.xlsx")
    outcome = funnel("report", "book.xlsx", cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert warnings_of(outcome) == [
        "warning: book.xlsx: sheet 'Deals': 10 cells hold formulas saved without a value, "
        "read as empty: columns C 'Amount' (5), D 'Tax' (5); open the file in Excel or "
        "LibreOffice and save it to compute them"
    ]


@pytest.mark.parametrize(
    "xml",
    [
        HEADER + DEAL,
        HEADER + DEAL + row(20000, number("XFD20000", 1)),
        HEADER + row(7, number("B7", 1), '<c r="A0009"><v>2</v></c>') + row(3, number("Z3", 1)),
        HEADER + '<row r="99"><c r="C5"/></row>' + row(4, number("AA4", 1)),
        HEADER + row(5, '<c r="xfd5"><v>1</v></c>'),
        HEADER + row(5, '<c\tr="XFD5"><v>1</v></c>'),
        HEADER + row(5, "<c><v>1</v></c>"),
        HEADER + row(5, '<c r="A123456789"><v>1</v></c>'),
        HEADER + row(5, '<c r="B5"><f>1+1</f></c>'),
        HEADER + DEAL + row(20000, '<c r="XFD20000" s="1"/>'),
        HEADER + DEAL + '<row r="20000" s="1"/>' + row(3, number("A3", 1)),
    ],
)
def test_the_compiled_scan_finds_what_the_python_scan_finds(xml: str) -> None:
    from funnelcli.readers.tabular import xlsx_scan

    compiled = xlsx_scan._compiled_scan()
    if compiled is None:
        pytest.skip("built without a C compiler")
    data = xml.encode()
    patterns = xlsx_scan._Patterns(b"")
    in_python = xlsx_scan._Facts()
    xlsx_scan._scan_chunk_in_python(data, patterns, in_python)
    cells, last_row, last_column, irregular, formulas, copies = compiled.scan(data, b"", b"")
    assert copies == 0
    assert irregular == in_python.irregular
    assert formulas == (b"<f" in data)
    if not irregular:  # an irregular sheet is scanned again, the exact way
        assert (cells, last_row, last_column) == (
            in_python.cells,
            in_python.last_row,
            in_python.last_column,
        )


def test_the_compiled_string_lengths_are_the_characters_of_plain_text() -> None:
    """Bytes bound characters; for ASCII without entities they are the characters."""
    import array

    from funnelcli.readers.tabular import xlsx_scan

    compiled = xlsx_scan._compiled_scan()
    if compiled is None:
        pytest.skip("built without a C compiler")
    xml = (
        b"<sst><si><t>Acme</t></si><si><r><t>Big </t></r><r><rPr><b/></rPr><t>deal</t></r>"
        b'<rPh sb="0" eb="1"><t>phonetic</t></rPh></si><si/><si><t xml:space="preserve">'
        b"  x </t></si></sst>"
    )
    lengths = array.array("I")
    lengths.frombytes(compiled.string_lengths(xml))
    in_python = [xlsx_scan._string_characters(found) for found in xlsx_scan._STRING.findall(xml)]
    assert list(lengths) == in_python == [4, 8, 0, 4]
