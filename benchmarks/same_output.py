"""Proof that a change of structure changed no output, byte for byte.

Every export under ``tests/data`` and ``examples`` is reported as JSON, CSV and Markdown
(with no funnel file, and with the funnel file beside it when there is one), the
benchmark exports of 10k, 100k and 1M deals likewise, and every sample funnel planned;
each run's exit code, stdout and stderr are hashed. Save the hashes before the change,
check them after:

    python -m benchmarks.same_output save before.json
    python -m benchmarks.same_output check before.json    # lists every run that differs

(The README's examples are checked by tests/system/test_readme.py, on every `make test`.)
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AS_OF = "2026-12-01"
FORMATS = ("json", "csv", "markdown")
EXPORT_SUFFIXES = (".csv", ".xlsx", ".tsv", ".txt")
BENCH_SIZES = (10_000, 100_000, 1_000_000)
TIMEOUT = 600


BENCH_FOLDER = Path("benchmarks") / "out" / "same_output"
"""The benchmark exports, made once (deterministic), under the ignored benchmarks/out."""


def _exports() -> Iterator[Path]:
    """Every export, as a path relative to the repository: runs are made from its root, so
    the outputs (which name their files) are the same in any checkout."""
    for folder in (Path("tests") / "data", Path("examples")):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix.lower() in EXPORT_SUFFIXES and path.is_file():
                yield path.relative_to(ROOT)


def _funnel_beside(export: Path) -> Path | None:
    for candidate in (
        export.with_name(f"{export.stem}_funnel.yaml"),
        export.with_name("funnel.yaml"),
    ):
        if candidate.is_file():
            return candidate
    return None


def _runs(bench_folder: Path) -> Iterator[tuple[str, list[str]]]:
    """(a stable name, the funnel arguments) of every run."""
    for export in _exports():
        name = str(export)
        funnel = _funnel_beside(ROOT / export)
        for form in FORMATS:
            base = ["report", str(export), "--as-of", AS_OF, "--format", form]
            yield f"{name} {form}", base
            if funnel is not None:
                beside = str(funnel.relative_to(ROOT))
                yield f"{name} --funnel {funnel.name} {form}", [*base, "--funnel", beside]
    for size in BENCH_SIZES:
        export, funnel = bench_folder / f"deals_{size}.csv", bench_folder / "funnel.yaml"
        for form in FORMATS:
            yield (
                f"benchmark {size:,} {form}",
                ["report", str(export), "--funnel", str(funnel), "--as-of", AS_OF, "-f", form],
            )
    for funnel in sorted(Path("sample_funnels").glob("*.yaml")):
        for form in FORMATS:
            yield (
                f"plan {funnel.name} {form}",
                [
                    "plan",
                    str(funnel),
                    "--target",
                    "1.2M",
                    "--confidence",
                    "90%",
                    "--as-of",
                    AS_OF,
                    "--by",
                    "2027-03-31",
                    "--format",
                    form,
                ],
            )
    maven = Path("examples") / "maven_pipeline.csv"
    for form in FORMATS:
        yield (
            f"plan --rates-from maven {form}",
            ["plan", "--target", "1M", "--rates-from", str(maven), "--format", form],
        )


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _run(arguments: list[str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "funnelcli", *arguments],
        capture_output=True,
        cwd=ROOT,
        timeout=TIMEOUT,
        env={**os.environ, "COLUMNS": "80", "NO_COLOR": "1"},
        check=False,
    )
    return {"exit": done.returncode, "stdout": _digest(done.stdout), "stderr": _digest(done.stderr)}


def _bench_files(folder: Path) -> None:
    from benchmarks.generate import FUNNEL_YAML, write_export

    (ROOT / folder).mkdir(parents=True, exist_ok=True)
    (ROOT / folder / "funnel.yaml").write_text(FUNNEL_YAML, encoding="utf-8")
    for size in BENCH_SIZES:
        if not (ROOT / folder / f"deals_{size}.csv").is_file():
            write_export(size, ROOT / folder / f"deals_{size}.csv")


def outputs() -> dict[str, dict[str, object]]:
    if (ROOT / "funnel.yaml").exists():
        sys.exit("./funnel.yaml would be every no-file run's funnel: move it away first")
    _bench_files(BENCH_FOLDER)
    runs = list(_runs(BENCH_FOLDER))
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        found = pool.map(lambda run: _run(run[1]), runs)
        return {name: result for (name, _), result in zip(runs, found, strict=True)}


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("save", "check"):
        sys.exit("usage: python -m benchmarks.same_output save|check FILE")
    action, path = sys.argv[1], Path(sys.argv[2])
    found = outputs()
    if action == "save":
        path.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"{len(found):,} runs saved to {path}")
        return
    saved = json.loads(path.read_text(encoding="utf-8"))
    differ = sorted(
        name for name in saved.keys() | found.keys() if saved.get(name) != found.get(name)
    )
    for name in differ:
        print(f"differs: {name}: {saved.get(name)} -> {found.get(name)}")
    print(f"{len(found):,} runs, {len(differ):,} differ")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
