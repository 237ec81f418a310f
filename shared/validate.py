"""One rule for every number and text a user (or an API caller) sends, used by every tab.

Numbers: anything that is not a finite number (None, NaN, ±inf, "abc", [1]) is refused, and so is
a value outside the range the UI's slider allows. The sliders cannot send such values, so only
API callers meet these messages, and they get the same sentence from every tab. A value is never
clamped silently: a run that was asked for 1e18 tokens must not quietly run for a different length.

Text: made valid UTF-8 (lone surrogates such as "\\ud800" cannot be encoded or tokenised) and
bounded in length before anything proportional to it is built.
"""

from __future__ import annotations

import math
import numbers
import re

from shared.errors import BadInput


def number(value, low: float, high: float, name: str, *, integer: bool = False) -> float | int:
    """`value` as a float (or int), checked to be finite and within [low, high]; BadInput otherwise."""
    kind = "a whole number" if integer else "a number"
    x = None
    if isinstance(value, (numbers.Real, str)) and not isinstance(value, bool):
        try:
            x = float(value)
        except ValueError:
            pass
    if x is None:
        raise BadInput(f"{_cap(name)} must be {kind} from {_fmt(low)} to {_fmt(high)} (got {_show(value)}).")
    if not math.isfinite(x):
        raise BadInput(f"{_cap(name)} must be a finite number from {_fmt(low)} to {_fmt(high)} (got {_show(value)}).")
    if not low <= x <= high or (integer and x != round(x)):
        raise BadInput(f"{_cap(name)} must be {kind} from {_fmt(low)} to {_fmt(high)} (got {_show(value)}).")
    return int(round(x)) if integer else x


def integer(value, low: int, high: int, name: str) -> int:
    """A whole number within [low, high] (5.0 is accepted as 5; 5.5 is refused)."""
    return number(value, low, high, name, integer=True)  # type: ignore[return-value]


def text(value, name: str, max_chars: int) -> str:
    """`value` as valid UTF-8 text of at most `max_chars` characters; BadInput when it is not text
    or too long. Lone surrogates become U+FFFD (the replacement character)."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BadInput(f"{_cap(name)} must be text (got {type(value).__name__}).")
    if len(value) > max_chars:
        raise BadInput(f"{_cap(name)} is {len(value):,} characters long; the limit is {max_chars:,}.")
    return utf8(value)


def utf8(value: str) -> str:
    """The text with lone surrogates replaced by U+FFFD, so it can be encoded and tokenised."""
    return _SURROGATE.sub("\ufffd", value)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _cap(name: str) -> str:
    return name[:1].upper() + name[1:]


def _fmt(x: float) -> str:
    return f"{int(x):,}" if float(x).is_integer() and abs(x) < 1e15 else f"{x:g}"


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
