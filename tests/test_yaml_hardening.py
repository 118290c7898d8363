"""Funnel files that break the loader or the validation: every one is a whole one-line message.

One section per kind of bad input: values a tag cannot build, characters YAML refuses,
unclosed quotes, several documents, refused tags, duplicate keys, column mappings,
message wording, huge numbers, too many stages, and alert rules naming no stage.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from funnelcli import loading
from funnelcli.cli import app
from funnelcli.definition import MAX_STAGES, build_funnel
from funnelcli.errors import DefinitionError
from funnelcli.loading import load_funnel_file, parse_yaml
from funnelcli.values import amount_from_yaml, as_written, describe, parse_amount, parse_rate

from .conftest import DATA, THEIRS, line_matching
from .processes import run_funnel

BAD = DATA / "bad"
STAGES = "stages:\n  - name: Lead\n    conversion: 25%\n  - name: Won\n"
PLAIN = "a funnel file holds plain text, numbers, lists and mappings"
AMOUNT_RANGE = "use an amount up to 1,000,000,000,000,000 (10^15)"


# Work that is refused at once allocates little; the work refused here would take hundreds of
# megabytes. Memory, unlike time, does not depend on how loaded the machine is.
MEMORY_BOUND = 16 * 1024 * 1024


@contextmanager
def peak_memory() -> Iterator[Callable[[], int]]:
    """The most memory Python allocated inside the block, in bytes (ask after it ends)."""
    tracemalloc.start()
    peak = 0
    try:
        yield lambda: peak
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()


def problems_of(tmp_path: Path, text: str) -> list[str]:
    """The problem lines of a funnel file holding ``text``, its path shown as f.yaml."""
    file = tmp_path / "f.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(DefinitionError) as caught:
        load_funnel_file(str(file))
    return [problem.replace(str(file), "f.yaml") for problem in caught.value.problems]


def problem_of(tmp_path: Path, text: str) -> str:
    problems = problems_of(tmp_path, text)
    assert len(problems) == 1, problems
    return problems[0]


def yaml_problem(text: str) -> str:
    with pytest.raises(DefinitionError) as caught:
        parse_yaml(text, "f.yaml")
    assert len(caught.value.problems) == 1
    return caught.value.problems[0]


@pytest.fixture(params=["C", "Python"])
def either_loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run a test with PyYAML's C loader and again with the pure Python one."""
    loading._strict_loader.cache_clear()
    if request.param == "Python":
        monkeypatch.delattr(yaml, "CSafeLoader")
    elif not hasattr(yaml, "CSafeLoader"):  # pragma: no cover - libyaml is not installed
        pytest.skip("PyYAML without libyaml")
    yield request.param
    loading._strict_loader.cache_clear()


# --- 1. values a tag cannot build -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'name: !!int "abc"\n',
            "f.yaml:1:7: invalid YAML: !!int 'abc' is not a whole number; "
            "remove the !!int tag, or write a whole number like 12",
        ),
        (
            'name: x\naverage_deal_value: !!float "lots"\n',
            "f.yaml:2:21: invalid YAML: !!float 'lots' is not a number; "
            "remove the !!float tag, or write a number like 2.5",
        ),
        (
            'name: x\nstarts: !!timestamp "next monday"\n',
            "f.yaml:2:9: invalid YAML: !!timestamp 'next monday' is not a date; "
            "remove the !!timestamp tag, or write a date like 2025-01-31",
        ),
        (
            "name: !!bool maybe\n",
            "f.yaml:1:7: invalid YAML: !!bool 'maybe' is not true or false; "
            "remove the !!bool tag, or write true or false like true",
        ),
        (
            'name: !!int ""\n',
            "f.yaml:1:7: invalid YAML: !!int '' is not a whole number; "
            "remove the !!int tag, or write a whole number like 12",
        ),
        (
            # Not tagged: read as a date by YAML's rules, but February has no 30th.
            "name: 2025-02-30\n",
            "f.yaml:1:7: invalid YAML: '2025-02-30' reads as a date but is not a valid one; "
            "quote it to use it as text, or correct it",
        ),
    ],
)
def test_a_value_its_tag_cannot_build(either_loader: str, text: str, message: str) -> None:
    assert yaml_problem(text) == message


def test_an_integer_of_5001_digits(tmp_path: Path) -> None:
    text = "name: Big\naverage_deal_value: 1" + "0" * 5000 + "\n" + STAGES
    assert problem_of(tmp_path, text) == (
        "f.yaml:2:21: invalid YAML: a number of 5,001 digits is too long to read "
        "(at most 4,300); write a smaller number"
    )


def test_the_command_line_shows_one_line_and_exits_2() -> None:
    path = str(BAD / "tag_timestamp_text.yaml")
    result = CliRunner().invoke(app, ["validate", path], prog_name="funnel")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}:2:9: invalid YAML: !!timestamp 'next monday' is not a date; "
        "remove the !!timestamp tag, or write a date like 2025-01-31\n"
    )


# --- 2. characters YAML refuses ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "name: Nul\x00\nstages: []\n",
            "f.yaml:1:10: invalid YAML: a NUL character (U+0000) is not allowed; "
            "delete it (is this a text file?)",
        ),
        (
            # The C reader counts UTF-8 bytes: é is two, yet the column counts it as one.
            "name: x\nnote: é\x07\n",
            "f.yaml:2:8: invalid YAML: the control character (U+0007) is not allowed; "
            "delete it (is this a text file?)",
        ),
    ],
)
def test_a_character_yaml_refuses(either_loader: str, text: str, message: str) -> None:
    assert yaml_problem(text) == message


# --- 3. an unclosed quote or bracket is shown where it opens ----------------------------------


def test_an_unclosed_quote_is_shown_where_it_opens(either_loader: str) -> None:
    text = (BAD / "syntax_unclosed_quote.yaml").read_text()
    assert yaml_problem(text) == (
        "f.yaml:1:7: invalid YAML: a quoted value starts here and is never closed; "
        "add the closing quote"
    )


def test_an_unclosed_list_at_the_end_is_shown_where_it_opens(either_loader: str) -> None:
    assert yaml_problem("name: x\nstages: [Lead, Won\n") == (
        "f.yaml:2:9: invalid YAML: a [ list starts here and is never closed; add the closing ]"
    )


def test_a_syntax_error_before_the_end_keeps_its_place() -> None:
    text = (BAD / "syntax_unclosed_flow.yaml").read_text()
    expected = line_matching(
        "f.yaml:3:9: invalid YAML: ", THEIRS, "; check the indentation and quoting there"
    )
    assert expected.fullmatch(yaml_problem(text))


# --- 4. two documents -------------------------------------------------------------------------


def test_two_documents(either_loader: str) -> None:
    text = (BAD / "syntax_two_documents.yaml").read_text()
    assert yaml_problem(text) == (
        "f.yaml:6:1: invalid YAML: expected a single document, found a second one at 6:1; "
        "keep one funnel per file"
    )


def test_a_leading_document_marker_is_one_document() -> None:
    assert parse_yaml("---\nname: x\n", "f.yaml") == {"name": "x"}


# --- 5. refused tags --------------------------------------------------------------------------


def test_a_python_tag_says_it_is_not_allowed(tmp_path: Path) -> None:
    witness = tmp_path / "pwned"
    text = f'name: Evil\nstages: !!python/object/apply:os.system ["touch {witness}"]\n'
    expected = line_matching(
        "f.yaml:2:9: invalid YAML: ",
        THEIRS,
        "python/object/apply:os.system",
        THEIRS,
        f"; tags that build objects are not allowed, remove the tag ({PLAIN})",
    )
    assert expected.fullmatch(yaml_problem(text))
    assert not witness.exists()


def test_an_unknown_tag_says_to_remove_it() -> None:
    expected = line_matching(
        "f.yaml:1:7: invalid YAML: ", THEIRS, "!money", THEIRS, f"; remove the tag ({PLAIN})"
    )
    assert expected.fullmatch(yaml_problem("name: !money 5\n"))


# --- 6. duplicate keys ------------------------------------------------------------------------


def test_a_second_stages_key(either_loader: str) -> None:
    text = (BAD / "duplicate_key.yaml").read_text()
    assert yaml_problem(text) == (
        "f.yaml:6:1: invalid YAML: duplicate key 'stages' (first on line 2, again on line 6); "
        "keep one of them, YAML keys must be unique in a mapping"
    )


def test_a_duplicate_key_inside_a_stage(either_loader: str) -> None:
    text = "stages:\n  - name: Lead\n    conversion: 25%\n    conversion: 30%\n  - name: Won\n"
    assert yaml_problem(text) == (
        "f.yaml:4:5: invalid YAML: duplicate key 'conversion' (first on line 3, again on line 4); "
        "keep one of them, YAML keys must be unique in a mapping"
    )


def test_keys_merged_in_may_be_overridden() -> None:
    text = "base: &base {name: A, conversion: 10%}\nstages:\n  - <<: *base\n    name: B\n"
    assert parse_yaml(text, "f.yaml") == {
        "base": {"name": "A", "conversion": "10%"},
        "stages": [{"name": "B", "conversion": "10%"}],
    }


TOO_DEEP = "invalid YAML: lists or mappings nested over 100 deep; is this a funnel file?"


def _indented_keys(levels: int) -> str:
    """``k:`` on each line, one column further in each time: block mappings ``levels`` deep."""
    return "".join(" " * level + "k:\n" for level in range(levels)) + " " * levels + "v\n"


@pytest.mark.parametrize(
    ("text", "place"),
    [
        # The top mapping is level 1: the 100th [ (column 3 + 100) opens level 101.
        pytest.param("a: " + "[" * 50_000 + "\n", "1:103", id="flow-lists"),
        # Each '{a: ' is 4 columns: the 101st starts at column 401.
        pytest.param("{a: " * 50_000 + "\n", "1:401", id="flow-mappings"),
        # Each '- ' is 2 columns: the 101st starts at column 201.
        pytest.param("- " * 50_000 + "x\n", "1:201", id="block-lists"),
        # Level n is line n, column n. Over 1,000 levels: past libyaml's own limit too.
        pytest.param(_indented_keys(1_200), "101:101", id="block-mappings"),
    ],
)
def test_lists_nested_too_deeply_are_refused_before_they_crash(
    either_loader: str, text: str, place: str
) -> None:
    # PyYAML's C composer (to 6.0.2) recurses per level: 50,000 levels crash the process;
    # its libyaml (from 6.0.4) refuses 1,000 in its own words. The message is ours either way.
    assert yaml_problem(text) == f"f.yaml:{place}: {TOO_DEEP}"


def test_100_levels_are_read(either_loader: str) -> None:
    parsed = parse_yaml("a: " + "[" * 99 + "]" * 99 + "\n", "f.yaml")
    assert isinstance(parsed, dict)
    levels, inner = 2, parsed["a"]  # the top mapping, then the first list
    while inner:
        levels, inner = levels + 1, inner[0]
    assert levels == 100


def test_a_syntax_error_in_a_long_file_keeps_its_own_message(either_loader: str) -> None:
    # Over 100 newlines: the depth is scanned, finds nothing, and the syntax error stands.
    text = "name: x\n" + "# a comment\n" * 200 + "stages: [Lead, Won\n"
    assert yaml_problem(text) == (
        "f.yaml:202:9: invalid YAML: a [ list starts here and is never closed; add the closing ]"
    )


def test_deep_nesting_through_the_command_line(tmp_path: Path) -> None:
    file = tmp_path / "deep.yaml"
    file.write_text("name: Deep\nstages: " + "[" * 50_000 + "\n", encoding="utf-8")
    done = run_funnel("validate", str(file), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    # The top mapping is level 1: the 100th [ of line 2 (column 8 + 100) opens level 101.
    assert done.stderr == f"error: {file}:2:108: {TOO_DEEP}\n"


# --- 7. columns: values are header names ------------------------------------------------------


COLUMNS_FUNNEL = "name: C\n" + STAGES


@pytest.mark.parametrize(
    ("columns", "message"),
    [
        (
            "columns: {stage: [Deal Stage, Stage]}",
            "f.yaml: columns.stage: expected a column name (text), got a list",
        ),
        (
            "columns: {entered: [created]}",
            "f.yaml: columns.entered: expected a mapping of stage names to column names "
            "like {Demo: Demo Date}, got a list",
        ),
        (
            "columns: {entered: {Lead: {a: b}}}",
            "f.yaml: columns.entered.Lead: expected a column name (text), got a mapping",
        ),
        (
            "columns: {entered: {true: Created}}",
            "f.yaml: columns.entered: expected stage names as keys, got True",
        ),
        (
            "columns: {amount: 2025-01-01}",
            "f.yaml: columns.amount: expected a column name (text), "
            "got the date 2025-01-01 (quote it to use it as text)",
        ),
        (
            "history_columns: {stage: [To Stage]}",
            "f.yaml: history_columns.stage: expected a column name (text), got a list",
        ),
        (
            "history_columns: {stage: true}",
            "f.yaml: history_columns.stage: expected a column name (text), got True",
        ),
    ],
)
def test_a_column_must_be_a_header_name(tmp_path: Path, columns: str, message: str) -> None:
    assert problem_of(tmp_path, COLUMNS_FUNNEL + columns + "\n") == message


def test_columns_are_kept_as_header_texts() -> None:
    data = {
        "stages": [{"name": "Lead"}, {"name": "Won"}],
        "columns": {"stage": "Deal Stage", "amount": 2025, "entered": {"Lead": "Created"}},
        "history_columns": {"stage": "To Stage", "changed": 7},
    }
    funnel = build_funnel(data).funnel
    assert funnel.columns == {
        "stage": "Deal Stage",
        "amount": "2025",
        "entered": {"Lead": "Created"},
    }
    assert funnel.history_columns == {"stage": "To Stage", "changed": "7"}


def test_an_alias_bomb_under_columns_is_never_expanded(tmp_path: Path) -> None:
    text = (BAD / "alias_bomb_columns.yaml").read_text()
    with peak_memory() as peak:
        assert problems_of(tmp_path, text) == [
            "f.yaml: columns.stage: expected a column name (text), got a list"
        ]
    assert peak() < MEMORY_BOUND  # str() of it would build 9^9 items


def test_a_list_that_holds_itself_is_described_not_printed(tmp_path: Path) -> None:
    assert problems_of(tmp_path, "columns: {stage: &self [*self]}\n" + STAGES) == [
        "f.yaml: columns.stage: expected a column name (text), got a list"
    ]


def test_describe_names_containers_and_cuts_texts() -> None:
    nested: list[object] = []
    nested.append(nested)
    assert describe(nested) == "a list"
    assert describe({"a": nested}) == "a mapping"
    assert describe({1, 2}) == "a set"
    assert describe(b"\x00") == "binary data"
    assert describe("line one\nline two") == "the text 'line one\\nline two'"
    assert describe("x" * 100) == f"the text '{'x' * 59}…'"


# --- 8. messages ------------------------------------------------------------------------------


def test_a_date_where_text_is_expected(tmp_path: Path) -> None:
    assert problem_of(tmp_path, "name: 2025-01-01\n" + STAGES) == (
        "f.yaml: name: expected a non-empty text, got the date 2025-01-01 "
        "(quote it to use it as text)"
    )


def test_a_date_and_time_where_a_label_is_expected(tmp_path: Path) -> None:
    text = "name: x\nstages:\n  - name: Lead\n    aliases: [2025-01-01 10:30:00]\n  - name: Won\n"
    assert problem_of(tmp_path, text) == (
        "f.yaml: stages[0].aliases[0]: expected a label (text), got the date and time "
        "2025-01-01 10:30:00 (quote it to use it as text)"
    )


def test_lost_is_shown_a_lost_example(tmp_path: Path) -> None:
    assert problem_of(tmp_path, "name: x\n" + STAGES + "lost: {a: b}\n") == (
        "f.yaml: lost: expected a list of labels like [Closed Lost, closedlost], got a mapping"
    )


def test_aliases_keep_the_won_example(tmp_path: Path) -> None:
    text = "name: x\nstages:\n  - name: Lead\n  - name: Won\n    aliases: 5\n"
    assert problem_of(tmp_path, text) == (
        "f.yaml: stages[1].aliases: expected a list of labels like [Closed Won, closedwon], got 5"
    )


def test_a_huge_float_rate_is_shown_as_written(tmp_path: Path) -> None:
    text = "name: x\nstages:\n  - name: Lead\n    conversion: 1.0e+308\n  - name: Won\n"
    assert problem_of(tmp_path, text) == (
        "f.yaml: stages[0].conversion: must be a rate between 0 and 1 (like 0.35 or 35%), "
        "got 1e+308"
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [(25.0, "25"), (0.35, "0.35"), (1e308, "1e+308"), (1e16, "1e+16"), (12, "12"), (True, "True")],
)
def test_numbers_as_written(value: object, written: str) -> None:
    assert as_written(value) == written


def test_a_rate_of_a_billion_digits_is_refused_at_once() -> None:
    with peak_memory() as peak, pytest.raises(ValueError) as caught:
        parse_rate("1e-999999999")
    assert str(caught.value) == "expected a rate (like 0.35 or 35%), got '1e-999999999'"
    assert peak() < MEMORY_BOUND  # 10**999999999 as an integer is 415 MB


# --- 9. huge amounts and days -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (
            "average_deal_value: 1.0e+300",
            f"f.yaml: average_deal_value: 1e+300 is too large; {AMOUNT_RANGE}",
        ),
        (
            "average_deal_value: 1000000000000001",
            f"f.yaml: average_deal_value: 1000000000000001 is too large; {AMOUNT_RANGE}",
        ),
        (
            "cost_per_lead: 2000000bn",
            f"f.yaml: cost_per_lead: '2000000bn' is too large; {AMOUNT_RANGE}",
        ),
        ("fx: {EUR: 1.0e+16}", f"f.yaml: fx.EUR: 1e+16 is too large; {AMOUNT_RANGE}"),
    ],
)
def test_an_amount_above_10_to_the_15(tmp_path: Path, line: str, message: str) -> None:
    assert problem_of(tmp_path, "name: x\n" + line + "\n" + STAGES) == message


def test_10_to_the_15_itself_is_an_amount() -> None:
    assert parse_amount("1,000,000,000,000,000") == Decimal(10**15)
    assert amount_from_yaml(10**15) == Decimal(10**15)


@pytest.mark.parametrize("text", ["1000000000000001", "1001000bn", "-2,000,000,000,000,000"])
def test_the_command_line_amount_is_capped_too(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse_amount(text)
    assert str(caught.value) == f"'{text}' is too large; {AMOUNT_RANGE}"


def test_days_above_100_years(tmp_path: Path) -> None:
    text = (
        "name: x\nstages:\n  - name: Lead\n    conversion: 25%\n    days: 1.0e+300\n  - name: Won\n"
    )
    assert problem_of(tmp_path, text) == (
        "f.yaml: stages[0].days: must be at most 36,500 days (100 years), got 1e+300"
    )


def test_100_years_of_days_is_allowed() -> None:
    data = {"stages": [{"name": "Lead", "conversion": "25%", "days": 36_500}, {"name": "Won"}]}
    assert build_funnel(data).funnel.stages[0].days == 36_500


# --- 10. at most 200 stages -------------------------------------------------------------------


def test_more_than_200_stages(tmp_path: Path) -> None:
    stages = "".join(f"  - name: Stage {index}\n" for index in range(10_000))
    assert problem_of(tmp_path, "name: Many\nstages:\n" + stages) == (
        "f.yaml: stages: needs at most 200 stages, got 10000; "
        "map several CRM labels to one stage with aliases:"
    )


def test_200_stages_are_allowed() -> None:
    stages = [{"name": f"Stage {index}"} for index in range(MAX_STAGES)]
    assert len(build_funnel({"stages": stages}).funnel.stages) == 200


# --- 11. alerts: fail_below names a stage of the funnel ---------------------------------------


ALERTS_FUNNEL = (
    "name: A\nstages:\n  - name: Lead\n    conversion: 80%\n  - name: Demo\n    conversion: 60%\n"
    "  - name: Won\n"
)


def test_fail_below_naming_no_stage_and_the_won_stage(tmp_path: Path) -> None:
    text = ALERTS_FUNNEL + "alerts:\n  fail_below: {Nope: 50%, won: 10%, demo: 5, lead: 30%}\n"
    assert problems_of(tmp_path, text) == [
        "f.yaml: alerts.fail_below.demo: must be a rate between 0 and 1 (like 0.35 or 35%), "
        "got 5; did you mean 5%?",
        "f.yaml: alerts.fail_below.Nope: no stage named 'Nope'; the stages are: Lead, Demo "
        "(Won, the won stage, has no conversion)",
        "f.yaml: alerts.fail_below.won: 'won' is the won stage, which converts to no later "
        "stage; use one of Lead, Demo",
    ]


def test_fail_below_matches_names_ignoring_case_and_punctuation(tmp_path: Path) -> None:
    file = tmp_path / "f.yaml"
    file.write_text(ALERTS_FUNNEL + "alerts: {fail_below: {' DEMO!': 50%}}\n")
    loaded = load_funnel_file(str(file))
    assert loaded.alerts is not None
    assert list(loaded.alerts.fail_below) == ["DEMO!"]


def test_validate_refuses_an_unknown_fail_below_stage() -> None:
    path = str(BAD / "alerts_unknown_stage.yaml")
    result = CliRunner().invoke(app, ["validate", path], prog_name="funnel")
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: alerts.fail_below.Nope: no stage named 'Nope'; "
        "the stages are: Lead, Demo, Proposal (Won, the won stage, has no conversion)\n"
    )
