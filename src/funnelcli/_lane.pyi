"""Types of the compiled lane, src/funnelcli/_lane.c (readers/lane.py drives it)."""

from collections.abc import Sequence
from typing import Any

class Lane:
    def __init__(
        self,
        *,
        path: str | bytes,
        start: int,
        lines_before: int,
        last_line: int,
        delimiter: str,
        width: int,
        decision_columns: Sequence[int],
        pipeline: int,
        amount: int,
        currency: int,
        id: int,
        name: int,
        owner: int,
        segment: int,
        created: int,
        closed: int,
        entered: Sequence[int],
        stale_days: Sequence[int],
        as_of: int,
        min_year: int,
        max_year: int,
        funnel_currency: bytes,
        fx_codes: Sequence[bytes],
        stale_kept: int,
        fit_until: int = 0,
    ) -> None: ...
    def run(self, rows: int, /) -> tuple[int, Any]: ...
    def learn(self, key: bytes, outcome: int, stage: int, /) -> None: ...
    def take(self) -> tuple[Any, ...]: ...
    def take_stale(self) -> tuple[list[Any], int]: ...
    def take_ids(self, into: bytearray, /) -> None: ...
    @property
    def records(self) -> int: ...
    @property
    def repeats(self) -> int: ...

def hash_ids(ids: Sequence[str], into: bytearray, /) -> None: ...
def distinct_ids(hashes: bytearray, /) -> bool: ...
