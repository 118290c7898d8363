"""A corpus of bad inputs, each with the exit code and the stderr it must give.

Every case runs ``python -m funnelcli`` as a real process with stdout piped, the way a
cron job runs it, in a temporary folder of its own (so no ``./funnel.yaml`` is picked
up). The inputs are the small files in ``tests/data/bad/``; large, binary or
path-dependent ones are generated into the case's folder. In a command line ``{data}``
is ``tests/data/bad`` and ``{tmp}`` the case's folder, which always holds ``in.csv``
(a copy of ``small.csv``), ``funnel.yaml`` and ``file.txt`` (an empty regular file).

Every case asserts the exit code; that stderr holds only ``error:``, ``warning:`` and
``alert:`` lines and never a traceback; that a failure writes nothing on stdout and
exactly the expected error line(s), with ``warning:`` lines besides only where the case
allows them (the whole line, or a prefix or a one-line regex where the line names a
temporary path or the right wording is still to be chosen); and, with ``--output``, that a failure leaves no file and no temporary
file behind. A case the tool gets wrong today is marked ``xfail(strict=True)`` with the
bug as the reason: it states the right outcome, so fixing the bug turns it into a pass.

The cases run in two threads; those that feed bombs (YAML aliases, a zip bomb, a 50 MB
field) run afterwards, one by one, under an address-space limit of 512 MB set with
``resource.setrlimit`` in ``preexec_fn`` (which is only safe with no other thread).
The cases that hang today get 10 s instead of 60 s, to keep the whole file near 30 s.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..conftest import DATA
from ..processes import kill_group

BAD = DATA / "bad"
TIMEOUT = 60.0
HANG_TIMEOUT = 10.0  # cases that hang today: a fixed tool answers them in well under a second
MEMORY_LIMIT = 512 * 1024 * 1024
WORKERS = 2

Maker = Callable[[Path], None]


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, and what the tool must do with it."""

    id: str
    command: str  # split like a shell would; {data} and {tmp} are filled in
    code: int
    stderr: str  # the expected non-warning line(s), "" for none
    match: str = "exact"  # "exact"; "prefix" when the line varies; "regex" (one line)
    warnings: bool = False  # `warning: ` lines allowed besides the expected ones
    make: tuple[Maker, ...] = ()
    output: str | None = None  # --output's path: a failure must leave nothing there
    unchanged: str | None = None  # an input that must stay byte for byte as it was
    absent: str | None = None  # a file that must never appear
    stdout: str | None = None  # text stdout must contain
    memory: bool = False  # run under the 512 MB address-space limit
    timeout: float = TIMEOUT
    bug: str | None = None  # why the tool fails this case today

    def fill(self, text: str, tmp: Path, *, escape: bool = False) -> str:
        def quoted(value: str) -> str:
            return re.escape(value) if escape else value

        return text.replace("{data}", quoted(str(BAD))).replace("{tmp}", quoted(str(tmp)))


@dataclass(frozen=True)
class Outcome:
    code: int | None  # None: killed after the case's timeout
    stdout: str
    stderr: str
    seconds: float
    output_left: bool
    temporaries_left: list[str]
    absent_exists: bool
    unchanged: bool


# ---------------------------------------------------------------------------------------
# Generated inputs


def _write(name: str, data: bytes) -> Maker:
    def make(tmp: Path) -> None:
        (tmp / name).write_bytes(data)

    return make


HEADER = "id,name,stage,amount,created,closed,owner\n"
ROWS = (
    "D01,Acme - Renewal,Won,12000,2025-01-06,2025-02-15,Ana\n"
    "D02,Globex - New logo,Lead,8000,2025-06-03,,Ben\n"
    "D03,Initech - Platform,Proposal,5000,2025-04-01,,Ana\n"
)


def _python_tag(tmp: Path) -> None:
    (tmp / "python_tag.yaml").write_text(
        f'name: Evil\nstages: !!python/object/apply:os.system ["touch {tmp}/pwned"]\n'
    )


def _many_stages(tmp: Path) -> None:
    lines = ["name: Ten thousand stages", "stages:"]
    for index in range(10_000):
        lines.append(f"  - name: Stage {index}")
        if index < 9_999:
            lines.append("    conversion: 99%")
    (tmp / "many_stages.yaml").write_text("\n".join(lines) + "\n")


def _big_int(tmp: Path) -> None:
    (tmp / "big_int.yaml").write_text(
        "name: Big\naverage_deal_value: 1" + "0" * 5000 + "\n"
        "stages:\n  - name: Lead\n    conversion: 25%\n  - name: Won\n"
    )


def _too_big_yaml(tmp: Path) -> None:
    (tmp / "too_big.yaml").write_text("name: Padded\n" + "# padding\n" * 120_000)


def _xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    for line in (HEADER + ROWS).splitlines():
        sheet.append(line.split(","))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _workbook(tmp: Path) -> None:
    (tmp / "deals.xlsx").write_bytes(_xlsx_bytes())


def _truncated_xlsx(tmp: Path) -> None:
    data = _xlsx_bytes()
    (tmp / "truncated.xlsx").write_bytes(data[: len(data) // 2])


def _chart_only(tmp: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.chart import BarChart

    workbook = Workbook()
    workbook.create_chartsheet("Chart").add_chart(BarChart())
    workbook.remove(workbook.active)
    workbook.save(tmp / "chart_only.xlsx")


_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="xml" ContentType="application/xml"/><Default '
    'Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
    'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
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
    '<sheets><sheet name="Deals" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def _zip_bomb(name: str, *, filler: bytes, in_a_cell: bool) -> Maker:
    """A valid XLSX, 200 KB on disk, whose sheet XML inflates to 150 MB.

    ``in_a_cell``: the run of ``filler`` is one cell's text below a Stage header;
    otherwise it is whitespace between the elements of an empty sheet.
    """

    def make(tmp: Path) -> None:
        head = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        tail = b"</sheetData></worksheet>"
        if in_a_cell:
            head += b'<row r="1"><c r="A1" t="inlineStr"><is><t>Stage</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>'
            tail = b"</t></is></c></row>" + tail
        with zipfile.ZipFile(tmp / name, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
            archive.writestr("_rels/.rels", _RELS)
            archive.writestr("xl/workbook.xml", _WORKBOOK)
            archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
            with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                sheet.write(head)
                block = filler * (1024 * 1024)
                for _ in range(150):
                    sheet.write(block)
                sheet.write(tail)

    return make


def _big_field(tmp: Path) -> None:
    with (tmp / "big_field.csv").open("w") as file:
        file.write(HEADER + 'D01,"')
        block = "x" * (1024 * 1024)
        for _ in range(50):
            file.write(block)
        file.write('",Won,12000,2025-01-06,2025-02-15,Ana\n')


def _wide(tmp: Path) -> None:
    """10,000 columns: the seven a report needs, then 9,993 others."""
    extra = 10_000 - 7
    header = HEADER.strip().split(",") + [f"x{index}" for index in range(extra)]
    rows = [line.split(",") + ["v"] * extra for line in ROWS.splitlines()]
    (tmp / "wide.csv").write_text("\n".join(",".join(row) for row in [header, *rows]) + "\n")


def _wide_without_stage(tmp: Path) -> None:
    header = ",".join(f"c{index}" for index in range(10_000))
    (tmp / "wide_no_stage.csv").write_text(header + "\n" + ",".join("v" * 10_000) + "\n")


GENERATED: dict[str, Maker] = {
    "python_tag": _python_tag,
    "many_stages": _many_stages,
    "big_int": _big_int,
    "too_big_yaml": _too_big_yaml,
    "nul_yaml": _write("nul_byte.yaml", b"name: Nul\x00\nstages: [{name: Lead}, {name: Won}]\n"),
    "utf16_yaml": _write(
        "utf16.yaml", "\ufeffname: Wide\nstages: [{name: Lead}, {name: Won}]\n".encode("utf-16-le")
    ),
    "garbage": _write("garbage.csv", bytes(range(256)) * 16),
    "png": _write("png.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200),
    "truncated": _truncated_xlsx,
    "chart_only": _chart_only,
    "bomb_cell": _zip_bomb("zip_bomb.xlsx", filler=b"0", in_a_cell=True),
    "bomb_spaces": _zip_bomb("zip_bomb_spaces.xlsx", filler=b" ", in_a_cell=False),
    "nul_csv": _write(
        "nul.csv", (HEADER + "D01,Ac\x00me,Won,12000,2025-01-06,2025-02-15,Ana\n").encode()
    ),
    "mixed_eol": _write(
        "mixed_eol.csv", (HEADER.rstrip("\n") + "\r\n" + ROWS.replace("\n", "\r", 1)).encode()
    ),
    "big_field": _big_field,
    "wide": _wide,
    "wide_no_stage": _wide_without_stage,
    "stray_cp1252": _write(
        "stray_cp1252.csv",
        (HEADER + "D01,Café Ltd,Won,12000,2025-01-06,2025-02-15,Ana\n").encode()
        + b"D02,Caf\xe9 \x93Two\x94,Lead,8000,2025-06-03,,Ben\n",
    ),
    "utf16_no_bom": _write("utf16.csv", (HEADER + ROWS).encode("utf-16-le")),
}


# ---------------------------------------------------------------------------------------
# The cases

REPORT = "report {data}/small.csv --funnel {data}/funnel.yaml --as-of 2025-06-30 --format json"
PLAN = "plan {data}/funnel.yaml --target 1M --deal-value 10k --format json"
OUT_REPORT = "report {tmp}/in.csv --funnel {tmp}/funnel.yaml --as-of 2025-06-30"
OUT_PLAN = "plan {tmp}/funnel.yaml --target 1M --deal-value 10k"
AMOUNT_HINT = "use 1200000, 1,200,000, 1_200_000, 1.2M, 250k or $1.2M"
DATE_HINT = "use YYYY-MM-DD like 2027-03-31"
RATE_RANGE = "must be a rate between 0 and 1 (like 0.35 or 35%)"
FORMATS = "table, json, csv, markdown, xlsx, html"


def _export(name: str, *, strict: bool = False) -> str:
    command = (
        f"report {{data}}/{name} --funnel {{data}}/funnel.yaml --as-of 2025-06-30 --format json"
    )
    return command + (" --strict" if strict else "")


def _generated(name: str) -> str:
    return f"report {{tmp}}/{name} --funnel {{data}}/funnel.yaml --as-of 2025-06-30 --format json"


STRICT_BUG = (
    "BUG: --strict prints two error: lines (each skip reason as an error, then the "
    "--strict summary); one error is one line, the skip details belong in warning: lines"
)

YAML_CASES = [
    Case(
        "yaml-unclosed-flow-list",
        "validate {data}/syntax_unclosed_flow.yaml",
        2,
        r"error: {data}/syntax_unclosed_flow\.yaml:3:9: invalid YAML: .+; check the indentation and quoting there",
        match="regex",
    ),
    Case(
        "yaml-bad-indentation",
        "validate {data}/syntax_bad_indent.yaml",
        2,
        r"error: {data}/syntax_bad_indent\.yaml:5:4: invalid YAML: .+; check the indentation and quoting there",
        match="regex",
    ),
    Case(
        "yaml-tab-indentation",
        "validate {data}/syntax_tab.yaml",
        2,
        r"error: {data}/syntax_tab\.yaml:3:1: invalid YAML: .+; check the indentation and quoting there",
        match="regex",
    ),
    Case(
        "yaml-colon-in-plain-value",
        "validate {data}/syntax_duplicate_colon.yaml",
        2,
        r"error: {data}/syntax_duplicate_colon\.yaml:1:8: invalid YAML: .+; check the indentation and quoting there",
        match="regex",
    ),
    Case(
        "yaml-undefined-alias",
        "validate {data}/syntax_undefined_alias.yaml",
        2,
        r"error: {data}/syntax_undefined_alias\.yaml:2:9: invalid YAML: .+; check the indentation and quoting there",
        match="regex",
    ),
    Case(
        "yaml-unclosed-quote",
        "validate {data}/syntax_unclosed_quote.yaml",
        2,
        r"error: {data}/syntax_unclosed_quote\.yaml:1:7: invalid YAML: .*quoted.*",
        match="regex",
    ),
    Case(
        "yaml-two-documents",
        "validate {data}/syntax_two_documents.yaml",
        2,
        r"error: {data}/syntax_two_documents\.yaml:6:1: invalid YAML: (?!but ).*document.*",
        match="regex",
    ),
    Case(
        "yaml-int-tag-on-text",
        "validate {data}/tag_int_text.yaml",
        2,
        r"error: {data}/tag_int_text\.yaml:1:7: invalid YAML: .*abc.*",
        match="regex",
    ),
    Case(
        "yaml-float-tag-on-text",
        "plan {data}/tag_float_text.yaml --target 1M",
        2,
        r"error: {data}/tag_float_text\.yaml:2:\d+: invalid YAML: .*lots.*",
        match="regex",
    ),
    Case(
        "yaml-timestamp-tag-on-text",
        "validate {data}/tag_timestamp_text.yaml",
        2,
        r"error: {data}/tag_timestamp_text\.yaml:2:\d+: invalid YAML: .*next monday.*",
        match="regex",
    ),
    Case(
        "yaml-python-tag-refused",
        "plan {tmp}/python_tag.yaml --target 1M",
        2,
        r"error: {tmp}/python_tag\.yaml:2:9: invalid YAML: .+python/object/apply:os\.system.+; tags that build objects are not allowed, remove the tag \(a funnel file holds plain text, numbers, lists and mappings\)",
        match="regex",
        make=(GENERATED["python_tag"],),
        absent="{tmp}/pwned",
    ),
    Case(
        "yaml-python-tag-message",
        "validate {tmp}/python_tag.yaml",
        2,
        r"error: {tmp}/python_tag\.yaml:2:9: (?!.*indentation).*python/object/apply:os\.system.*",
        match="regex",
        make=(GENERATED["python_tag"],),
        absent="{tmp}/pwned",
    ),
    Case(
        "yaml-duplicate-key",
        "validate {data}/duplicate_key.yaml",
        2,
        r"error: {data}/duplicate_key\.yaml:6:1: .*duplicate key 'stages'.*",
        match="regex",
    ),
    Case(
        "yaml-nul-byte",
        "validate {tmp}/nul_byte.yaml",
        2,
        r"error: {tmp}/nul_byte\.yaml:1:10: .*(NUL|\\x00|\\0).*",
        match="regex",
        make=(GENERATED["nul_yaml"],),
    ),
    Case(
        "yaml-utf16",
        "validate {tmp}/utf16.yaml",
        2,
        "error: {tmp}/utf16.yaml: byte 0 is not UTF-8; save the funnel file as UTF-8",
        make=(GENERATED["utf16_yaml"],),
    ),
    Case(
        "yaml-file-too-big",
        "validate {tmp}/too_big.yaml",
        2,
        "error: {tmp}/too_big.yaml: is 1,200,013 bytes; a funnel file is a few KB of YAML, is this the right file?",
        make=(GENERATED["too_big_yaml"],),
    ),
    Case(
        "yaml-a-folder",
        "validate {data}",
        2,
        "error: {data}: is a folder, not a funnel file; give the path of a .yaml file",
    ),
    Case(
        "yaml-name-is-a-number",
        "validate {data}/name_int.yaml",
        2,
        "error: {data}/name_int.yaml: name: expected a non-empty text, got 5",
    ),
    Case(
        "yaml-name-is-a-date",
        "validate {data}/name_date.yaml",
        2,
        r"error: {data}/name_date\.yaml: name: (?!.*datetime).*2025-01-01.*",
        match="regex",
    ),
    Case(
        "yaml-stages-is-a-string",
        "validate {data}/stages_string.yaml",
        2,
        "error: {data}/stages_string.yaml: stages: expected a list of stages, got the text 'Lead, Won'",
    ),
    Case(
        "yaml-stage-is-a-list",
        "validate {data}/stage_as_list.yaml",
        2,
        "error: {data}/stage_as_list.yaml: stages[0]: expected a mapping like {name: MQL, conversion: 40%}, got a list",
    ),
    Case(
        "yaml-conversion-is-a-bool",
        "validate {data}/conversion_bool.yaml",
        2,
        "error: {data}/conversion_bool.yaml: stages[0].conversion: expected a rate (like 0.35 or 35%), got True",
    ),
    Case(
        "yaml-conversion-25-not-25pct",
        "validate {data}/conversion_25.yaml",
        2,
        f"error: {{data}}/conversion_25.yaml: stages[0].conversion: {RATE_RANGE}, got 25; did you mean 25%?",
    ),
    Case(
        "yaml-days-is-text",
        "validate {data}/days_text.yaml",
        2,
        "error: {data}/days_text.yaml: stages[0].days: must be a number of days, 0 or more (like 14), got the text 'soon'",
    ),
    Case(
        "yaml-aliases-is-a-number",
        "validate {data}/aliases_int.yaml",
        2,
        "error: {data}/aliases_int.yaml: stages[0].aliases: expected a list of labels like [Closed Won, closedwon], got 5",
    ),
    Case(
        "yaml-lost-is-a-mapping",
        "validate {data}/lost_mapping.yaml",
        2,
        "error: {data}/lost_mapping.yaml: lost: expected a list of labels like [Closed Lost, closedlost], got a mapping",
    ),
    Case(
        "yaml-columns-is-a-list",
        "validate {data}/columns_list.yaml",
        2,
        "error: {data}/columns_list.yaml: columns: expected a mapping like {stage: Deal Stage}, got a list",
    ),
    Case(
        "yaml-columns-stage-is-a-list",
        _export("small.csv").replace("{data}/funnel.yaml", "{data}/columns_stage_list.yaml"),
        2,
        r"error: {data}/columns_stage_list\.yaml: columns\.stage: (?!no column).*list.*",
        match="regex",
    ),
    Case(
        "yaml-columns-entered-is-a-list",
        _export("small.csv").replace("{data}/funnel.yaml", "{data}/columns_entered_list.yaml"),
        2,
        r"error: {data}/columns_entered_list\.yaml: columns\.entered: .*list.*",
        match="regex",
    ),
    Case(
        "yaml-currency-is-a-number",
        "validate {data}/currency_int.yaml",
        2,
        "error: {data}/currency_int.yaml: currency: must be a 3-letter ISO currency code like USD or EUR, got 12",
    ),
    Case(
        "yaml-empty-file",
        "plan {data}/empty.yaml --target 1M",
        2,
        "error: {data}/empty.yaml: the file is empty; it needs at least a stages: list",
    ),
    Case(
        "yaml-list-at-the-top",
        "validate {data}/list_top.yaml",
        2,
        "error: {data}/list_top.yaml: expected a mapping with name: and stages: at the top, got a list",
    ),
    Case(
        "yaml-conversion-1e308-text",
        "validate {data}/conversion_1e308.yaml",
        2,
        f"error: {{data}}/conversion_1e308.yaml: stages[0].conversion: {RATE_RANGE}, got 1e308",
    ),
    Case(
        "yaml-conversion-1e308-float",
        "validate {data}/conversion_float_huge.yaml",
        2,
        rf"error: {{data}}/conversion_float_huge\.yaml: stages\[0\]\.conversion: {re.escape(RATE_RANGE)}, got 1(\.0)?e\+?308",
        match="regex",
    ),
    Case(
        "yaml-deal-value-1e400-text",
        "validate {data}/deal_value_1e400.yaml",
        2,
        f"error: {{data}}/deal_value_1e400.yaml: average_deal_value: '1e400' is not an amount; {AMOUNT_HINT}",
    ),
    Case(
        "yaml-deal-value-1e400-float",
        "validate {data}/deal_value_float_inf.yaml",
        2,
        "error: {data}/deal_value_float_inf.yaml: average_deal_value: expected a finite amount, got inf",
    ),
    Case(
        "yaml-deal-value-1e300-plan",
        "plan {data}/deal_value_1e300.yaml --target 1M",
        2,
        "error: {data}/deal_value_1e300.yaml: average_deal_value: 1e+300 is too large; "
        "use an amount up to 1,000,000,000,000,000 (10^15)",
    ),
    Case(
        "yaml-deal-value-5000-digits",
        "validate {tmp}/big_int.yaml",
        2,
        r"error: {tmp}/big_int\.yaml(:2:\d+)?: .*(average_deal_value|digits).*",
        match="regex",
        make=(GENERATED["big_int"],),
    ),
    Case(
        "yaml-days-1e300-plan-by",
        "plan {data}/days_huge.yaml --target 1M --deal-value 10k --by 2027-03-31 --as-of 2026-01-01",
        2,
        r"error: {data}/days_huge\.yaml: stages\[0\]\.days: .*",
        match="regex",
    ),
    Case(
        "yaml-rate-nan",
        "validate {data}/rate_nan.yaml",
        2,
        "error: {data}/rate_nan.yaml: stages[0].conversion: expected a rate (like 0.35 or 35%), got nan",
    ),
    Case(
        "yaml-rate-inf",
        "validate {data}/rate_inf.yaml",
        2,
        "error: {data}/rate_inf.yaml: stages[0].conversion: expected a rate (like 0.35 or 35%), got inf",
    ),
    Case(
        "yaml-alias-bomb-under-stages",
        "validate {data}/alias_bomb.yaml",
        2,
        "\n".join(
            f"error: {{data}}/alias_bomb.yaml: stages[{index}]: expected a mapping like "
            "{name: MQL, conversion: 40%}, got a list"
            for index in range(9)
        ),
        warnings=True,  # the anchors a: ... i: are unknown top-level keys
        memory=True,
    ),
    Case(
        "yaml-alias-bomb-under-columns",
        _export("small.csv").replace("{data}/funnel.yaml", "{data}/alias_bomb_columns.yaml"),
        2,
        r"error: {data}/alias_bomb_columns\.yaml: columns\.stage: .*list.*",
        match="regex",
        warnings=True,  # the anchors a: ... i: are unknown top-level keys
        memory=True,
    ),
    Case(
        "yaml-alerts-unknown-stage-validate",
        "validate {data}/alerts_unknown_stage.yaml",
        2,
        r"error: {data}/alerts_unknown_stage\.yaml: alerts\.fail_below(\.Nope)?: .*'Nope'.*",
        match="regex",
    ),
    Case(
        "yaml-alerts-unknown-stage-report",
        _export("small.csv").replace("{data}/funnel.yaml", "{data}/alerts_unknown_stage.yaml"),
        2,
        r"error: {data}/alerts_unknown_stage\.yaml: alerts\.fail_below(\.Nope)?: .*'Nope'.*",
        match="regex",
    ),
    Case(
        # A funnel has at most 200 stages: exact plans over 10,000 would take minutes.
        "yaml-10000-stages-validate",
        "validate {tmp}/many_stages.yaml",
        2,
        "error: {tmp}/many_stages.yaml: stages: needs at most 200 stages, got 10000; map several CRM labels to one stage with aliases:",
        make=(GENERATED["many_stages"],),
    ),
    Case(
        # A funnel has at most 200 stages: exact plans over 10,000 would take minutes.
        "yaml-10000-stages-report",
        "report {data}/small.csv --funnel {tmp}/many_stages.yaml --as-of 2025-06-30 --format json",
        2,
        "error: {tmp}/many_stages.yaml: stages: needs at most 200 stages, got 10000; map several CRM labels to one stage with aliases:",
        make=(GENERATED["many_stages"],),
    ),
    Case(
        # A funnel has at most 200 stages: exact plans over 10,000 would take minutes.
        "yaml-10000-stages-plan",
        "plan {tmp}/many_stages.yaml --target 1M --deal-value 10k --format json",
        2,
        "error: {tmp}/many_stages.yaml: stages: needs at most 200 stages, got 10000; map several CRM labels to one stage with aliases:",
        make=(GENERATED["many_stages"],),
    ),
    Case(
        # A funnel has at most 200 stages: exact plans over 10,000 would take minutes.
        "yaml-10000-stages-plan-confidence",
        "plan {tmp}/many_stages.yaml --target 1M --deal-value 10k --confidence 90% --format json",
        2,
        "error: {tmp}/many_stages.yaml: stages: needs at most 200 stages, got 10000; map several CRM labels to one stage with aliases:",
        make=(GENERATED["many_stages"],),
    ),
]

EXPORT_CASES = [
    Case(
        "export-empty",
        _export("empty.csv"),
        2,
        "error: {data}/empty.csv: the file is empty; export the deals with a header row",
    ),
    Case(
        "export-header-only-is-a-zero-deal-report",
        _export("header_only.csv"),
        0,
        "",
        stdout='"read": 0',
    ),
    Case(
        "export-binary-garbage",
        _generated("garbage.csv"),
        2,
        "error: {tmp}/garbage.csv: not a CSV or XLSX file (starts with bytes 00 01 02 03, binary data); export the deals as CSV or XLSX",
        make=(GENERATED["garbage"],),
    ),
    Case(
        "export-png-renamed-xlsx",
        _generated("png.xlsx"),
        2,
        "error: {tmp}/png.xlsx: not a CSV or XLSX file (starts with bytes 89 50 4E 47, a PNG image); export the deals as CSV or XLSX",
        make=(GENERATED["png"],),
    ),
    Case(
        "export-truncated-xlsx",
        _generated("truncated.xlsx"),
        2,
        "error: {tmp}/truncated.xlsx: not a readable XLSX file (the ZIP container is damaged or truncated); re-export it",
        make=(GENERATED["truncated"],),
    ),
    Case(
        "export-zip-bomb",
        _generated("zip_bomb.xlsx") + " --output {tmp}/out.json",
        2,
        r"error: {tmp}/zip_bomb\.xlsx: .*(too large|inflate|uncompress|expand|zip bomb|MB).*",
        match="regex",
        make=(GENERATED["bomb_cell"],),
        output="{tmp}/out.json",
        memory=True,
    ),
    Case(
        "export-zip-bomb-inspect",
        "inspect {tmp}/zip_bomb.xlsx",
        2,
        r"error: {tmp}/zip_bomb\.xlsx: .*(too large|inflate|uncompress|expand|zip bomb|MB).*",
        match="regex",
        make=(GENERATED["bomb_cell"],),
        memory=True,
        timeout=HANG_TIMEOUT,
    ),
    Case(
        "export-zip-bomb-of-whitespace",
        _generated("zip_bomb_spaces.xlsx"),
        2,
        r"error: {tmp}/zip_bomb_spaces\.xlsx: .*(too large|inflate|uncompress|expand|zip bomb|MB).*",
        match="regex",
        make=(GENERATED["bomb_spaces"],),
        memory=True,
    ),
    Case(
        "export-chart-sheet-only",
        _generated("chart_only.xlsx"),
        2,
        "error: {tmp}/chart_only.xlsx: the workbook has only chart sheets, no worksheet; export the deals as a table in CSV or XLSX",
        make=(GENERATED["chart_only"],),
    ),
    Case(
        "export-nul-bytes-are-stripped",
        _generated("nul.csv"),
        0,
        "",
        make=(GENERATED["nul_csv"],),
        stdout='"used": 1',
    ),
    Case(
        "export-mixed-line-endings",
        _generated("mixed_eol.csv"),
        0,
        "",
        make=(GENERATED["mixed_eol"],),
        stdout='"used": 3',
    ),
    Case(
        "export-50mb-field",
        _generated("big_field.csv") + " --output {tmp}/out.json",
        2,
        "error: {tmp}/big_field.csv: row 2: a field is larger than 10 MiB; is this really a CSV export?",
        make=(GENERATED["big_field"],),
        output="{tmp}/out.json",
        memory=True,
    ),
    Case(
        "export-10000-columns",
        _generated("wide.csv"),
        0,
        "",
        make=(GENERATED["wide"],),
        stdout='"used": 3',
    ),
    Case(
        "export-10000-columns-no-stage",
        _generated("wide_no_stage.csv"),
        2,
        r"error: {tmp}/wide_no_stage\.csv: no stage column found \((?=.*10,000).*",
        match="regex",
        make=(GENERATED["wide_no_stage"],),
    ),
    Case(
        "export-utf8-with-stray-cp1252",
        _generated("stray_cp1252.csv"),
        0,
        r"warning: {tmp}/stray_cp1252\.csv: .*row 3.*--encoding.*",
        match="regex",
        make=(GENERATED["stray_cp1252"],),
    ),
    Case(
        "export-utf16-without-bom",
        _generated("utf16.csv"),
        0,
        "",
        make=(GENERATED["utf16_no_bom"],),
        stdout='"used": 3',
    ),
    Case(
        "export-amount-1e308-skipped",
        _export("amount_1e308.csv"),
        0,
        "warning: {data}/amount_1e308.csv: 1 row skipped, unreadable amount: row 4 '1e308' (too large to be a deal amount)",
    ),
    Case(
        "export-amount-nan-skipped",
        _export("amount_nan.csv"),
        0,
        "warning: {data}/amount_nan.csv: 1 row skipped, unreadable amount: row 4 'NaN' (not a number)",
    ),
    Case(
        "export-amount-inf-skipped",
        _export("amount_inf.csv"),
        0,
        "warning: {data}/amount_inf.csv: 1 row skipped, unreadable amount: row 4 'inf' (infinite)",
    ),
    Case(
        "export-amount-double-minus-skipped",
        _export("amount_double_minus.csv"),
        0,
        "warning: {data}/amount_double_minus.csv: 1 row skipped, unreadable amount: row 4 '--5' (two signs)",
    ),
    *[
        Case(
            f"export-amount-{name}-strict",
            _export(f"amount_{name}.csv", strict=True),
            2,
            f"error: {{data}}/amount_{name}.csv: --strict: 1 of 4 rows skipped: unreadable amount 1 "
            "(first: row 4); fix them or run without --strict",
        )
        for name in ("1e308", "nan", "inf", "double_minus")
    ],
    Case(
        "export-date-feb-30-skipped",
        _export("date_feb30.csv"),
        0,
        "warning: {data}/date_feb30.csv: 1 row skipped, unreadable date: row 4 '2025-02-30' in 'created' (impossible date: February 2025 has 28 days); pass --date-format if the dates are in one format",
    ),
    Case(
        "export-date-0000-00-00-skipped",
        _export("date_zero.csv"),
        0,
        "warning: {data}/date_zero.csv: 1 row skipped, unreadable date: row 4 '0000-00-00' in 'created' (impossible date: no month 0); pass --date-format if the dates are in one format",
    ),
    Case(
        "export-date-9999-12-31-skipped",
        _export("date_9999.csv"),
        0,
        "warning: {data}/date_9999.csv: 1 row skipped, unreadable date: row 4 '9999-12-31' in 'created' (placeholder date 9999-12-31); pass --date-format if the dates are in one format",
    ),
    Case(
        "export-date-feb-30-strict",
        _export("date_feb30.csv", strict=True) + " --output {tmp}/out.json",
        2,
        "error: {data}/date_feb30.csv: --strict: 1 of 4 rows skipped: unreadable date 1 "
        "(first: row 4); fix them or run without --strict",
        output="{tmp}/out.json",
    ),
    Case(
        "export-negative-cycle-time",
        _export("negative_cycle.csv"),
        0,
        r"warning: {data}/negative_cycle\.csv: 1 duration is negative.*row 4.*",
        match="regex",
    ),
]

PLAN_CASES = [
    Case(
        "plan-target-text",
        "plan {data}/funnel.yaml --target abc --deal-value 10k",
        2,
        f"error: --target: 'abc' is not an amount; {AMOUNT_HINT}",
    ),
    Case(
        "plan-target-negative",
        "plan {data}/funnel.yaml --target -5 --deal-value 10k",
        2,
        "error: --target: must be above 0, got -5",
    ),
    Case(
        "plan-target-1e30",
        "plan {data}/funnel.yaml --target 1e30 --deal-value 1",
        2,
        f"error: --target: '1e30' is not an amount; {AMOUNT_HINT}",
    ),
    Case(
        "plan-deal-value-zero",
        "plan {data}/funnel.yaml --target 1M --deal-value 0",
        2,
        "error: --deal-value: must be above 0, got 0",
    ),
    Case(
        "plan-deal-value-empty",
        "plan {data}/with_deal_value.yaml --target 1M --deal-value ''",
        2,
        f"error: --deal-value: '' is not an amount; {AMOUNT_HINT}",
    ),
    Case(
        "plan-confidence-100pct",
        PLAN + " --confidence 100%",
        2,
        "error: --confidence: must be a probability above 0 and below 1 (like 0.9 or 90%), got 100%",
    ),
    Case(
        "plan-confidence-text",
        PLAN + " --confidence high",
        2,
        "error: --confidence: expected a rate (like 0.35 or 35%), got 'high'",
    ),
    Case(
        "plan-by-text",
        PLAN + " --by tomorrow",
        2,
        f"error: --by: 'tomorrow' is not a date; {DATE_HINT}",
    ),
    Case(
        "plan-by-feb-30",
        PLAN + " --by 2027-02-30",
        2,
        r"error: --by: '2027-02-30' .*February 2027 has 28 days.*",
        match="regex",
    ),
    Case(
        "plan-by-and-period",
        PLAN + " --by 2027-03-31 --period 2027-Q1",
        2,
        "error: --by and --period both give a deadline; pass one of them",
    ),
    Case(
        "plan-period-q5",
        PLAN + " --period 2027-Q5",
        2,
        "error: --period: '2027-Q5' is not a period; use a quarter (2027-Q1), a month (2027-03) or a year (2027)",
    ),
    Case(
        # Command-line dates stay in 1900-2199, as export dates do: year 1 is a typo.
        "plan-period-year-1",
        PLAN + " --period 0001-01 --as-of 0001-01-01",
        2,
        "error: --as-of: '0001-01-01': the year must be between 1900 and 2199",
    ),
    Case(
        "plan-by-day-2-of-year-1",
        PLAN + " --by 0001-01-02 --as-of 0001-01-01",
        2,
        "error: --as-of: '0001-01-01': the year must be between 1900 and 2199",
    ),
    Case(
        "plan-per-day",
        PLAN + " --per day --by 2027-03-31",
        2,
        "error: --per: 'day' is not a pacing bucket; use month or week",
    ),
    Case(
        "plan-as-of-day-first",
        PLAN + " --as-of 31/12/2026",
        2,
        f"error: --as-of: '31/12/2026' is not a date; {DATE_HINT}",
    ),
    Case(
        "plan-cost-per-lead-negative",
        PLAN + " --cost-per-lead -1",
        2,
        "error: --cost-per-lead: must be above 0, got -1",
    ),
    Case(
        "plan-cost-per-lead-text",
        PLAN + " --cost-per-lead free",
        2,
        f"error: --cost-per-lead: 'free' is not an amount; {AMOUNT_HINT}",
    ),
    Case(
        "plan-format-yaml",
        PLAN + " --format yaml",
        2,
        f"error: --format: 'yaml' is not a format; use one of {FORMATS}",
    ),
    Case(
        "plan-booked-negative",
        PLAN + " --booked -5",
        2,
        "error: --booked: must be 0 or more, got -5",
    ),
    Case(
        "plan-booked-without-pipeline",
        PLAN + " --booked 5k",
        2,
        "error: --booked goes with --credit-pipeline",
    ),
    Case(
        "plan-100-trillion-deals-confidence",
        "plan {data}/funnel.yaml --target 999bn --deal-value 0.01 --confidence 99% --format json",
        2,
        "error: --confidence: 99,900,000,000,000 won deals is more than the 10,000,000 it plans "
        "for; at this size the plan without --confidence is already within 0.1%",
    ),
]

REPORT_CASES = [
    Case(
        "report-as-of-text",
        REPORT.replace("2025-06-30", "yesterday"),
        2,
        f"error: --as-of: 'yesterday' is not a date; {DATE_HINT}",
    ),
    Case(
        "report-stale-days-negative",
        REPORT + " --stale-days -1",
        2,
        r"error: .+'--stale-days'.+; see 'funnel report --help'",  # click's words: any
        match="regex",
    ),
    Case(
        "report-since-month-13",
        REPORT + " --since 2025-13-01",
        2,
        "error: --since: '2025-13-01' is not a real date: there is no month 13",
    ),
    Case(
        "report-until-slashes",
        REPORT + " --until 2025/01/01",
        2,
        f"error: --until: '2025/01/01' is not a date; {DATE_HINT}",
    ),
    Case(
        "report-since-after-until",
        REPORT + " --since 2025-06-01 --until 2025-01-01",
        2,
        "error: --since 2025-06-01 is after --until 2025-01-01; swap them",
    ),
    Case(
        "report-where-no-equals",
        REPORT + " --where region",
        2,
        "error: --where: 'region' is not COLUMN=VALUE, like --where region=EMEA",
    ),
    Case(
        "report-where-unknown-column",
        REPORT + " --where region=EMEA --output {tmp}/out.json",
        2,
        "error: {data}/small.csv: --where region: no such column; the columns are: id, name, stage, amount, created, closed, owner",
        output="{tmp}/out.json",
    ),
    Case(
        "report-cohort-week",
        REPORT + " --cohort week",
        2,
        "error: --cohort: 'week' is not a period; use month or quarter",
    ),
    Case(
        "report-fail-below-no-rate",
        REPORT + " --fail-below Demo",
        2,
        "error: --fail-below: expected STAGE=RATE like Demo=35% or Demo=0.35, got 'Demo'",
    ),
    Case(
        "report-fail-below-150pct",
        REPORT + " --fail-below Demo=150%",
        2,
        f"error: --fail-below: Demo: {RATE_RANGE}, got 150%",
    ),
    Case(
        "report-fail-below-unknown-stage",
        REPORT + " --fail-below Nope=50%",
        2,
        "error: --fail-below Nope=50%: no stage named 'Nope' that converts; the stages are: "
        "Lead, Demo, Proposal",
    ),
    Case(
        "report-max-stale-negative",
        REPORT + " --max-stale -1",
        2,
        "error: --max-stale: must be 0 or more, got -1",
    ),
    Case(
        "report-min-win-rate-2",
        REPORT + " --min-win-rate 2",
        2,
        f"error: --min-win-rate: {RATE_RANGE}, got 2; did you mean 2%?",
    ),
    Case(
        "report-format-pdf",
        REPORT + " --format pdf",
        2,
        f"error: --format: 'pdf' is not a format; use one of {FORMATS}",
    ),
    Case(
        "report-sheet-on-a-csv",
        REPORT + " --sheet Deals",
        0,
        r"warning: {data}/small\.csv: .*--sheet.*",
        match="regex",
    ),
    Case(
        "report-sheet-missing",
        _generated("deals.xlsx") + " --sheet Nope",
        2,
        "error: {tmp}/deals.xlsx: no sheet named 'Nope'; the sheets are: Sheet",
        make=(_workbook,),
    ),
    Case(
        "report-encoding-nonsense",
        REPORT + " --encoding nonsense",
        2,
        "error: {data}/small.csv: unknown encoding 'nonsense'; use one such as utf-8, cp1252 or utf-16",
    ),
    Case(
        "report-encoding-utf16-on-utf8",
        REPORT + " --encoding utf-16",
        2,
        r"error: {data}/small\.csv: .*utf-16.*",
        match="regex",
    ),
    Case(
        "report-date-format-without-directives",
        REPORT + " --date-format nodirectives",
        2,
        r"error: --date-format: 'nodirectives' .*%d.*",
        match="regex",
    ),
    Case(
        "report-date-format-bad-directive",
        REPORT + " --date-format %Q",
        2,
        r"error: --date-format: '%Q' .*",
        match="regex",
    ),
    Case(
        "report-by-unknown-column",
        REPORT + " --by region",
        2,
        "error: {data}/small.csv: --by region: no such column; the columns are: id, name, stage, amount, created, closed, owner",
    ),
    Case(
        "report-pipeline-without-column",
        REPORT + " --pipeline EMEA",
        2,
        "error: {data}/small.csv: --pipeline EMEA: the export has no pipeline column; name it with columns: {pipeline: <header>} in the funnel file",
    ),
    Case(
        "report-a-folder",
        "report {data} --funnel {data}/funnel.yaml",
        2,
        r"error: {data}: cannot read the file \(.+\); check the path",  # the OS's reason: any
        match="regex",
    ),
]

OUTPUT_CASES = [
    Case(
        "output-is-the-export",
        OUT_REPORT + " --format csv --output {tmp}/in.csv",
        2,
        "error: --output {tmp}/in.csv: is an input file; write the output somewhere else",
        unchanged="{tmp}/in.csv",
    ),
    Case(
        "output-is-the-funnel-report",
        OUT_REPORT + " --format json --output {tmp}/funnel.yaml",
        2,
        "error: --output {tmp}/funnel.yaml: is an input file; write the output somewhere else",
        unchanged="{tmp}/funnel.yaml",
    ),
    Case(
        "output-is-the-funnel-plan",
        OUT_PLAN + " --format json --output {tmp}/funnel.yaml",
        2,
        "error: --output {tmp}/funnel.yaml: is an input file; write the output somewhere else",
        unchanged="{tmp}/funnel.yaml",
    ),
    Case(
        "output-is-a-folder",
        OUT_REPORT + " --format json --output {tmp}",
        2,
        "error: --output {tmp}: is a folder; give a file name like {tmp}/plan.json",
    ),
    Case(
        "output-is-a-folder-no-format",
        OUT_REPORT + " --output {tmp}",
        2,
        r"error: --output {tmp}: is a folder.*",
        match="regex",
    ),
    Case(
        "output-folder-missing",
        OUT_REPORT + " --output {tmp}/missing/out.json",
        2,
        "error: --output {tmp}/missing/out.json: the folder {tmp}/missing does not exist; create it first",
        output="{tmp}/missing/out.json",
    ),
    Case(
        "output-under-a-regular-file-report",
        OUT_REPORT + " --output {tmp}/file.txt/out.json",
        2,
        r"error: --output {tmp}/file\.txt/out\.json: {tmp}/file\.txt is a file, not a folder.*",
        match="regex",
        output="{tmp}/file.txt/out.json",
    ),
    Case(
        "output-under-a-regular-file-plan",
        OUT_PLAN + " --output {tmp}/file.txt/plan.json",
        2,
        r"error: --output {tmp}/file\.txt/plan\.json: {tmp}/file\.txt is a file, not a folder.*",
        match="regex",
        output="{tmp}/file.txt/plan.json",
    ),
    Case(
        "output-unknown-extension",
        OUT_REPORT + " --output {tmp}/out.pdf",
        2,
        f"error: --output {{tmp}}/out.pdf: cannot tell the format from '.pdf'; pass --format ({FORMATS})",
        output="{tmp}/out.pdf",
    ),
    Case(
        "output-empty-export",
        "report {data}/empty.csv --funnel {data}/funnel.yaml --output {tmp}/out.json",
        2,
        "error: {data}/empty.csv: the file is empty; export the deals with a header row",
        output="{tmp}/out.json",
    ),
    Case(
        "snapshot-under-a-regular-file",
        OUT_REPORT + " --format json --save-snapshot {tmp}/file.txt/history.db",
        2,
        r"error: {tmp}/file\.txt/history\.db: {tmp}/file\.txt is a file, not a folder.*",
        match="regex",
    ),
    Case(
        "snapshot-is-the-export",
        OUT_REPORT + " --format json --save-snapshot {tmp}/in.csv",
        2,
        "error: --save-snapshot {tmp}/in.csv: is an input file; write the output somewhere else",
        unchanged="{tmp}/in.csv",
    ),
    Case(
        "snapshot-is-the-export-with-output",
        OUT_REPORT + " --output {tmp}/out.json --save-snapshot {tmp}/in.csv",
        2,
        "error: --save-snapshot {tmp}/in.csv: is an input file; write the output somewhere else",
        output="{tmp}/out.json",
        unchanged="{tmp}/in.csv",
    ),
    Case(
        "trend-on-a-csv",
        "trend {tmp}/in.csv",
        2,
        r"error: {tmp}/in\.csv: not a snapshot database \(.+\); give the file written by --save-snapshot",  # sqlite's words: any
        match="regex",
    ),
    Case(
        "trend-missing",
        "trend {tmp}/history.db",
        2,
        "error: {tmp}/history.db: no such file; check the path, or start one with 'funnel report EXPORT --save-snapshot {tmp}/history.db'",
    ),
    Case(
        "init-existing-file",
        "init {tmp}/file.txt",
        2,
        "error: {tmp}/file.txt: already exists; pass --force to overwrite it",
        unchanged="{tmp}/file.txt",
    ),
    Case(
        "init-under-a-regular-file",
        "init {tmp}/file.txt/funnel.yaml",
        2,
        r"error: {tmp}/file\.txt/funnel\.yaml: (?!.*--output).*",
        match="regex",
        output="{tmp}/file.txt/funnel.yaml",
    ),
]


CASES = YAML_CASES + EXPORT_CASES + PLAN_CASES + REPORT_CASES + OUTPUT_CASES


# ---------------------------------------------------------------------------------------
# Running


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _environment() -> dict[str, str]:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in ("NO_COLOR", "FORCE_COLOR", "FUNNEL_WORKERS")
    }
    environment.update(TERM="dumb", COLUMNS="80", LINES="50")
    return environment


def _digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def _prepare(case: Case, tmp: Path) -> None:
    shutil.copyfile(BAD / "small.csv", tmp / "in.csv")
    shutil.copyfile(BAD / "funnel.yaml", tmp / "funnel.yaml")
    (tmp / "file.txt").touch()
    for make in case.make:
        make(tmp)


def _run(case: Case, tmp: Path) -> Outcome:
    _prepare(case, tmp)
    args = [case.fill(arg, tmp) for arg in shlex.split(case.command)]
    unchanged = Path(case.fill(case.unchanged, tmp)) if case.unchanged else None
    before = _digest(unchanged) if unchanged else None
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "funnelcli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp,
        env=_environment(),
        start_new_session=True,  # a timeout kills the forked readers too
        preexec_fn=_limit_memory if case.memory else None,
    )
    try:
        stdout, stderr = process.communicate(timeout=case.timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        code = None
    finally:  # whatever happened, nothing of the case is left running (its readers too)
        kill_group(process)
    seconds = time.monotonic() - started
    output = Path(case.fill(case.output, tmp)) if case.output else None
    temporaries: list[str] = []
    if output is not None and output.parent.is_dir():
        temporaries = [
            path.name
            for path in output.parent.iterdir()
            if path.name.startswith(f".{output.name}.") and path.name.endswith(".tmp")
        ]
    outcome = Outcome(
        code=code,
        stdout=stdout.decode("utf-8", "replace"),
        stderr=stderr.decode("utf-8", "replace"),
        seconds=seconds,
        output_left=output is not None and output.exists(),
        temporaries_left=temporaries,
        absent_exists=bool(case.absent) and Path(case.fill(case.absent or "", tmp)).exists(),
        unchanged=unchanged is None or _digest(unchanged) == before,
    )
    for path in tmp.iterdir():  # the bombs and the 50 MB field: keep /tmp small
        if path.is_file() and path.stat().st_size > 1024 * 1024:
            path.unlink()
    return outcome


def _selected(session: pytest.Session) -> set[str]:
    chosen = set()
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and isinstance(callspec.params.get("case"), Case):
            chosen.add(callspec.params["case"].id)
    return chosen


@pytest.fixture(scope="module")
def outcomes(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, tuple[Path, Outcome]]:
    """Every selected case, run once: two at a time, then the rlimited ones alone."""
    chosen = _selected(request.session)
    cases = [case for case in CASES if case.id in chosen]
    folders = {case.id: tmp_path_factory.mktemp(case.id) for case in cases}

    def run(case: Case) -> tuple[str, tuple[Path, Outcome]]:
        return case.id, (folders[case.id], _run(case, folders[case.id]))

    plain = [case for case in cases if not case.memory]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        results = dict(pool.map(run, plain))
    # preexec_fn is unsafe while other threads run: the pool is shut down by now.
    results.update(run(case) for case in cases if case.memory)
    return results


def _params(cases: Iterable[Case]) -> list[object]:
    return [
        pytest.param(
            case,
            id=case.id,
            marks=[pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else [],
        )
        for case in cases
    ]


def _describe(outcome: Outcome) -> str:
    code = "killed after the timeout" if outcome.code is None else f"exit {outcome.code}"
    return f"{code} in {outcome.seconds:.1f} s; stderr:\n{outcome.stderr[-3000:]}"


@pytest.mark.parametrize("case", _params(CASES))
def test_bad_input(case: Case, outcomes: dict[str, tuple[Path, Outcome]]) -> None:
    tmp, outcome = outcomes[case.id]
    seen = _describe(outcome)
    assert outcome.code == case.code, seen
    assert "Traceback" not in outcome.stderr, seen
    lines = outcome.stderr.splitlines()
    assert all(line.startswith(("error: ", "warning: ", "alert: ")) for line in lines), seen
    if case.warnings:
        lines = [line for line in lines if not line.startswith("warning: ")]
    actual = "\n".join(lines)
    if case.match == "regex":
        assert len(lines) == 1, seen
        assert re.fullmatch(case.fill(case.stderr, tmp, escape=True), actual), seen
    elif case.match == "prefix":
        assert len(lines) == 1, seen
        assert actual.startswith(case.fill(case.stderr, tmp)), seen
    else:
        assert actual == case.fill(case.stderr, tmp), seen
    if case.code == 2:
        assert outcome.stdout == "", "a failure writes no data on stdout"
    if case.stdout is not None:
        assert case.stdout in outcome.stdout, outcome.stdout[:2000]
    assert not outcome.output_left, "a failure left the --output file behind"
    assert outcome.temporaries_left == [], "a failure left a temporary file behind"
    assert not outcome.absent_exists, f"{case.absent} was created"
    assert outcome.unchanged, f"{case.unchanged} was changed"


def test_the_corpus_is_large_and_its_names_unique() -> None:
    assert len(CASES) >= 60
    assert len({case.id for case in CASES}) == len(CASES)
    assert all(case.match in ("exact", "prefix", "regex") for case in CASES)
    committed = {path.name for path in BAD.iterdir()}
    used = {name for case in CASES for name in re.findall(r"\{data\}/([\w.]+)", case.command)} | {
        "small.csv",
        "funnel.yaml",
    }
    assert used <= committed, used - committed
    assert max(path.stat().st_size for path in BAD.iterdir()) < 4096, "keep committed files small"
