"""One rule for display text (numbers, sizes, metrics, durations, export file names)."""

from __future__ import annotations

import math
from pathlib import Path

from tuidash.core import text


def test_numbers_read_like_people_write_them() -> None:
    assert text.number_text(32290.12) == "32,290.1"
    assert text.number_text(1_042_000_000) == "1,042,000,000"
    assert text.number_text(0.45261) == "0.4526"
    assert text.number_text(53.8512) == "53.85"
    assert text.number_text(442) == "442"
    assert text.number_text(0) == "0"
    assert text.number_text(0.0000123) == "1.23e-05"
    assert text.number_text(None) == "-"
    assert text.number_text(math.nan) == "undefined"
    assert text.number_text("n/a") == "n/a"


def test_sizes_metrics_and_durations() -> None:
    assert text.size_text(512) == "512 B"
    assert text.size_text(12.3 * 1024) == "12.3 KB"
    assert text.size_text(3 * 1024**3) == "3.0 GB"
    assert text.size_text(None) == "-"
    assert text.metric_text(0.5) == "0.5"
    assert text.metric_text(None, "the target has zeros") == "undefined (the target has zeros)"
    assert text.metric_text(math.inf) == "undefined"
    assert text.metric_of("R2", {"R2": 0.91234}, {}) == "0.9123"
    assert text.duration_text(0.523) == "0.52 s"
    assert text.duration_text(125) == "2 min 05 s"
    assert text.duration_text(3725) == "1 h 02 min"


def test_export_file_names_count_up_and_never_replace(tmp_path: Path) -> None:
    assert text.free_file_name(tmp_path, "predictions", ".csv") == tmp_path / "predictions.csv"
    first = text.reserve_free_file(tmp_path, "predictions", ".csv")
    second = text.reserve_free_file(tmp_path, "predictions", ".csv")
    assert (first.name, second.name) == ("predictions.csv", "predictions_2.csv")
    assert text.free_file_name(tmp_path, "predictions", ".csv").name == "predictions_3.csv"
