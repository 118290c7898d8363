"""One fuzz target per reader: each takes bytes and may raise only the project's errors.

A :class:`~funnelcli.errors.FunnelError` is the reader refusing the input with a message,
which is the expected outcome for most random bytes: the target returns. Any other
exception is a crash (a bug): it propagates as it is, or, when it is not even an
``Exception`` (a Rust panic out of python-calamine is a ``BaseException``), as
:class:`Crash` chained to it, so that hypothesis and pytest report it like any other.

The CSV and XLSX targets also check the row accounting (read = used + skipped +
filtered) and the funnel identity (reached[i] = reached[i+1] + current[i] + lost[i]):
a report that breaks them is as much a bug as a traceback.
"""

from __future__ import annotations

import datetime as dt
import io
import itertools
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from funnelcli.definition import build_funnel, default_funnel
from funnelcli.errors import FunnelError
from funnelcli.loading import parse_yaml
from funnelcli.readers.export import ExportReport, ReadOptions, report_export

AS_OF = dt.date(2025, 6, 30)
"""A fixed report date, so that a crash replays the same way whatever the day."""

_FUNNEL = default_funnel()


class Crash(Exception):
    """Something that is not an ``Exception`` (a Rust panic) escaped a reader."""


def _only_project_errors(call: Callable[[], object]) -> None:
    """Run ``call``; swallow the project's own errors, turn a non-Exception into a Crash."""
    try:
        call()
    except FunnelError:
        return
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception:
        raise
    except BaseException as error:
        raise Crash(f"{type(error).__name__}: {error}") from error


@contextmanager
def _temp_file(data: bytes, suffix: str) -> Iterator[str]:
    handle, path = tempfile.mkstemp(suffix=suffix, prefix="funnel-fuzz-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        yield path
    finally:
        os.unlink(path)


def _check_report(result: ExportReport) -> None:
    account = result.account
    assert account.read == account.used + account.skipped_total + account.filtered_total, account
    stages = result.report.stages
    for here, after in itertools.pairwise(stages):
        assert here.reached == after.reached + here.current + here.lost, stages


def _report_file(data: bytes, suffix: str) -> None:
    with _temp_file(data, suffix) as path:

        def run() -> None:
            _check_report(report_export(path, _FUNNEL, as_of=AS_OF, options=ReadOptions()))

        _only_project_errors(run)


def fuzz_csv(data: bytes) -> None:
    """The bytes as a CSV export, reported on with the built-in funnel (every row read)."""
    _report_file(data, ".csv")


def fuzz_xlsx(data: bytes) -> None:
    """The bytes as an .xlsx export (mostly stopped at the zip header)."""
    _report_file(data, ".xlsx")


def fuzz_xlsx_sheet(data: bytes) -> None:
    """The bytes as the first worksheet's XML inside an otherwise valid workbook."""
    _report_file(workbook_with_sheet(data), ".xlsx")


def fuzz_yaml(data: bytes) -> None:
    """The bytes as a funnel file: parsed, then built into a funnel."""
    text = data.removeprefix(b"\xef\xbb\xbf").decode("utf-8", "replace")
    _only_project_errors(lambda: build_funnel(parse_yaml(text, "fuzz.yaml"), "fuzz.yaml"))


TARGETS: dict[str, Callable[[bytes], None]] = {
    "csv": fuzz_csv,
    "xlsx": fuzz_xlsx,
    "xlsx_sheet": fuzz_xlsx_sheet,
    "yaml": fuzz_yaml,
}
"""Target name -> target; the name prefixes the saved crash inputs."""


# --- a minimal workbook around a fuzzed sheet ----------------------------------

_CONTENT_TYPES = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
</Types>"""

_ROOT_RELS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""

_WORKBOOK = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="Deals" sheetId="1" r:id="rId1"/></sheets>
</workbook>"""

_WORKBOOK_RELS = b"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
</Relationships>"""

SHEET_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
"""How a worksheet part starts; the structured sheet strategy writes it before its rows."""


def workbook_with_sheet(sheet_xml: bytes) -> bytes:
    """A minimal valid .xlsx whose only worksheet part is ``sheet_xml``, as it is."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _ROOT_RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return buffer.getvalue()
