"""Turn an amount cell of a CRM export into an exact :class:`Money`.

The rules below are a contract: tests assert each of them, and a reader of an
export relies on them to tell the user why a cell was refused.

Cells that are not text
    ``None`` is an empty amount. ``int`` and ``float`` cells (XLSX numbers)
    become a ``Decimal`` through ``str()``, so ``0.1`` is ``Decimal("0.1")``,
    not the binary fraction. A ``Decimal`` is taken as is. NaN and infinities
    are refused; so are ``True``/``False``.

Text
    Surrounding whitespace is ignored; empty or blank text is an empty amount
    (``None``). Around the number, in any order, may stand:

    * one sign: a leading ``-``, ``+`` or ``−`` (U+2212), or parentheses
      around the whole amount, ``(1,234.00)``, meaning negative;
    * one currency, before or after the number, with or without a space:
      an upper-case ISO 4217 code (``USD``, ``EUR``, ...) or a symbol,
      ``$`` and ``US$`` -> USD, ``€`` -> EUR, ``£`` -> GBP, ``¥`` -> JPY,
      ``₹`` -> INR. ``kr`` (Danish, Norwegian, Swedish, Icelandic crowns)
      names no single currency, so it is accepted and the currency is None.
      The same currency written twice (``$5 USD``) is accepted.

    The number itself:

    * Scientific notation as Excel writes it, ``1.5E+06``, is read exactly.
    * Spaces (also NBSP U+00A0 and narrow NBSP U+202F) and apostrophes
      (``'`` and U+2019, Swiss style) are only ever thousands separators.
    * When both ``,`` and ``.`` occur, the one that comes last is the decimal
      separator and occurs once; the other groups the thousands.
    * Only commas: several commas group thousands (``1,234,567``). A single
      comma followed by exactly three digits is a thousands separator
      (``12,345`` is 12345), unless the digits before it are ``0`` or none
      (``0,123`` is 0.123, no number starts with a zero group), or spaces or
      apostrophes already group the thousands (``1 234,567`` is 1234.567).
      Any other single comma is the decimal separator (``12,34`` is 12.34).
    * Only dots: several dots group thousands (``1.234.567``); a single dot is
      always the decimal separator (``12.345`` is 12.345), because that is how
      programs, XLSX numbers and Pipedrive write decimals.
    * Thousands groups must be well formed: one to three leading digits (not
      starting with 0), then groups of exactly three, one kind of separator.
      ``1,23,4.00`` (and Indian lakh grouping, ``1,23,456``) is refused.
    * Amounts above 10**15 in magnitude are refused: no deal is that large,
      such a cell is an id or a phone number in the wrong column.

    A negative zero is returned as zero.

Decimal commas, per column
    The rules above read one cell alone, so ``2.500`` is 2.5. An export whose amount
    column shows a decimal comma anywhere (``1.234,56``, ``999,50``) writes its
    thousands with dots: :class:`DecimalEvidence` gathers what a column's cells say,
    and ``parse_money(cell, decimal_comma=True)`` reads the column that way, ``.`` and
    ``,`` trading places (``2.500`` is 2500, ``12.000`` is 12000, ``1,234`` is 1.234).
    Several dot groups (``1.250.000``) decide the same way. A column that shows both a
    decimal comma and a decimal point (``12.5``, ``1,234.56``) is refused by the reader,
    naming an example of each, when a cell in it could be read either way.

    A lone dot followed by exactly three digits (``2.500``, ``12.000``) is 2500 in a
    column of decimal commas and 2.5 in one of decimal points. When such cells are all
    a column shows, with no decimal comma and no decimal point (``12.5``, ``0.99``,
    ``0.500``, ``1.2345``, ``1,234.50``) to decide, the column is :attr:`ambiguous
    <DecimalEvidence.ambiguous>`: the reader refuses it, never guesses, and the user
    names the separator (``funnel report --decimal comma|point``), which is then taken
    without looking at the cells.

Speed
    Two precompiled fast paths come first: plain ``-1234.5`` goes straight to
    ``Decimal``, and US grouping with an optional ISO code or ``$`` prefix
    (``USD 485,000.00``) skips the general parser. Both follow the rules above.

Refusals raise ``ValueError`` with a short reason meant to follow
``unreadable amount '<cell>': ``: ``not a number``, ``infinite``,
``two signs``, ``two currencies``, ``two numbers``, ``no digits``,
``unknown currency 'ABC'``, ``unexpected text 'apples'``,
``unexpected character '%'``, ``unbalanced parentheses``,
``malformed digit groups``, ``nothing after the decimal separator``,
``too large to be a deal amount``, ``a true/false value, not an amount``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from decimal import Decimal

MAX_AMOUNT = Decimal(10) ** 15
"""The largest magnitude accepted as a deal amount."""

TOO_LARGE = "too large to be a deal amount"


@dataclass(frozen=True, slots=True)
class Money:
    """An exact amount and, when the cell named one, its ISO 4217 currency code."""

    amount: Decimal
    currency: str | None


# The fast path: what programs write (Pipedrive values, CSVs saved by scripts).
_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
# The second fast path: US grouping, as Salesforce and HubSpot write it ("USD 485,000.00").
_US_GROUPED = re.compile(
    r"(?:(?P<code>[A-Z]{3}) ?|(?P<dollar>\$))?"
    r"(?P<minus>-)?(?P<number>[1-9][0-9]{0,2}(?:,[0-9]{3})+(?:\.[0-9]+)?)"
)
_SCIENTIFIC = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+")
_NOT_FINITE = {
    "nan": "not a number",
    "snan": "not a number",
    "inf": "infinite",
    "infinity": "infinite",
}

_SIGNS = {"-": True, "\u2212": True, "+": False}
_SYMBOLS = (("US$", "USD"), ("$", "USD"), ("€", "EUR"), ("£", "GBP"), ("¥", "JPY"), ("₹", "INR"))
_CROWNS = "kr"
_LEADING_WORD = re.compile(r"[A-Za-z]+\.?")
_TRAILING_WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]+\.?$")
# ISO 4217 codes in use, and the retired CUC, HRK, SLL, ZWL that older exports still carry.
_ISO_4217_CODES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP
    DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS
    INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
    MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR
    PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS
    SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW
    UZS VED VES VND VUV WST XAF XAG XAU XCD XCG XDR XOF XPD XPF XPT YER ZAR ZMW ZWG ZWL
    """
_ISO_4217 = frozenset(_ISO_4217_CODES.split())

_UNEXPECTED = re.compile(r"[^0-9.,' \u00a0\u202f\u2019]")
_WORDS = re.compile(r"[^\s0-9.,]+")
_SEPARATOR_ALIASES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\u2019": "'"})
_DIGITS = frozenset("0123456789")
_DECIMAL_COMMA = str.maketrans({".": ",", ",": "."})
_NUMBER_CORE = re.compile("[0-9][0-9.,' \u00a0\u202f\u2019]*")
_GROUPING = " '\u00a0\u202f\u2019"


def parse_money(
    cell: str | int | float | Decimal | None, *, decimal_comma: bool = False
) -> Money | None:
    """Read one amount cell; ``None`` when it is empty. Raises ``ValueError`` with a reason.

    ``decimal_comma``: text cells are of a column that writes decimals with a comma and
    thousands with dots (see "Decimal commas, per column" above)."""
    if cell is None:
        return None
    if isinstance(cell, str):
        return _parse_text(cell, decimal_comma)
    if isinstance(cell, bool):
        raise ValueError("a true/false value, not an amount")
    if isinstance(cell, float):
        if not math.isfinite(cell):
            raise ValueError("not a number" if math.isnan(cell) else "infinite")
        return Money(_checked(Decimal(str(cell))), None)
    if isinstance(cell, int):
        return Money(_checked(Decimal(cell)), None)
    if isinstance(cell, Decimal):
        if not cell.is_finite():
            raise ValueError("infinite" if cell.is_infinite() else "not a number")
        return Money(_checked(cell), None)
    raise ValueError("not a number")


def _parse_text(cell: str, decimal_comma: bool = False) -> Money | None:
    text = cell.strip()
    if not text:
        return None
    if decimal_comma:  # the fast paths read a dot as the decimal separator
        return _parse_general(text, decimal_comma)
    if _PLAIN.fullmatch(text):
        amount = Decimal(text)
        if amount.copy_abs() > MAX_AMOUNT:
            raise ValueError(TOO_LARGE)
        return Money(amount if amount or not amount.is_signed() else amount.copy_abs(), None)
    us_grouped = _US_GROUPED.fullmatch(text)
    if us_grouped is not None:
        money = _from_us_grouped(us_grouped)
        if money is not None:
            return money
    return _parse_general(text, decimal_comma=False)


def _parse_general(text: str, decimal_comma: bool) -> Money:
    not_finite = _NOT_FINITE.get(text.lstrip("+-\u2212").lower())
    if not_finite is not None:
        raise ValueError(not_finite)
    affixes, core = _peel_affixes(text)
    if decimal_comma:  # 1.234,56 read as 1,234.56 is
        core = core.translate(_DECIMAL_COMMA)
    amount = _checked(Decimal(_plain_digits(core)))
    return Money(amount.copy_negate() if affixes.negative and amount else amount, affixes.currency)


def _from_us_grouped(match: re.Match[str]) -> Money | None:
    code = "USD" if match["dollar"] else match["code"]
    if code is not None and code not in _ISO_4217:
        return None  # let the general path say why
    amount = Decimal(match["number"].replace(",", ""))
    if amount > MAX_AMOUNT:
        raise ValueError(TOO_LARGE)
    return Money(amount.copy_negate() if match["minus"] else amount, code)


def _checked(amount: Decimal) -> Decimal:
    """Refuse absurd magnitudes; write ``1.5E+6`` as ``1500000`` and ``-0`` as ``0``."""
    if amount.copy_abs() > MAX_AMOUNT:
        raise ValueError(TOO_LARGE)
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent > 0:
        amount = amount.quantize(Decimal(1))
    return amount if amount or not amount.is_signed() else amount.copy_abs()


@dataclass(slots=True)
class _Affixes:
    """What stood around the number: its sign and its currency."""

    negative: bool = False
    signed: bool = False
    currency: str | None = None
    has_currency: bool = False

    def add_sign(self, negative: bool) -> None:
        if self.signed:
            raise ValueError("two signs")
        self.signed = True
        self.negative = negative

    def add_currency(self, code: str | None) -> None:
        if self.has_currency and code != self.currency:
            raise ValueError("two currencies")
        self.has_currency = True
        self.currency = code


def _peel_affixes(text: str) -> tuple[_Affixes, str]:
    """Strip signs, parentheses and currencies off both ends; return them and the number."""
    affixes = _Affixes()
    rest = text
    while (peeled := _peel_once(rest, affixes)) is not None:
        rest = peeled.strip()
    return affixes, rest


def _peel_once(rest: str, affixes: _Affixes) -> str | None:
    if not rest:
        return None
    first = rest[0]
    if first == "(" and rest[-1] == ")":
        affixes.add_sign(negative=True)
        return rest[1:-1]
    if first in _SIGNS:
        affixes.add_sign(_SIGNS[first])
        return rest[1:]
    for symbol, code in _SYMBOLS:
        if rest.startswith(symbol):
            affixes.add_currency(code)
            return rest[len(symbol) :]
        if rest.endswith(symbol):
            affixes.add_currency(code)
            return rest[: -len(symbol)]
    for word_match in _currency_words(rest):
        word = word_match.group().rstrip(".")
        if word in _ISO_4217 or word.lower() == _CROWNS:
            affixes.add_currency(None if word.lower() == _CROWNS else word)
            return rest[: word_match.start()] + rest[word_match.end() :]
    return None


def _currency_words(rest: str) -> list[re.Match[str]]:
    """The words at either end that could name a currency (cheap checks before regexes)."""
    words = []
    if rest[0].isalpha() and (leading := _LEADING_WORD.match(rest)) is not None:
        words.append(leading)
    if (rest[-1].isalpha() or rest[-1] == ".") and (
        trailing := _TRAILING_WORD.search(rest)
    ) is not None:
        words.append(trailing)
    return words


def _plain_digits(core: str) -> str:
    """The number without its thousands separators and with ``.`` as decimal separator."""
    if not core:
        raise ValueError("no digits")
    if _SCIENTIFIC.fullmatch(core):
        return core.replace(",", ".")
    unexpected = _UNEXPECTED.search(core)
    if unexpected is not None:
        raise ValueError(_unexpected_reason(core, unexpected.start()))
    if _DIGITS.isdisjoint(core):
        raise ValueError("no digits")
    core = core.translate(_SEPARATOR_ALIASES)
    decimal_separator = _decimal_separator(core)
    if decimal_separator is None:
        return _ungrouped(core)
    integer_part, _, fraction = core.rpartition(decimal_separator)
    if not fraction:
        raise ValueError("nothing after the decimal separator")
    if not fraction.isdigit():
        raise ValueError(_malformed(fraction))
    return f"{_ungrouped(integer_part)}.{fraction}"


def _decimal_separator(core: str) -> str | None:
    """Which of ``.`` and ``,`` separates the decimals, if any (see the module rules)."""
    last_dot, last_comma = core.rfind("."), core.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        return "." if last_dot > last_comma else ","
    if last_dot >= 0:
        return "." if core.count(".") == 1 else None
    if last_comma < 0 or core.count(",") > 1:
        return None
    before, _, after = core.partition(",")
    grouped_by_spaces = " " in core or "'" in core
    if len(after) == 3 and after.isdigit() and before not in ("", "0") and not grouped_by_spaces:
        return None
    return ","


def _ungrouped(integer_part: str) -> str:
    """Remove well-formed thousands separators from the part before the decimals."""
    if not integer_part or integer_part.isdigit():
        return integer_part
    separators = set(integer_part) - _DIGITS
    if len(separators) != 1:
        raise ValueError(_malformed(integer_part))
    head, *tail = integer_part.split(separators.pop())
    if not (1 <= len(head) <= 3 and head[0] != "0" and all(len(group) == 3 for group in tail)):
        raise ValueError(_malformed(integer_part))
    return head + "".join(tail)


def _malformed(part: str) -> str:
    # Digits split by a space that do not form thousands groups are two numbers ("12 34").
    return "two numbers" if " " in part else "malformed digit groups"


def _unexpected_reason(core: str, index: int) -> str:
    character = core[index]
    if character in "()":
        return "unbalanced parentheses"
    if character.isalpha():
        word = next(m.group() for m in _WORDS.finditer(core) if m.start() <= index < m.end())
        at_edge = core.startswith(word) or core.endswith(word)
        if at_edge and len(word) == 3 and word.isalpha() and word.isupper():
            return f"unknown currency {word!r}"
        return f"unexpected text {word!r}"
    if not _DIGITS.isdisjoint(core[:index]) and not _DIGITS.isdisjoint(core[index:]):
        return "two numbers"
    return f"unexpected character {character!r}"


def decimal_form(cell: object) -> str | None:
    """What one amount cell says of its column's decimal separator:

    * ``"comma"``: a decimal comma (``1.234,56``, ``999,50``, ``0,5``), or thousands
      grouped by dots (``1.234.567``);
    * ``"point"``: a decimal point (``1,234.56``, ``12.5``, ``0.500``), or thousands
      grouped by commas (``1,234,567``);
    * ``"dot-group"``: one dot and three digits (``2.500``, ``12.000``), and
      ``"comma-group"``: one comma and three digits (``1,234``): read either way;
    * None: nothing to say (no separator, or a cell that is not text)."""
    if not isinstance(cell, str) or ("." not in cell and "," not in cell):
        return None
    found = _NUMBER_CORE.search(cell)
    if found is None:
        return None
    core = found.group().rstrip(".," + _GROUPING)
    last_dot, last_comma = core.rfind("."), core.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        return "comma" if last_comma > last_dot else "point"
    grouped = any(separator in core for separator in _GROUPING)  # 1 234,56: spaces group
    if last_dot >= 0:
        if core.count(".") > 1:
            return "comma"
        # 0.500 has no thousands to group: a decimal point, as 0,123 is a decimal comma.
        dot_group = len(core) - last_dot == 4 and core[:last_dot] not in ("", "0")
        return "dot-group" if dot_group and not grouped else "point"
    if last_comma < 0:
        return None
    if core.count(",") > 1:
        return "point"
    before, after = core[:last_comma], core[last_comma + 1 :]
    if len(after) == 3 and before not in ("", "0") and not grouped:
        return "comma-group"
    return "comma"


class DecimalEvidence:
    """What the amount cells of one column say about its decimal separator: feed it every
    cell with :meth:`observe`, as :class:`~funnelcli.dates.DateOrderEvidence` is fed dates.

    The column writes decimal commas when a cell shows one and none shows a decimal
    point. When both show, each such cell reads alone, but a cell read either way
    (``2.500``, ``1,234``) has no meaning: that is a :attr:`conflict`."""

    __slots__ = ("comma", "dot_group", "either", "point")

    def __init__(self) -> None:
        self.comma: str | None = None  # the first cell of each form
        self.point: str | None = None
        self.dot_group: str | None = None
        self.either: str | None = None  # the first cell read either way, 2.500 or 1,234

    def observe(self, cell: object) -> None:
        form = decimal_form(cell)
        if form is None:
            return
        assert isinstance(cell, str)
        text = cell.strip()
        if form == "comma":
            self.comma = self.comma or text
        elif form == "point":
            self.point = self.point or text
        else:
            self.either = self.either or text
            if form == "dot-group":
                self.dot_group = self.dot_group or text

    @property
    def decimal_comma(self) -> bool:
        """Whether the column writes decimals with a comma (and thousands with dots)."""
        return self.comma is not None and self.point is None

    @property
    def conflict(self) -> tuple[str, str, str] | None:
        """``(decimal comma, decimal point, read either way)`` examples when the column
        shows both separators and a cell that they would read differently."""
        if self.comma is None or self.point is None or self.either is None:
            return None
        return self.comma, self.point, self.either

    @property
    def ambiguous(self) -> str | None:
        """A cell like ``2.500`` when it is all the column shows: no decimal comma and no
        decimal point decides whether it is 2500 or 2.5 (see the module docstring)."""
        if self.comma is None and self.point is None:
            return self.dot_group
        return None

    @property
    def needs_full_scan(self) -> bool:
        """Whether the cells seen leave the reading of others open: a decimal comma, or a
        ``2.500`` that a decimal comma further down would make 2500."""
        return self.comma is not None or (self.dot_group is not None and self.point is None)
