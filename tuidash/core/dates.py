"""Date columns as features: recognise dates (real or written as text) and derive numbers.

``DateFeatures`` is the step of the saved pipeline that turns each date column into year,
month, day of week and ordinal day, so a saved model predicts on the raw rows of a new
file. It is allowlisted by name in ``tuidash.core.unpickle``: it holds only column names
and format strings. This module imports sklearn, pandas and numpy at the top because a
class needs its base classes; ``tuidash.core.pipeline``, ``predicting`` and ``evaluation``
import it only when they build, check or read a pipeline.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

DATE_PARTS = ("year", "month", "day of week", "ordinal")
"""What is derived from each date column, in output order (ordinal: days since 1 Jan of year 1)."""

_PART_NAMES = ("year", "month", "weekday", "ordinal")
_EPOCH_ORDINAL = 719_163  # datetime.date(1970, 1, 1).toordinal()
_DATE_TEXT = re.compile(
    r"^\s*(\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})([ T]\d{1,2}:\d{2}.*)?\s*$"
)
_SAMPLE = 200
_SHARE = 0.9
"""A text column is dates when this share of a sample is written like a date and parses."""


def date_note(name: str) -> str:
    """The sentence that says what is derived from a date column."""
    return f"Using {name!r} as a date: {', '.join(DATE_PARTS)}."


def _sample(present: pd.Series) -> pd.Series:
    step = max(1, len(present) // _SAMPLE)
    return present.iloc[np.arange(0, len(present), step)[:_SAMPLE]]


def looks_like_date_text(series: pd.Series) -> bool:
    """Whether (nearly) every value of an evenly spaced sample is written like a date."""
    present = series.dropna()
    if present.empty:
        return False
    sample = _sample(present)
    matches = sum(1 for value in sample if isinstance(value, str) and _DATE_TEXT.match(value))
    return matches >= _SHARE * len(sample)


def is_date_column(series: pd.Series) -> bool:
    """Real dates/times (not durations), or text that is dates in one format."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return True
    if pd.api.types.is_bool_dtype(series) or pd.api.types.is_numeric_dtype(series):
        return False
    if pd.api.types.is_timedelta64_dtype(series) or not looks_like_date_text(series):
        return False
    return date_format(series) is not None


def date_format(series: pd.Series) -> str | None:
    """The strftime format that reads (nearly) every sampled value, or None if there is none.

    Month-first and day-first guesses are both tried on the sample; the one that reads more
    values wins (month-first on a tie, as pandas does). Real datetime columns need none.
    """
    present = series.dropna()
    if present.empty or pd.api.types.is_datetime64_any_dtype(series):
        return None
    sample = _sample(present).astype(str).str.strip()
    from pandas.tseries.api import guess_datetime_format

    best: tuple[float, str] | None = None
    for dayfirst in (False, True):
        for value in sample.head(20):
            guess = guess_datetime_format(value, dayfirst=dayfirst)
            if guess is None:
                continue
            share = float(_to_datetime(sample, guess).notna().mean())
            if best is None or share > best[0]:
                best = (share, guess)
            break
    if best is None or best[0] < _SHARE:
        return None
    return best[1]


def _to_datetime(texts: pd.Series, fmt: str | None) -> pd.Series:
    """Parse texts with a format (NaT where one does not fit); mixed offsets go to UTC."""
    try:
        parsed = pd.to_datetime(texts, format=fmt, errors="coerce")
    except (ValueError, TypeError):
        parsed = pd.to_datetime(texts, format=fmt, errors="coerce", utc=True)
    if not pd.api.types.is_datetime64_any_dtype(parsed):
        parsed = pd.to_datetime(texts, format=fmt, errors="coerce", utc=True)
    return parsed


_ORDER_PARTS = (("%d", "day"), ("%m", "month"), ("%b", "month"), ("%B", "month"))
_YEAR_PARTS = ("%Y", "%y")


def _positions(fmt: str) -> dict[str, int]:
    """Where day, month and year first appear in a strftime format (absent ones left out)."""
    found: dict[str, int] = {}
    for directive, part in (*_ORDER_PARTS, *((y, "year") for y in _YEAR_PARTS)):
        at = fmt.find(directive)
        if at >= 0 and (part not in found or at < found[part]):
            found[part] = at
    return found


def iso_fallback_allowed(fmt: str | None) -> bool:
    """Whether text that ``fmt`` cannot read may be read as ISO 8601 (year-month-day).

    Not under a year-day-month format: there ISO would read an ambiguous value such as
    2023-03-04 in the opposite order from training.
    """
    if fmt is None:
        return True
    at = _positions(fmt)
    year_day_month = {"day", "month", "year"} <= at.keys() and at["year"] < at["day"] < at["month"]
    return not year_day_month


def format_example(fmt: str) -> tuple[str, str] | None:
    """How ``fmt`` writes 31 Dec 2023 and its order, e.g. ``("31/12/2023", "day/month/year")``."""
    import datetime

    at = _positions(fmt)
    if not at:
        return None
    try:
        example = datetime.datetime(2023, 12, 31, 13, 45, 30).strftime(fmt)
    except ValueError:
        return None
    return example, "/".join(sorted(at, key=at.__getitem__))


def parse_dates(series: pd.Series, fmt: str | None) -> pd.Series:
    """A column as datetimes: real ones as they are, text with ``fmt`` (NaT where it fails).

    Text that ``fmt`` cannot read is read as ISO 8601 (2023-12-31, unambiguous) unless the
    format is year-day-month, so the same dates written either way give the same values.
    """
    if pd.api.types.is_datetime64_any_dtype(series):
        return series
    present = series.notna()
    texts = series.astype(object).where(present, None)
    texts = texts.map(lambda v: v if v is None else str(v).strip())
    texts = pd.Series(texts, index=series.index, dtype=object)
    parsed = _to_datetime(texts, fmt)
    unread = parsed.isna() & texts.notna()
    if not unread.any() or not iso_fallback_allowed(fmt):
        return parsed
    iso = _to_datetime(texts[unread], "ISO8601")
    if not iso.notna().any():
        return parsed
    return _combined(parsed, iso)


def _combined(parsed: pd.Series, iso: pd.Series) -> pd.Series:
    """``parsed`` with the ISO readings filled in (both as wall-clock times if zones differ)."""
    tz_parsed = getattr(parsed.dt, "tz", None)
    tz_iso = getattr(iso.dt, "tz", None)
    if tz_parsed != tz_iso:
        if tz_parsed is not None:
            parsed = parsed.dt.tz_localize(None)
        if tz_iso is not None:
            iso = iso.dt.tz_localize(None)
    out = parsed.copy()
    out.loc[iso.index] = iso.where(iso.notna(), out.loc[iso.index])
    return out


def date_parts(parsed: pd.Series) -> np.ndarray:
    """Year, month, day of week (Monday 0) and ordinal day per row; NaN where no date."""
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_localize(None)  # the local calendar day, not UTC's
    missing = parsed.isna().to_numpy()
    out = np.empty((len(parsed), len(_PART_NAMES)), dtype=np.float64)
    out[:, 0] = parsed.dt.year.to_numpy(dtype=np.float64, na_value=np.nan)
    out[:, 1] = parsed.dt.month.to_numpy(dtype=np.float64, na_value=np.nan)
    out[:, 2] = parsed.dt.day_of_week.to_numpy(dtype=np.float64, na_value=np.nan)
    days = parsed.to_numpy().astype("datetime64[D]").astype(np.int64)
    out[:, 3] = days.astype(np.float64) + _EPOCH_ORDINAL
    out[missing, 3] = np.nan
    return out


class DateFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Pipeline step: each date column becomes year, month, day of week and ordinal day.

    ``fit`` records the columns and, for dates written as text, the format that reads them,
    so new rows are read the same way; a value that is not a date gives NaN (imputed next).
    """

    def fit(self, X: Any, y: Any = None) -> DateFeatures:
        """Remember the columns and the format of each text date column."""
        frame = pd.DataFrame(X)
        self.columns_ = [str(c) for c in frame.columns]
        self.formats_ = {
            name: date_format(frame.iloc[:, i]) for i, name in enumerate(self.columns_)
        }
        self.n_features_in_ = len(self.columns_)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Four numbers per date column, in the order of ``get_feature_names_out``."""
        frame = pd.DataFrame(X)
        if frame.shape[1] != len(self.columns_):
            raise ValueError(f"expected {len(self.columns_)} date columns, got {frame.shape[1]}")
        parts = [
            date_parts(parse_dates(frame.iloc[:, i], self.formats_.get(name)))
            for i, name in enumerate(self.columns_)
        ]
        if not parts:
            return np.empty((len(frame), 0), dtype=np.float64)
        return np.hstack(parts)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """``name_year``, ``name_month``, ``name_weekday``, ``name_ordinal`` per column."""
        names = [f"{column}_{part}" for column in self.columns_ for part in _PART_NAMES]
        return np.asarray(names, dtype=object)
