"""Numbers as people read them: thousands separators, a few decimals, no exponents."""

from __future__ import annotations

import math


def number_text(value: float | int) -> str:
    """A metric or value like 32,290.1, 1,042,000,000, 53.85 or 0.4526 (no 3.229e+04)."""
    number = float(value)
    if not math.isfinite(number):
        return str(number)
    size = abs(number)
    if size >= 1e6 or (size >= 1000 and number.is_integer()):
        return f"{number:,.0f}"
    if size >= 1000:
        return f"{number:,.1f}"
    if size == 0 or size >= 1e-4:
        # Four significant digits below 1,000 need no exponent from 1e-4 up; 999.95 rounds
        # up to 1000 and then reads better with the separator.
        text = f"{number:.4g}"
        return text if abs(float(text)) < 1000 else f"{number:,.1f}"
    return f"{number:.2e}"  # tiny values: an exponent beats a row of zeros
