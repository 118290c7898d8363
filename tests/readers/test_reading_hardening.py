"""Reading hostile or odd exports: zip bombs, a wrong --encoding, UTF-8 with cp1252 rows,
and a file with 10,000 columns but no stage column."""

from __future__ import annotations

import csv
import datetime as dt
import os
import re
import resource
import struct
import subprocess
import sys
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pytest

from funnelcli.definition import default_funnel
from funnelcli.errors import ExportError
from funnelcli.readers.columns import map_columns
from funnelcli.readers.export import ReadOptions, report_export, require_stage_column
from funnelcli.readers.tabular import xlsx
from funnelcli.readers.tabular.encoding import MIXED_ENCODING
from funnelcli.readers.tabular.read import read_table
from funnelcli.readers.tabular.xlsx import XLSX_MAX_INFLATED, XLSX_MAX_RATIO, XLSX_RATIO_FLOOR
from funnelcli.render.json_report import report_json

from ..conftest import line_matching
from ..processes import run

MEMORY_LIMIT = 512 * 1024 * 1024
MiB = 1024 * 1024


@pytest.fixture
def in_tmp(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run in tmp_path, so messages name files as a user would type them."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def error_of(path: str, *, encoding: str | None = None) -> str:
    with pytest.raises(ExportError) as caught, read_table(path, encoding=encoding) as table:
        list(table.rows)
    return str(caught.value)


# --- XLSX: zip bombs ---------------------------------------------------------

_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="xml" ContentType="application/xml"/><Default '
    'Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/{part}" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId7"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet" Target="{sheet}"/></Relationships>'
)
_SHEET_HEAD = (
    b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
    b'2006/main"><sheetData>'
)
_SHEET_TAIL = b"</sheetData></worksheet>"
_HEADER_ROW = (
    b'<row r="1"><c r="A1" t="inlineStr"><is><t>Deal</t></is></c>'
    b'<c r="B1" t="inlineStr"><is><t>Stage</t></is></c></row>'
)


def _cells(number: int, deal: str, stage: str) -> bytes:
    return (
        f'<row r="{number}"><c r="A{number}" t="inlineStr"><is><t>{deal}</t></is></c>'
        f'<c r="B{number}" t="inlineStr"><is><t>{stage}</t></is></c></row>'
    ).encode()


def write_xlsx(
    path: Path,
    sheet: Iterable[bytes],
    *,
    name: str = "Deals",
    sheet_path: str = "worksheets/sheet1.xml",
    extra: dict[str, Iterable[bytes]] | None = None,
) -> None:
    """A minimal workbook of one sheet, streamed from ``sheet`` (and ``extra`` parts).

    ``sheet_path`` is the relationship's target: relative to xl/, or absolute.
    """
    part = sheet_path[1:] if sheet_path.startswith("/") else f"xl/{sheet_path}"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES.format(part=part))
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK.format(name=name))
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS.format(sheet=sheet_path))
        parts = {part: sheet, **(extra or {})}
        for name, chunks in parts.items():
            with archive.open(name, "w", force_zip64=True) as stream:
                for chunk in chunks:
                    stream.write(chunk)


def _bomb(filler: bytes, *, in_a_cell: bool, mebibytes: int = 150) -> Iterable[bytes]:
    """Sheet XML holding ``mebibytes`` MiB of ``filler``: one cell's text, or between rows."""
    if in_a_cell:
        yield _SHEET_HEAD + _HEADER_ROW + b'<row r="2"><c r="A2" t="inlineStr"><is><t>'
    else:
        yield _SHEET_HEAD
    block = filler * MiB
    for _ in range(mebibytes):
        yield block
    yield b"</t></is></c></row>" + _SHEET_TAIL if in_a_cell else _SHEET_TAIL


def _sizes(path: Path, part: str) -> tuple[int, int]:
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(part)
    return info.file_size, info.compress_size


def bomb_message(source: str, what: str, path: Path, part: str) -> str:
    inflated, packed = _sizes(path, part)
    assert inflated > XLSX_RATIO_FLOOR and inflated > XLSX_MAX_RATIO * packed
    return (
        f"{source}: {what} would inflate to {inflated / MiB:.0f} MiB from "
        f"{packed / 1024:.0f} KiB ({inflated // packed:,}x); "
        "refusing what looks like a zip bomb; export the deals as CSV"
    )


@pytest.mark.parametrize("use_calamine", [True, False], ids=["calamine", "openpyxl"])
@pytest.mark.parametrize(("filler", "in_a_cell"), [(b"0", True), (b" ", False)])
def test_a_sheet_inflating_a_thousand_times_is_refused_before_it_is_read(
    in_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
    use_calamine: bool,
    filler: bytes,
    in_a_cell: bool,
) -> None:
    monkeypatch.setattr(xlsx, "USE_CALAMINE", use_calamine)
    write_xlsx(in_tmp / "bomb.xlsx", _bomb(filler, in_a_cell=in_a_cell))
    message = bomb_message(
        "bomb.xlsx", "sheet 'Deals'", in_tmp / "bomb.xlsx", "xl/worksheets/sheet1.xml"
    )
    assert error_of("bomb.xlsx") == message
    assert re.search(r"would inflate to 150 MiB from 1\d\d KiB \(1,0\d\dx\)", message)


def test_the_sheet_is_named_as_the_workbook_names_it(in_tmp: Path) -> None:
    write_xlsx(
        in_tmp / "bomb.xlsx",
        _bomb(b"0", in_a_cell=True, mebibytes=40),
        name="R&amp;D deals",
        sheet_path="/xl/worksheets/deals.xml",
    )
    assert error_of("bomb.xlsx") == bomb_message(
        "bomb.xlsx", "sheet 'R&D deals'", in_tmp / "bomb.xlsx", "xl/worksheets/deals.xml"
    )


def test_shared_strings_and_other_parts_are_checked_too(in_tmp: Path) -> None:
    sheet = [_SHEET_HEAD, _HEADER_ROW, _cells(2, "Acme", "Won"), _SHEET_TAIL]
    strings = _bomb(b"x", in_a_cell=False, mebibytes=40)
    write_xlsx(in_tmp / "strings.xlsx", sheet, extra={"xl/sharedStrings.xml": strings})
    assert error_of("strings.xlsx") == bomb_message(
        "strings.xlsx", "the shared strings", in_tmp / "strings.xlsx", "xl/sharedStrings.xml"
    )
    styles = _bomb(b" ", in_a_cell=False, mebibytes=40)
    write_xlsx(in_tmp / "styles.xlsx", sheet, extra={"xl/styles.xml": styles})
    assert error_of("styles.xlsx") == bomb_message(
        "styles.xlsx", "part xl/styles.xml", in_tmp / "styles.xlsx", "xl/styles.xml"
    )


def _declare_sizes(path: Path, size: int, prefix: str) -> None:
    """Rewrite the ZIP directory so the parts under ``prefix`` claim to inflate to ``size``.

    Only the directory is read before a read is refused, so a forged directory tests the
    whole-archive cap without writing gigabytes.
    """
    data = bytearray(path.read_bytes())
    end = data.rindex(b"PK\x05\x06")
    (count,) = struct.unpack_from("<H", data, end + 10)
    (position,) = struct.unpack_from("<I", data, end + 16)
    for _ in range(count):
        assert data[position : position + 4] == b"PK\x01\x02"
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, position + 28)
        name = data[position + 46 : position + 46 + name_length].decode()
        if name.startswith(prefix):
            struct.pack_into("<I", data, position + 24, size)
        position += 46 + name_length + extra_length + comment_length
    path.write_bytes(bytes(data))


def test_the_whole_archive_is_capped(in_tmp: Path) -> None:
    """70 parts of 31 MiB each: none is refused alone (under the 32 MiB floor), 2.1 GiB are."""
    sheet = [_SHEET_HEAD, _HEADER_ROW, _cells(2, "Acme", "Won"), _SHEET_TAIL]
    media = {f"xl/media/image{index}.bin": [b"\x00" * 1000] for index in range(70)}
    write_xlsx(in_tmp / "many.xlsx", sheet, extra=media)
    _declare_sizes(in_tmp / "many.xlsx", 31 * MiB, "xl/media/")
    assert 70 * 31 * MiB > XLSX_MAX_INFLATED
    assert error_of("many.xlsx") == (
        "many.xlsx: the workbook would inflate to 2.1 GiB, more than the 2 GiB funnel reads "
        "from an XLSX file; export the deals as CSV"
    )


def test_a_real_sheet_above_the_floor_at_a_real_ratio_is_read(in_tmp: Path) -> None:
    """Styled empty rows below the data, as Excel keeps them: 36 MiB of XML at about 21x."""
    empty_rows = (
        b"".join(
            b'<row r="%d" spans="1:2" ht="15" customHeight="1"/>' % number
            for number in range(start, min(start + 100_000, 700_000))
        )
        for start in range(5, 700_000, 100_000)
    )
    sheet = [
        _SHEET_HEAD,
        _HEADER_ROW,
        _cells(2, "Acme", "Won"),
        _cells(3, "Globex", "Lead"),
        _cells(4, "Initech", "Demo"),
        *empty_rows,
        _SHEET_TAIL,
    ]
    write_xlsx(in_tmp / "styled.xlsx", sheet)
    inflated, packed = _sizes(in_tmp / "styled.xlsx", "xl/worksheets/sheet1.xml")
    assert inflated > XLSX_RATIO_FLOOR
    assert 15 * packed < inflated < XLSX_MAX_RATIO * packed
    with read_table("styled.xlsx") as table:
        assert table.header == ("Deal", "Stage")
        assert [cells for _, cells in table.rows][:3] == [
            ("Acme", "Won"),
            ("Globex", "Lead"),
            ("Initech", "Demo"),
        ]


def test_the_benchmark_export_passes_the_ratio_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The benchmark's workbook, as benchmarks/xlsx_speed.py writes it, is not a zip bomb.

    At 100,000 deals it is 6.3 MiB holding 52 MiB of sheet XML (8.2x), over the floor of the
    ratio rule. The same rows at 2,000 deals pack alike; with the floor at 0 the rule
    applies to them, and a real export must pass it.
    """
    import openpyxl
    from benchmarks.generate import write_export
    from benchmarks.xlsx_speed import _typed

    deals = 2_000
    source, path = tmp_path / "deals.csv", tmp_path / "deals.xlsx"
    write_export(deals, source)
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Deals")
    with source.open(newline="", encoding="utf-8") as stream:
        rows = csv.reader(stream)
        sheet.append(next(rows))
        for cells in rows:
            sheet.append([_typed(index, text) for index, text in enumerate(cells)])
    workbook.save(path)
    inflated, packed = _sizes(path, "xl/worksheets/sheet1.xml")
    assert 4 * packed < inflated < XLSX_MAX_RATIO * packed  # packs like the 100k one, under 100x
    monkeypatch.setattr(xlsx, "XLSX_RATIO_FLOOR", 0)
    with read_table(path) as table:
        assert table.header[:3] == ("Record ID", "Deal Name", "Deal Stage")
        assert sum(1 for _ in table.rows) == deals


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _funnel_cli(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m funnelcli`` under the 512 MB address-space limit, as a cron job runs it."""
    environment = {**os.environ, "TERM": "dumb", "COLUMNS": "80"}
    return run(
        [sys.executable, "-m", "funnelcli", *args],
        cwd=tmp,
        env=environment,
        preexec_fn=_limit_memory,  # no other thread runs in a plain pytest process
    )


@pytest.mark.parametrize("command", ["report", "inspect"])
def test_a_bomb_under_512_mb_is_one_error_line(tmp_path: Path, command: str) -> None:
    write_xlsx(tmp_path / "zip_bomb.xlsx", _bomb(b"0", in_a_cell=True))
    args = ["--as-of", "2025-06-30", "--format", "json"] if command == "report" else []
    result = _funnel_cli(tmp_path, command, "zip_bomb.xlsx", *args)
    message = bomb_message(
        "zip_bomb.xlsx", "sheet 'Deals'", tmp_path / "zip_bomb.xlsx", "xl/worksheets/sheet1.xml"
    )
    assert (result.returncode, result.stdout, result.stderr) == (2, "", f"error: {message}\n")


# --- CSV: a wrong --encoding -------------------------------------------------


UTF16_REFUSED = line_matching(
    "deals.csv: ",
    re.compile(
        r"(cannot read the file as utf-16 \([^\n]*\); "
        r"|line 1: bytes 44 65 are not valid utf-16; try --encoding utf-8, or )"
    ),
    "leave --encoding out to detect it",
)
"""A wrong --encoding utf-16: the project's words around the codec's, or its own line."""


def test_utf16_given_for_a_utf8_file_is_one_line(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_text("Deal,Stage\nAcme,Won\n")
    # Python 3.11 and 3.12 refuse UTF-16 without a BOM in the codec (its own words); 3.13
    # decodes it as little-endian and the reader finds the bytes invalid. One line either way.
    assert UTF16_REFUSED.fullmatch(error_of("deals.csv", encoding="utf-16"))


def test_a_codec_that_fails_on_any_input_is_one_line(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_text("Deal,Stage\nAcme,Won\n")
    assert error_of("deals.csv", encoding="undefined") == (
        "deals.csv: cannot read the file as undefined (undefined encoding); "
        "leave --encoding out to detect it"
    )


def test_utf16_given_for_a_utf8_file_through_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "deals.csv").write_text("Deal,Stage\nAcme,Won\n")
    result = _funnel_cli(tmp_path, "report", "deals.csv", "--encoding", "utf-16", "-f", "json")
    assert (result.returncode, result.stdout) == (2, "")
    assert UTF16_REFUSED.fullmatch(result.stderr.removeprefix("error: ").removesuffix("\n"))


# --- CSV: UTF-8 with rows in cp1252 ------------------------------------------

HEADER = "id,name,stage,amount,created,closed,owner\n"
STRAY = (HEADER + "D01,Café Ltd,Won,12000,2025-01-06,2025-02-15,Ana\n").encode() + (
    b"D02,Caf\xe9 \x93Two\x94,Lead,8000,2025-06-03,,Ben\n"
)


def test_a_utf8_file_with_one_cp1252_row_reads_both_right_and_says_so(in_tmp: Path) -> None:
    (in_tmp / "stray.csv").write_bytes(STRAY)
    with read_table("stray.csv") as table:
        rows = [cells[:3] for _, cells in table.rows]
    assert rows == [("D01", "Café Ltd", "Won"), ("D02", "Café “Two”", "Lead")]
    assert table.encoding == MIXED_ENCODING == "utf-8+cp1252"
    assert table.encoding_note == (
        "stray.csv: row 3 is not UTF-8 though the rest of the file is; read the bytes that "
        "are not UTF-8 as cp1252 (E9 as 'é') and the rest as UTF-8; "
        "pass --encoding utf-8 or --encoding cp1252 to choose"
    )
    # What the command line prints must satisfy tests/system/test_bad_inputs.py's case.
    pattern = r"warning: stray_cp1252\.csv: .*row 3.*--encoding.*"
    assert re.fullmatch(pattern, f"warning: {table.encoding_note}".replace("stray", "stray_cp1252"))


def test_rows_are_counted_once_across_chunks_and_crlf(in_tmp: Path) -> None:
    """Bad bytes on both sides of the 1 MiB chunk boundary of one line count as one row."""
    prefix = b"Deal,Stage\r\nCaf\xc3\xa9,Won\r\nCaf\xe9,Won\r\n" + b"Acme,Lead\r\n" * 95_000
    straddling = b"x" * (MiB - 2 - len(prefix)) + b"\x93\x93\x94\x94,Won\r\n"
    data = prefix + straddling + b"M\xfcller,Won\r\n"
    (in_tmp / "deals.csv").write_bytes(data)
    assert data[MiB - 2 : MiB + 2] == b"\x93\x93\x94\x94"  # the chunks the scan reads
    with read_table("deals.csv") as table:
        rows = [cells for _, cells in table.rows]
    assert rows[1] == ("Café", "Won") and rows[-1] == ("Müller", "Won")
    assert rows[-2][0].endswith("““””")
    assert table.encoding_note == (
        "deals.csv: 3 rows are not UTF-8 (the first is row 3) though the rest of the file is; "
        "read the bytes that are not UTF-8 as cp1252 (E9 as 'é') and the rest as UTF-8; "
        "pass --encoding utf-8 or --encoding cp1252 to choose"
    )


def test_a_cp1252_file_without_utf8_characters_is_cp1252_without_a_note(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_bytes(b"Deal,Stage\nCaf\xe9 \x80,Won\n")
    with read_table("deals.csv") as table:
        assert (table.encoding, table.encoding_note) == ("cp1252", None)
        assert [cells for _, cells in table.rows] == [("Café €", "Won")]


def test_a_utf8_file_has_no_note(in_tmp: Path) -> None:
    (in_tmp / "deals.csv").write_text("Deal,Stage\nCafé,Won\n")
    with read_table("deals.csv") as table:
        assert (table.encoding, table.encoding_note) == ("utf-8", None)


def test_choosing_an_encoding_for_a_mixed_file(in_tmp: Path) -> None:
    (in_tmp / "stray.csv").write_bytes(STRAY)
    assert error_of("stray.csv", encoding="utf-8") == (
        "stray.csv: line 3: byte E9 is not valid utf-8; "
        "try --encoding cp1252, or leave --encoding out to detect it"
    )
    with read_table("stray.csv", encoding="cp1252") as table:
        assert table.encoding_note is None
        assert [cells[1] for _, cells in table.rows] == ["CafÃ© Ltd", "Café “Two”"]


def test_the_mixed_encoding_names_the_same_reading_again(in_tmp: Path) -> None:
    """A second read (date scan, second process) passes table.encoding as a given encoding."""
    (in_tmp / "stray.csv").write_bytes(STRAY)
    with read_table("stray.csv") as detected:
        first = list(detected.rows)
    with read_table("stray.csv", encoding=detected.encoding) as again:
        assert (again.encoding, again.encoding_note) == (MIXED_ENCODING, None)
        assert list(again.rows) == first


def test_two_processes_read_a_large_mixed_file_as_one_does(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [f"D{index},Café {index},Won,100,2025-01-06,2025-02-15,Ana\n" for index in range(90_000)]
    data = (HEADER + "".join(rows)).encode() + b"D-1,Caf\xe9,Lead,5,2025-06-03,,Ben\n"
    (in_tmp / "big.csv").write_bytes(data)
    assert len(data) > 4 * MiB  # PARALLEL_MIN_BYTES
    with read_table("big.csv") as table:
        assert table.encoding == MIXED_ENCODING

    def report(workers: str) -> str:
        monkeypatch.setenv("FUNNEL_WORKERS", workers)
        result = report_export(
            "big.csv", default_funnel(), as_of=dt.date(2025, 6, 30), options=ReadOptions()
        )
        return report_json(result, "funnel", "export")

    assert report("2") == report("1")
    assert '"read": 90001' in report("1")


# --- no stage column among 10,000 --------------------------------------------


def _stage_error(headers: list[str]) -> str:
    columns = map_columns(headers, default_funnel(), "wide.csv")
    with pytest.raises(ExportError) as caught:
        require_stage_column(columns, default_funnel(), "wide.csv")
    return str(caught.value)


def test_10000_columns_without_a_stage_says_how_many_are_not_listed() -> None:
    listed = ", ".join(f"c{index}" for index in range(12))
    assert _stage_error([f"c{index}" for index in range(10_000)]) == (
        f"wide.csv: no stage column found (its 10,000 columns are: {listed} and 9,988 more); "
        "name it in funnel.yaml under columns:, like columns: {stage: Deal Stage}"
    )


def test_up_to_12_columns_are_all_listed_and_unnamed_ones_not_counted() -> None:
    headers = [f"c{index}" for index in range(12)]
    listed = ", ".join(headers)
    assert _stage_error([*headers, "", ""]) == (
        f"wide.csv: no stage column found (its columns are: {listed}); "
        "name it in funnel.yaml under columns:, like columns: {stage: Deal Stage}"
    )
    assert _stage_error([*headers, "c12"]) == (
        f"wide.csv: no stage column found (its 13 columns are: {listed} and 1 more); "
        "name it in funnel.yaml under columns:, like columns: {stage: Deal Stage}"
    )
