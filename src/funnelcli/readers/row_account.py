"""Row accounting: what happened to every data row read, so that rows read = rows used +
rows skipped, each skip with its reason (the keys of :data:`funnelcli.results.SKIP_REASONS`)
and the first few row numbers and values as examples; and the deal ids a read has seen,
whole or as the compiled module's hashes, to find a deal that comes twice.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType

from funnelcli.definition import label_key
from funnelcli.errors import shown
from funnelcli.readers.cell_formats import cell_text
from funnelcli.readers.tabular.table import Cell

EXAMPLES_PER_REASON = 3
WORDED_EXAMPLES = frozenset({"unreadable_amount", "unreadable_date"})
"""Reasons whose examples quote the cell themselves and say after it why it was not read:
``'8/1/24 14:03' in 'Create Date' (does not match --date-format %m/%d/%Y)``."""

ID_BATCH = 8192
"""Ids noted between two hashings of them (RowAccount.id_batch): under a MB of text."""


def compiled_module() -> ModuleType | None:
    """The compiled module (``funnelcli._lane``), or None when it is not built.

    Its lane reads common CSV rows (readers/lane.py); its hashes of deal ids are what a
    read that defers repeats keeps instead of the ids (RowAccount.id_hashes). Without a C
    compiler, the Python lanes read everything and ids are kept whole.
    """
    try:
        import funnelcli._lane as _lane
    except ImportError:
        return None
    return _lane


class RepeatedIds(Exception):
    """A deal id may have come again in a read that cannot settle it alone (the compiled
    lane, one of several processes, or any read that notes ids as hashes): the export is
    read again by one Python process, which keeps the ids whole and settles each repeat
    (see :meth:`DealReader.repeats_earlier_row`)."""


@dataclass
class RowTally:
    """Rows read, used and skipped, each skip by reason with the first rows as examples:
    the accounting a deals export (:class:`RowAccount`) and a history file
    (:class:`~funnelcli.readers.history.HistoryAccount`) share."""

    read: int = 0
    used: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, list[tuple[int, str]]] = field(default_factory=dict)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def skip(self, reason: str, row: int, value: str) -> None:
        self.skipped[reason] += 1
        examples = self.examples.setdefault(reason, [])
        if len(examples) < EXAMPLES_PER_REASON:
            examples.append((row, shown(value, 160)))


@dataclass
class RowAccount(RowTally):
    """What happened to every data row of a deals export read."""

    filtered: Counter[str] = field(default_factory=Counter)  # rows left out by a filter, by filter
    without_history: int = 0  # deals used that a --history file says nothing about
    pipelines: Counter[str] = field(default_factory=Counter)  # rows read, by pipeline
    unknown_labels: Counter[str] = field(default_factory=Counter)  # by spelling of the first row
    _spellings: dict[str, tuple[int, str]] = field(
        default_factory=dict
    )  # label key -> (row, label)
    ids: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False, compare=False)
    """Deal id -> (its first row, a hash of that row's cells): the exact record of a read
    that settles repeats (or defers them without the compiled module)."""
    id_hashes: bytearray = field(default_factory=bytearray, repr=False, compare=False)
    """The ids of a read that defers repeats, as the compiled module's 64-bit hashes (8
    bytes an id, in no order): two equal ones are taken for a repeat (:meth:`check_ids`),
    which one Python read then settles exactly."""
    id_batch: list[str] = field(default_factory=list, repr=False, compare=False)
    """Ids noted since the last :meth:`flush_ids`, hashed by the thousands."""

    def flush_ids(self) -> None:
        """Hash the ids of :attr:`id_batch` into :attr:`id_hashes`."""
        if self.id_batch:
            module = compiled_module()
            assert module is not None  # ids are batched with the compiled module alone
            module.hash_ids(self.id_batch, self.id_hashes)
            self.id_batch = []

    def check_ids(self) -> None:
        """Raise :class:`RepeatedIds` when two ids noted as hashes may be one (their hashes
        are equal); the hashes are then forgotten."""
        self.flush_ids()
        if self.id_hashes:
            module = compiled_module()
            assert module is not None
            distinct = module.distinct_ids(self.id_hashes)
            self.id_hashes = bytearray()
            if not distinct:
                raise RepeatedIds

    @property
    def filtered_total(self) -> int:
        return sum(self.filtered.values())

    def count_rows(self, read: int, used: int, pipelines: Mapping[Cell, int]) -> None:
        """Add rows counted elsewhere (the fast lane's locals, the compiled lane): ``read``
        rows, ``used`` of them, ``pipelines`` the rows read by pipeline cell as written
        (named here as :meth:`DealReader.deals` names them, in order of first appearance)."""
        self.read += read
        self.used += used
        for raw, count in pipelines.items():
            self.pipelines[cell_text(raw) or "(blank)"] += count

    def merge(self, other: RowAccount) -> None:
        """Add the counts of the rows that follow these in the file (another process's
        share); a deal id in both shares raises :class:`RepeatedIds`."""
        if self.id_batch or self.id_hashes or other.id_batch or other.id_hashes:
            # Hashes (the compiled module is built, so no share kept ids whole): compared
            # by check_ids when all are in.
            self.flush_ids()
            other.flush_ids()
            self.id_hashes += other.id_hashes
        elif other.ids:
            if not self.ids.keys().isdisjoint(other.ids):
                raise RepeatedIds
            self.ids.update(other.ids)
        self.read += other.read
        self.used += other.used
        self.skipped.update(other.skipped)
        self.filtered.update(other.filtered)
        self.without_history += other.without_history
        self.pipelines.update(other.pipelines)
        for reason, examples in other.examples.items():
            # The first rows of the file, whichever part read them.
            merged = sorted(self.examples.get(reason, []) + examples)
            self.examples[reason] = merged[:EXAMPLES_PER_REASON]
        for key, (row, label) in other._spellings.items():
            self._count_label(key, row, label, other.unknown_labels[label])

    def unknown_label(self, row: int, label: str) -> None:
        """Labels alike but for case and punctuation are one label: one alias fixes them all."""
        self._count_label(label_key(label), row, label, 1)

    def _count_label(self, key: str, row: int, label: str, count: int) -> None:
        known = self._spellings.get(key)
        if known is None or row < known[0]:
            if known is not None:
                self.unknown_labels[label] = self.unknown_labels.pop(known[1])
            self._spellings[key] = (row, label)
        self.unknown_labels[self._spellings[key][1]] += count
