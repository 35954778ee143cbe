"""Exact rounding for display: half-up (a tie away from zero, as a spreadsheet rounds) from
the exact value — an int, a Decimal or a Fraction, never a float, whose binary value is not
the number shown (0.10525 as a float is 0.105249999…, which round() makes 0.1052).

Kept apart from the engine so the output layer can use it without importing a report."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction


def half_up(x, places: int) -> Decimal | None:
    """x rounded half-up to `places` decimals, as a Decimal with exactly that many
    (None stays None)."""
    if x is None:
        return None
    scaled = Fraction(x) * 10 ** places
    q = (abs(scaled.numerator) * 2 + scaled.denominator) // (2 * scaled.denominator)
    return Decimal(q if scaled >= 0 else -q).scaleb(-places)


def percent(x, places: int = 1) -> str:
    """A fraction shown as a percentage: 0.10525 → "10.5%" (places=1), 1/16 → "6.3%"."""
    return f"{half_up(Fraction(x) * 100, places)}%"
