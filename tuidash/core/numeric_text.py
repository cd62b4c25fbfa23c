"""Numbers written as text: with a decimal point, or with a decimal comma ("1,5", "1.234,5"),
for reading files (columns of decimal-comma numbers become numbers) and for judging columns
(mostly numbers, some text). pandas is imported inside the functions.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# A number written with a decimal comma in any notation pandas reads with a point, optionally
# with '.' thousands groups: 1,5  -2,75  1.234,5  ,5  5,  7,91e-05  -1,2E+03  inf. Plain
# integers also match so that a column mixing "2" and "2,5" converts.
DECIMAL_COMMA = re.compile(
    r"^\s*[+-]?("
    r"(\d+(,\d*)?|,\d+|\d{1,3}(\.\d{3})+(,\d*)?)([eE][+-]?\d+)?"
    r"|inf|infinity"
    r")\s*$|^\s*nan\s*$",
    re.IGNORECASE,
)


def reads_as_number(texts: pd.Series, *, decimal_comma: bool = True) -> Any:
    """A boolean array: which texts are numbers, written with a point or a decimal comma."""
    import pandas as pd

    stripped = texts.str.strip()
    numbers = pd.to_numeric(stripped, errors="coerce").notna().to_numpy(dtype=bool)
    if decimal_comma and not numbers.all():
        comma = stripped.str.fullmatch(DECIMAL_COMMA).fillna(False).to_numpy(dtype=bool)
        numbers = numbers | comma
    return numbers


def fix_decimal_commas(frame: pd.DataFrame, delimiter: str | None, notes: list[str]) -> Any:
    """Turn text columns of decimal-comma numbers ("1,5") into numbers, or report them."""
    import pandas as pd

    converted: list[str] = []
    kept: list[str] = []
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        values = series.dropna()
        if values.empty:
            continue
        texts = values.astype(str).str.strip()
        if not texts.str.contains(",", regex=False).any():
            continue
        if not texts.str.fullmatch(DECIMAL_COMMA).all():
            continue
        if delimiter == ",":
            # In a comma-separated file a quoted "1,500" is more likely a thousands separator.
            kept.append(str(column))
            continue
        numbers = texts.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
        frame[column] = pd.to_numeric(numbers, errors="coerce").reindex(frame.index)
        converted.append(str(column))
    if converted:
        names = ", ".join(repr(c) for c in converted)
        notes.append(f"Read decimal commas (e.g. '1,5' as 1.5) in {names}.")
    if kept:
        names = ", ".join(repr(c) for c in kept)
        notes.append(
            f"{names} hold numbers written with commas (e.g. '1,500'); they were kept as text "
            "because the file is comma-separated."
        )
    return frame
