"""Funnel files: good and bad ones under tests/data/funnels/, and which funnel a command uses."""

from __future__ import annotations

import shutil
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import yaml

from funnelcli import loading
from funnelcli.errors import DefinitionError, FunnelError, InputFileError
from funnelcli.loading import load_funnel_file, parse_yaml, resolve_funnel

from .conftest import DATA, THEIRS, line_matching
from .processes import run_funnel

FUNNELS = DATA / "funnels"


def path_of(name: str) -> str:
    return str(FUNNELS / name)


def message_of(path: str) -> str:
    with pytest.raises(FunnelError) as caught:
        load_funnel_file(path)
    return str(caught.value)


def test_a_good_file() -> None:
    path = path_of("good.yaml")
    loaded = load_funnel_file(path)
    funnel = loaded.funnel
    assert loaded.warnings == []
    assert funnel.name == "B2B SaaS"
    assert funnel.source == path
    assert funnel.is_default is False
    assert funnel.average_deal_value == Decimal(24000)
    assert funnel.cost_per_lead == Decimal(45)
    assert [stage.name for stage in funnel.stages] == ["Lead", "MQL", "SQL", "Opportunity", "Won"]
    assert [stage.conversion for stage in funnel.stages[:-1]] == [
        Fraction(1, 4),
        Fraction(2, 5),
        Fraction(1, 2),
        Fraction(3, 10),
    ]
    assert funnel.stages[0].aliases == ("New", "Inbound")
    assert funnel.lost_labels == ("Closed Lost", "closedlost")


def test_warnings_come_with_the_funnel() -> None:
    path = path_of("typo.yaml")
    loaded = load_funnel_file(path)
    assert loaded.warnings == [
        f"{path}: stages[0].conversoin: unknown key, ignored; did you mean 'conversion'?"
    ]
    assert loaded.funnel.has_rates is False


def test_a_syntax_error_names_line_and_column() -> None:
    path = path_of("syntax_error.yaml")
    # Line 3 is "currency: USD" inside the unclosed [Lead, Won: its ':' is column 9.
    expected = line_matching(
        f"{path}:3:9: invalid YAML: ", THEIRS, "; check the indentation and quoting there"
    )
    assert expected.fullmatch(message_of(path))


def test_an_empty_file() -> None:
    path = path_of("empty.yaml")
    assert message_of(path) == f"{path}: the file is empty; it needs at least a stages: list"


def test_a_list_at_the_top() -> None:
    path = path_of("list_top.yaml")
    assert message_of(path) == (
        f"{path}: expected a mapping with name: and stages: at the top, got a list"
    )


def test_a_python_tag_is_refused(capfd: pytest.CaptureFixture[str]) -> None:
    path = path_of("python_tag.yaml")
    with pytest.raises(DefinitionError) as caught:
        load_funnel_file(path)
    # Line 2 is 'stages: !!python/...': the tag starts after "stages: ", at column 9.
    expected = line_matching(
        f"{path}:2:9: invalid YAML: ",
        THEIRS,
        "python/object/apply:os.system",
        THEIRS,
        "; tags that build objects are not allowed, remove the tag "
        "(a funnel file holds plain text, numbers, lists and mappings)",
    )
    assert expected.fullmatch(str(caught.value))
    assert "hi" not in capfd.readouterr().out


def test_a_python_tag_is_not_executed(tmp_path: Path) -> None:
    witness = tmp_path / "executed"
    text = f'stages: !!python/object/apply:os.system ["touch {witness}"]\n'
    with pytest.raises(DefinitionError):
        parse_yaml(text, "evil.yaml")
    assert not witness.exists()


def test_a_nan_rate() -> None:
    path = path_of("rate_nan.yaml")
    assert message_of(path) == (
        f"{path}: stages[0].conversion: expected a rate (like 0.35 or 35%), got nan"
    )


def test_a_file_not_in_utf8() -> None:
    path = path_of("not_utf8.yaml")
    # "name: Caf" is 9 bytes (0 to 8); the Latin-1 é is byte 9.
    with pytest.raises(InputFileError) as caught:
        load_funnel_file(path)
    assert str(caught.value) == f"{path}: byte 9 is not UTF-8; save the funnel file as UTF-8"


def test_a_file_not_in_utf8_after_a_byte_order_mark() -> None:
    path = path_of("not_utf8_bom.yaml")
    # 3 bytes of BOM, then "name: Caf" (9 bytes): the é is byte 12 of the file.
    assert message_of(path) == f"{path}: byte 12 is not UTF-8; save the funnel file as UTF-8"


def test_a_byte_order_mark_is_skipped(tmp_path: Path) -> None:
    file = tmp_path / "bom.yaml"
    file.write_bytes(b"\xef\xbb\xbf" + (FUNNELS / "good.yaml").read_bytes())
    assert load_funnel_file(str(file)).funnel.name == "B2B SaaS"


@pytest.mark.parametrize("loader", ["C", "Python"])
def test_a_byte_order_mark_takes_no_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loader: str
) -> None:
    # "name: Nul" is 9 characters: the NUL is column 10 of line 1, the BOM before it unseen
    # (kept, it would count as a character, or as 3 bytes in the C reader).
    file = tmp_path / "bom_nul.yaml"
    file.write_bytes(b"\xef\xbb\xbfname: Nul\x00\nstages: [{name: Lead}, {name: Won}]\n")
    loading._strict_loader.cache_clear()
    if loader == "Python":
        monkeypatch.delattr(yaml, "CSafeLoader")
    try:
        assert message_of(str(file)) == (
            f"{file}:1:10: invalid YAML: a NUL character (U+0000) is not allowed; "
            "delete it (is this a text file?)"
        )
    finally:
        loading._strict_loader.cache_clear()


def test_a_byte_order_mark_through_the_command_line(tmp_path: Path) -> None:
    file = tmp_path / "bom_nul.yaml"
    file.write_bytes(b"\xef\xbb\xbfname: Nul\x00\nstages: [{name: Lead}, {name: Won}]\n")
    done = run_funnel("validate", str(file), cwd=tmp_path)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == (
        f"error: {file}:1:10: invalid YAML: a NUL character (U+0000) is not allowed; "
        "delete it (is this a text file?)\n"
    )


def test_a_missing_file() -> None:
    path = path_of("no_such_file.yaml")
    with pytest.raises(InputFileError) as caught:
        load_funnel_file(path)
    assert str(caught.value) == (
        f"{path}: no such file; check the path, or run 'funnel init {path}' to write one"
    )


def test_a_folder() -> None:
    path = str(FUNNELS)
    with pytest.raises(InputFileError) as caught:
        load_funnel_file(path)
    assert str(caught.value) == (
        f"{path}: is a folder, not a funnel file; give the path of a .yaml file"
    )


def test_a_huge_file(tmp_path: Path) -> None:
    file = tmp_path / "huge.yaml"
    file.write_bytes(b"#" * (1024 * 1024 + 1))  # one byte over 1 MiB
    assert message_of(str(file)) == (
        f"{file}: is 1,048,577 bytes; a funnel file is a few KB of YAML, is this the right file?"
    )


# --- resolve_funnel -------------------------------------------------------------------------


def test_an_explicit_path_wins(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").write_text("name: Local\nstages: [{name: A}, {name: B}]\n")
    loaded = resolve_funnel(path_of("good.yaml"), cwd=tmp_path)
    assert loaded.funnel.name == "B2B SaaS"
    assert loaded.funnel.source == path_of("good.yaml")


def test_funnel_yaml_in_the_folder_is_next(tmp_path: Path) -> None:
    shutil.copy(FUNNELS / "good.yaml", tmp_path / "funnel.yaml")
    loaded = resolve_funnel(None, cwd=tmp_path)
    assert loaded.funnel.name == "B2B SaaS"
    assert loaded.funnel.is_default is False
    assert loaded.funnel.source == str(tmp_path / "funnel.yaml")


def test_funnel_yaml_in_the_working_folder_is_named_short(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shutil.copy(FUNNELS / "good.yaml", tmp_path / "funnel.yaml")
    monkeypatch.chdir(tmp_path)
    assert resolve_funnel(None).funnel.source == "funnel.yaml"


def test_the_default_comes_last(tmp_path: Path) -> None:
    loaded = resolve_funnel(None, cwd=tmp_path)
    assert loaded.funnel.is_default is True
    assert loaded.funnel.source == "built-in default"
    assert loaded.warnings == []


def test_a_folder_named_funnel_yaml_is_not_a_file(tmp_path: Path) -> None:
    (tmp_path / "funnel.yaml").mkdir()
    assert resolve_funnel(None, cwd=tmp_path).funnel.is_default is True


def test_a_bad_local_funnel_yaml_is_reported(tmp_path: Path) -> None:
    shutil.copy(FUNNELS / "list_top.yaml", tmp_path / "funnel.yaml")
    with pytest.raises(DefinitionError) as caught:
        resolve_funnel(None, cwd=tmp_path)
    assert caught.value.problems == [
        f"{tmp_path / 'funnel.yaml'}: expected a mapping with name: and stages: at the top, "
        "got a list"
    ]
