"""One target under atheris (libFuzzer): ``python -m fuzz.atheris_main csv [libFuzzer flags]``.

Optional: atheris needs a compiler to install and is not in the test extra. The project's
modules are instrumented for coverage; a crash input is written where
``-artifact_prefix`` says (fuzz/run.py points it at fuzz/crashes/).
"""

from __future__ import annotations

import sys

import atheris

with atheris.instrument_imports(include=["funnelcli"]):
    from fuzz.targets import TARGETS


def main() -> None:
    name = sys.argv.pop(1)
    atheris.Setup(sys.argv, TARGETS[name])
    atheris.Fuzz()


if __name__ == "__main__":
    main()
