"""Reading data files: every format, every bad file gets one clear sentence, profiles."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tuidash.core import data as data_module
from tuidash.core import decoding, profiling
from tuidash.core.data import (
    DEFAULT_MAX_BYTES,
    DataEncodingError,
    DataError,
    LoadedData,
    data_problems,
    profile_columns,
    read_table,
    sample_dataset,
)

FIXTURES = Path(__file__).resolve().parent.parent / "data"


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def error_of(path: Path, **options: object) -> str:
    with pytest.raises(DataError) as info:
        read_table(path, **options)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    return message


# --------------------------------------------------------------------------- formats


def test_csv_reads_numbers_text_and_missing_values() -> None:
    loaded = read_table(FIXTURES / "houses.csv")
    assert isinstance(loaded, LoadedData)
    frame = loaded.frame
    assert list(frame.columns) == ["area", "rooms", "district", "garden", "price"]
    assert len(frame) == 20
    assert pd.api.types.is_numeric_dtype(frame["area"])
    assert frame["area"].isna().sum() == 1
    assert loaded.format == "csv" and loaded.delimiter == ","
    assert loaded.source == str((FIXTURES / "houses.csv").absolute())
    assert os.path.isabs(loaded.source)
    expected = hashlib.sha256((FIXTURES / "houses.csv").read_bytes()).hexdigest()
    assert loaded.sha256 == expected


def test_tsv_with_bom_reads_clean_first_column_name() -> None:
    loaded = read_table(FIXTURES / "bom_tabs.tsv")
    assert list(loaded.frame.columns) == ["id", "name", "score"]
    assert loaded.format == "tsv" and loaded.delimiter == "\t"
    assert loaded.frame["score"].tolist() == [3.5, 4.0, 2.5]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed_whatever_the_extension(tmp_path: Path, delimiter: str) -> None:
    rows = [["a", "b", "c"], ["1", "x", "2.5"], ["2", "y", "3.5"]]
    path = write(tmp_path / "table.csv", "\n".join(delimiter.join(r) for r in rows) + "\n")
    loaded = read_table(path)
    assert list(loaded.frame.columns) == ["a", "b", "c"]
    assert loaded.frame["c"].tolist() == [2.5, 3.5]
    assert loaded.delimiter == delimiter


def test_one_column_file_stays_one_column_even_with_commas_in_values(tmp_path: Path) -> None:
    path = write(tmp_path / "names.csv", "name\nSmith, John\nDoe\nLee; Ann\n")
    loaded = read_table(path)
    assert list(loaded.frame.columns) == ["name"]
    assert loaded.frame["name"].tolist() == ["Smith, John", "Doe", "Lee; Ann"]
    assert any("single column" in note for note in loaded.notes)


def test_one_numeric_column(tmp_path: Path) -> None:
    loaded = read_table(write(tmp_path / "y.csv", "y\n1\n2\n3\n"))
    assert loaded.frame["y"].tolist() == [1, 2, 3]


def test_decimal_commas_in_semicolon_file_become_numbers() -> None:
    loaded = read_table(FIXTURES / "semicolon_decimal_comma.csv")
    frame = loaded.frame
    assert frame["temperature"].tolist() == [12.5, 18.0, -3.75, 7.0]
    assert frame["sales"].tolist() == [1234.5, 987.25, 2001.0, 450.0]
    assert frame["region"].tolist() == ["nord", "süd", "ost", "west"]
    assert any("decimal commas" in note for note in loaded.notes)


def test_decimal_commas_in_scientific_notation_are_numbers() -> None:
    loaded = read_table(FIXTURES / "semicolon_scientific.csv")
    frame = loaded.frame
    for column in ("concentration", "signal", "temperature", "yield"):
        assert pd.api.types.is_float_dtype(frame[column]), column
    assert frame["concentration"].iloc[0] == pytest.approx(2.90e-05)
    assert frame["signal"].iloc[2] == pytest.approx(-1.2e02)
    assert frame["yield"].iloc[0] == pytest.approx(3.732)
    assert "'concentration', 'signal'" in " ".join(loaded.notes)


@pytest.mark.parametrize(
    ("cells", "numbers"),
    [
        (["7,91e-05", "-1,2E+03", "1,5"], [7.91e-05, -1200.0, 1.5]),
        (["+2,5e3", ",5", "5,"], [2500.0, 0.5, 5.0]),
        (["1.234,5e-1", "2", "-inf"], [123.45, 2.0, float("-inf")]),
        (["1,0E6", " 3,25 ", "nan"], [1e6, 3.25, None]),
    ],
)
def test_every_notation_pandas_reads_with_a_point_reads_with_a_decimal_comma(
    tmp_path: Path, cells: list[str], numbers: list[float | None]
) -> None:
    text = "x;label\n" + "".join(f"{cell};k{i}\n" for i, cell in enumerate(cells))
    column = read_table(write(tmp_path / "n.csv", text)).frame["x"]
    assert pd.api.types.is_float_dtype(column)
    got = [None if pd.isna(v) else float(v) for v in column]
    assert got == [pytest.approx(n) if n is not None else None for n in numbers]


def test_a_column_of_decimal_commas_with_a_few_odd_cells_is_a_problem_with_examples() -> None:
    loaded = read_table(FIXTURES / "semicolon_scientific.csv")
    assert not pd.api.types.is_numeric_dtype(loaded.frame["reading"])
    problems = data_problems(loaded.frame)
    odd = [p for p in problems if "'reading'" in p]
    assert odd == [
        "Column 'reading' is mostly numbers but has some text (such as 'n.a.', "
        "'12,5 (est)'), so it is treated as text; fix the odd values to use it as a number."
    ]
    assert not any("'sample'" in p and "mostly numbers" in p for p in problems)


def test_quoted_comma_numbers_in_comma_file_are_reported_not_guessed(tmp_path: Path) -> None:
    path = write(tmp_path / "t.csv", 'a,b\n"1,500",x\n"2,250",y\n')
    loaded = read_table(path)
    assert loaded.frame["a"].tolist() == ["1,500", "2,250"]
    assert any("kept as text" in note for note in loaded.notes)


def test_windows_line_endings_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "crlf.csv"
    path.write_bytes(b"a,b\r\n1,2\r\n\r\n3,4\r\n")
    assert read_table(path).frame.to_dict("list") == {"a": [1, 3], "b": [2, 4]}


def test_latin1_file_is_detected_and_the_encoding_is_named() -> None:
    loaded = read_table(FIXTURES / "latin1.csv")
    assert loaded.frame["city"].tolist() == ["München", "Köln", "Zürich"]
    # cp1252 is latin-1 plus letters in 0x80-0x9f: the same text for this file.
    assert loaded.encoding == "cp1252"
    assert any("Read as cp1252 text" in note and "not UTF-8" in note for note in loaded.notes)
    explicit = read_table(FIXTURES / "latin1.csv", encoding="latin-1")
    assert explicit.frame["city"].tolist() == ["München", "Köln", "Zürich"]
    assert explicit.encoding == "latin-1"
    assert explicit.notes == ["Read as latin-1 text."]


def test_cp1252_letters_and_other_encodings_are_detected(tmp_path: Path) -> None:
    western = write(
        tmp_path / "w.csv",
        "name;price\ncafé – spécial;3,5\n“quoted” thing;4,25\nœuvre;5\n",
        encoding="cp1252",
    )
    loaded = read_table(western)
    assert loaded.frame["name"].tolist() == ["café – spécial", "“quoted” thing", "œuvre"]
    assert loaded.frame["price"].tolist() == [3.5, 4.25, 5.0]
    assert loaded.encoding == "cp1252"
    russian = write(
        tmp_path / "r.csv", "город,значение\n" + "Москва,1\nПривет мир,2\n" * 5, "cp1251"
    )
    assert read_table(russian).frame["город"].tolist()[:2] == ["Москва", "Привет мир"]
    japanese = write(tmp_path / "j.csv", "名前,値\n" + "東京都,1\n大阪府,2\n" * 3, "shift_jis")
    loaded = read_table(japanese)
    assert loaded.frame["名前"].tolist()[:2] == ["東京都", "大阪府"]
    assert loaded.encoding == "cp932"


def test_utf8_stays_the_first_choice_and_needs_no_note(tmp_path: Path) -> None:
    loaded = read_table(write(tmp_path / "u.csv", "city,n\nMünchen,1\nKöln,2\n"))
    assert loaded.encoding == "utf-8" and loaded.notes == []
    assert loaded.frame["city"].tolist() == ["München", "Köln"]


def test_a_large_latin1_file_is_detected_from_a_bounded_sample(tmp_path: Path) -> None:
    # The only non-UTF-8 byte is far past the first 512 KB the detector reads first.
    lines = ["city,n"] + [f"Berlin,{i}" for i in range(100_000)] + ["Zürich,7"]
    path = write(tmp_path / "big.csv", "\n".join(lines) + "\n", encoding="latin-1")
    loaded = read_table(path)
    assert loaded.frame["city"].iloc[-1] == "Zürich" and loaded.encoding == "cp1252"


def test_undetectable_text_names_the_problem_and_reads_with_an_explicit_encoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(decoding, "_detect_encoding", lambda raw, start: None)
    message = error_of(FIXTURES / "latin1.csv")
    assert message == (
        f"{FIXTURES / 'latin1.csv'} is not UTF-8 text (byte 0xfc on line 2) and its encoding "
        "could not be recognised; choose its encoding, e.g. latin-1 or cp1252."
    )
    with pytest.raises(DataEncodingError) as info:
        read_table(FIXTURES / "latin1.csv")
    assert info.value.suggestion == "latin-1"
    assert read_table(FIXTURES / "latin1.csv", encoding="latin-1").encoding == "latin-1"


@pytest.mark.parametrize(
    "content",
    [
        pickle.dumps({"weights": [1.5, 2.5] * 50}),
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4,
        gzip.compress(b"a,b\n1,2\n" * 100),
    ],
    ids=["pickle", "png", "gzip"],
)
def test_a_binary_file_is_called_binary_not_a_text_encoding_problem(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    message = error_of(path)
    assert message.startswith(f"{path} is not a text file (it looks binary")
    assert "UTF-8" not in message and "latin-1" not in message
    # Also with an explicit single-byte encoding (which would decode any bytes).
    assert "not a text file" in error_of(path, encoding="latin-1")
    json_path = tmp_path / "x.json"
    json_path.write_bytes(content)
    assert "not a text file" in error_of(json_path)


def test_utf16_without_a_bom_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes("a,b\n1,ü\n3,x\n".encode("utf-16-le"))
    loaded = read_table(path)
    assert loaded.frame.to_dict("list") == {"a": [1, 3], "b": ["ü", "x"]}
    assert loaded.encoding == "utf-16-le"


def test_unknown_encoding_is_one_sentence() -> None:
    message = error_of(FIXTURES / "houses.csv", encoding="klingon-8")
    assert message == "'klingon-8' is not a known text encoding; try utf-8, latin-1 or cp1252."


def test_utf16_with_bom_is_read(tmp_path: Path) -> None:
    path = tmp_path / "wide.csv"
    path.write_bytes("a,b\n1,ü\n".encode("utf-16"))
    assert read_table(path).frame.to_dict("list") == {"a": [1], "b": ["ü"]}


def test_xlsx_first_sheet_with_types_and_missing_cells(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Data"
    sheet.append(["x", "label", "y"])
    sheet.append([1, "a", 2.5])
    sheet.append([2, None, 3.5])
    sheet.append([None, "c", 4.5])
    book.create_sheet("Notes").append(["ignored"])
    path = tmp_path / "book.xlsx"
    book.save(path)
    loaded = read_table(path)
    frame = loaded.frame
    assert list(frame.columns) == ["x", "label", "y"]
    assert pd.api.types.is_numeric_dtype(frame["x"]) and frame["x"].isna().sum() == 1
    assert frame["y"].tolist() == [2.5, 3.5, 4.5]
    assert loaded.format == "xlsx"
    assert any("first of 2 sheets" in note for note in loaded.notes)
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_xlsx_duplicate_header_and_header_only(tmp_path: Path) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    book.active.append(["a", "b", "a"])
    book.active.append([1, 2, 3])
    book.save(tmp_path / "dup.xlsx")
    assert "two columns named 'a'" in error_of(tmp_path / "dup.xlsx")
    book = openpyxl.Workbook()
    book.active.append(["a", "b"])
    book.save(tmp_path / "head.xlsx")
    assert "no data rows" in error_of(tmp_path / "head.xlsx")


def test_broken_xlsx_is_one_sentence(tmp_path: Path) -> None:
    path = write(tmp_path / "fake.xlsx", "this is not a zip file")
    assert "not a readable .xlsx" in error_of(path)


def test_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, None], "kind": ["a", "b", "c"]})
    path = tmp_path / "t.parquet"
    frame.to_parquet(path)
    loaded = read_table(path)
    assert loaded.format == "parquet"
    assert loaded.frame["kind"].tolist() == ["a", "b", "c"]
    assert loaded.frame["x"].isna().sum() == 1


def test_parquet_without_rows_and_broken_parquet(tmp_path: Path) -> None:
    pd.DataFrame({"x": pd.Series([], dtype="float64")}).to_parquet(tmp_path / "empty.parquet")
    assert "no rows" in error_of(tmp_path / "empty.parquet")
    assert "not a readable Parquet" in error_of(write(tmp_path / "bad.parquet", "nope"))


def test_json_records_lines_and_columns() -> None:
    records = read_table(FIXTURES / "records.json")
    assert records.format == "json"
    assert records.frame.to_dict("list") == {
        "x": [1.0, 2.0, 3.0],
        "kind": ["a", "b", "a"],
        "y": [2.1, 3.9, 6.2],
    }
    lines = read_table(FIXTURES / "lines.jsonl")
    assert lines.format == "jsonl" and lines.frame["y"].tolist() == [2.0, 4.1, 5.9]


def test_json_lines_in_a_dot_json_file_and_column_orient(tmp_path: Path) -> None:
    path = write(tmp_path / "l.json", '{"a": 1}\n{"a": 2}\n')
    assert read_table(path).frame["a"].tolist() == [1, 2]
    columns = write(tmp_path / "c.json", json.dumps({"a": [1, 2], "b": ["x", "y"]}))
    assert read_table(columns).frame.to_dict("list") == {"a": [1, 2], "b": ["x", "y"]}


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.json", '[{"a": 1},', "not valid JSON"),
        ("bad.jsonl", '{"a": 1}\n{"a": \n', "line 2"),
        ("scalar.json", "[1, 2]", "item 1 is not a JSON object"),
        ("dupkey.json", '[{"a": 1, "a": 2}]', "key 'a' twice"),
        ("nothing.json", "[]", "no records"),
        ("number.jsonl", '{"a": 1}\n5\n', "line 2 is not a JSON object"),
    ],
)
def test_bad_json_files(tmp_path: Path, name: str, text: str, expected: str) -> None:
    assert expected in error_of(write(tmp_path / name, text))


# --------------------------------------------------------------------------- bad files


def test_missing_path(tmp_path: Path) -> None:
    assert "There is no file at" in error_of(tmp_path / "nope.csv")


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    assert "is a folder" in error_of(folder)


def test_unreadable_file_says_permission_denied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "secret.csv", "a,b\n1,2\n")

    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    # Tests may run as root, which reads any file; make open() refuse like the OS would.
    monkeypatch.setattr(data_module, "open", refuse, raising=False)
    assert "permission denied" in error_of(path)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads everything")
def test_unreadable_file_for_real(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.csv", "a,b\n1,2\n")
    path.chmod(0)
    try:
        assert "permission denied" in error_of(path)
    finally:
        path.chmod(0o600)


def test_empty_file(tmp_path: Path) -> None:
    assert "is empty" in error_of(write(tmp_path / "e.csv", ""))
    assert "is empty" in error_of(write(tmp_path / "blank.csv", "\n\n  \n"))


def test_header_only(tmp_path: Path) -> None:
    assert "header row but no data rows" in error_of(write(tmp_path / "h.csv", "a,b,c\n"))


def test_ragged_rows_name_the_line() -> None:
    message = error_of(FIXTURES / "ragged.csv")
    assert message == f"{FIXTURES / 'ragged.csv'} line 4 has 2 fields but the header has 3."


def test_ragged_rows_whose_delimiter_counts_balance_out_are_named(tmp_path: Path) -> None:
    # One short and one long row add up to the right number of commas: pandas refuses the
    # file, and the sentence still names the first bad line in plain words.
    path = write(tmp_path / "houses.csv", "a,b,c\n1,2,3\n4,5\n7,8,9,10\n")
    assert error_of(path) == f"{path} line 3 has 2 fields but the header has 3."
    longer = write(tmp_path / "long.csv", "a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n")
    message = error_of(longer)
    assert message == f"{longer} line 4 has 4 fields but the header has 3."
    assert "pandas" not in message and "tokenizing" not in message


def test_old_mac_line_endings_are_read(tmp_path: Path) -> None:
    path = write(tmp_path / "cr.csv", "a,b,c\r1,2,3\r4,5,6\r")
    assert read_table(path).frame.to_dict("list") == {"a": [1, 4], "b": [2, 5], "c": [3, 6]}
    ragged = write(tmp_path / "crr.csv", "a,b,c\r1,2,3\r4,5,6,7\r")
    assert error_of(ragged) == f"{ragged} line 3 has 4 fields but the header has 3."


def test_ragged_long_row(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "r.csv", "a;b\n1;2\n3;4;5\n"))
    assert "line 3" in message


def test_quoted_fields_with_delimiters_and_newlines(tmp_path: Path) -> None:
    path = write(tmp_path / "q.csv", 'note,n\n"a, b",1\n"two\nlines",2\n')
    assert read_table(path).frame["note"].tolist() == ["a, b", "two\nlines"]
    ragged = write(tmp_path / "qr.csv", 'note,n\n"two\nlines",2\n"x",3,4\n')
    assert "line 4" in error_of(ragged)


def test_one_column_header_only(tmp_path: Path) -> None:
    assert "no data rows" in error_of(write(tmp_path / "y.csv", "y\n\n\n"))


def test_duplicate_column_names_are_refused_not_renamed(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "d.csv", "a,b,a\n1,2,3\n"))
    assert "two columns named 'a'" in message and "columns 1 and 3" in message


def test_unsupported_extension_lists_what_is_read(tmp_path: Path) -> None:
    message = error_of(write(tmp_path / "t.xls", "whatever"))
    assert ".xls" in message and ".xlsx" in message and ".parquet" in message


def test_too_large_is_refused_before_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "big.csv", "a,b\n" + "1,2\n" * 1000)

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file must not be read")

    monkeypatch.setattr(data_module, "_read_bytes", no_reading)
    message = error_of(path, max_bytes=1000)
    assert "limit" in message and "KB" in message
    assert DEFAULT_MAX_BYTES >= 100 * 1024**2


def test_limit_can_be_raised_or_turned_off(tmp_path: Path) -> None:
    path = write(tmp_path / "big.csv", "a,b\n" + "1,2\n" * 1000)
    assert len(read_table(path, max_bytes=None).frame) == 1000
    assert len(read_table(path, max_bytes=10_000).frame) == 1000


# --------------------------------------------------------------------------- sample


def test_sample_dataset_is_the_diabetes_data() -> None:
    sample = sample_dataset()
    assert sample.source == "sample:diabetes"
    assert sample.frame.shape == (442, 11)
    assert list(sample.frame.columns)[-1] == "target"
    assert {"age", "bmi", "bp", "s1", "s6"} <= set(sample.frame.columns)
    assert sample.frame.isna().sum().sum() == 0
    assert sample.sha256 and len(sample.sha256) == 64
    # The unscaled values, as published (not sklearn's mean-centred default).
    assert sample.frame["age"].between(19, 79).all()
    assert sample.name == "diabetes (sample)"


def test_sample_and_import_do_not_need_sklearn_datasets_or_pandas_at_import() -> None:
    code = (
        "import sys, tuidash.core.data as d\n"
        "assert 'pandas' not in sys.modules, 'pandas imported at import time'\n"
        "d.sample_dataset()\n"
        "assert 'sklearn.datasets' not in sys.modules\n"
        "print('ok')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


# --------------------------------------------------------------------------- profiles


def test_profile_columns_numbers_and_text() -> None:
    frame = read_table(FIXTURES / "houses.csv").frame
    profiles = {p.name: p for p in profile_columns(frame)}
    area = profiles["area"]
    assert area.kind == "numeric" and area.missing == 1
    assert area.minimum == 45 and area.maximum == 120
    assert area.mean == pytest.approx(frame["area"].mean())
    district = profiles["district"]
    assert district.kind == "text" and district.missing == 1 and district.unique == 3
    assert district.minimum is None and district.mean is None
    assert district.examples == ["north", "south", "east"]
    assert [p.name for p in profile_columns(frame)] == list(frame.columns)


def test_profile_handles_all_missing_bool_and_long_text() -> None:
    frame = pd.DataFrame({"empty": [None, None], "flag": [True, False], "long": ["x" * 100, "y"]})
    profiles = {p.name: p for p in profile_columns(frame)}
    assert profiles["empty"].missing == 2 and profiles["empty"].examples == []
    assert profiles["flag"].kind == "boolean"
    assert all(len(e) <= 40 for e in profiles["long"].examples)


def test_nested_json_values_are_profiled_as_text(tmp_path: Path) -> None:
    rows = [{"a": 1, "meta": {"x": 1}}, {"a": 2, "meta": {"x": 2}}, {"a": 3, "meta": [1]}]
    frame = read_table(write(tmp_path / "n.json", json.dumps(rows))).frame
    meta = profile_columns(frame)[1]
    assert meta.kind == "text" and meta.unique == 3 and meta.examples[0] == "{'x': 1}"
    assert data_problems(frame) == ["Only 3 rows: metrics on so little data will be unreliable."]


def test_data_problems_in_plain_words() -> None:
    frame = pd.DataFrame(
        {
            "same": [1] * 30,
            "gone": [None] * 30,
            "id": [f"user{i}" for i in range(30)],
            "mostly": [str(i) for i in range(29)] + ["n/a"],
            "y": list(range(30)),
        }
    )
    problems = " ".join(data_problems(frame))
    assert "'same' has the same value in every row" in problems
    assert "'gone' is empty" in problems
    assert "'id' has a different value in every row" in problems
    assert "'mostly' is mostly numbers but has some text" in problems
    assert "'y'" not in problems


def test_data_problems_small_and_duplicate_rows() -> None:
    frame = pd.DataFrame({"a": [1, 1, 2], "b": [3, 3, 4]})
    problems = data_problems(frame)
    assert any("Only 3 rows" in p for p in problems)
    assert any("1 rows are exact copies" in p for p in problems)
    assert data_problems(sample_dataset().frame) == []


# --------------------------------------------------------------------------- property

_cell_text = st.text(alphabet="abxyz ,;|", min_size=0, max_size=6).map(lambda s: "k" + s)


@st.composite
def _tables(draw: st.DrawFn) -> tuple[pd.DataFrame, str]:
    width = draw(st.integers(min_value=1, max_value=4))
    height = draw(st.integers(min_value=1, max_value=8))
    columns = {}
    for index in range(width):
        numbers = st.integers(min_value=-1000, max_value=1000)
        cells = numbers if draw(st.booleans()) else _cell_text
        columns[f"c{index}"] = draw(st.lists(cells, min_size=height, max_size=height))
    delimiter = draw(st.sampled_from([",", ";", "\t", "|"]))
    return pd.DataFrame(columns), delimiter


@settings(max_examples=60, deadline=None)
@given(_tables())
def test_any_small_table_round_trips_whatever_the_delimiter(
    table: tuple[pd.DataFrame, str],
) -> None:
    import tempfile

    frame, delimiter = table
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        frame.to_csv(path, sep=delimiter, index=False)
        loaded = read_table(path)
    assert list(loaded.frame.columns) == list(frame.columns)
    for column in frame.columns:
        assert loaded.frame[column].astype(str).str.strip().tolist() == [
            str(v).strip() for v in frame[column]
        ]


# --------------------------------------------------------------------------- progress


def _big_csv(path: Path, rows: int = 80_000, *, quoted: bool = False) -> Path:
    """A CSV of a few MB with numbers, text and (when quoted) commas inside fields."""
    lines = ["id,x,kind,note,y"]
    for i in range(rows):
        note = f'"n {i % 97}, ok"' if quoted else f"n{i % 97}"
        lines.append(f"{i},{(i * 7919) % 1000 / 7:.6f},{'abcd'[i % 4]},{note},{i % 13 - 6.5}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read_with_progress(path: Path, **options: object) -> tuple[LoadedData, list[tuple[int, int]]]:
    calls: list[tuple[int, int]] = []
    loaded = read_table(path, progress=lambda done, total: calls.append((done, total)), **options)  # type: ignore[arg-type]
    return loaded, calls


def _assert_full_progress(calls: list[tuple[int, int]], size: int) -> None:
    assert calls[0] == (0, size) and calls[-1] == (size, size)
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(set(done)) == len(done), "progress went backwards"
    assert {t for _, t in calls} == {size}


@pytest.mark.parametrize("quoted", [False, True], ids=["plain", "quoted"])
def test_csv_progress_is_monotonic_ends_at_total_and_changes_nothing(
    tmp_path: Path, quoted: bool
) -> None:
    path = _big_csv(tmp_path / "big.csv", quoted=quoted)
    size = path.stat().st_size
    assert size > 2_000_000
    plain = read_table(path)
    loaded, calls = _read_with_progress(path)
    _assert_full_progress(calls, size)
    # Reported along the way, not just at the ends, and not once per pandas buffer.
    assert 10 <= len(calls) <= 400
    pd.testing.assert_frame_equal(loaded.frame, plain.frame)
    assert (loaded.sha256, loaded.notes, loaded.delimiter, loaded.encoding) == (
        plain.sha256,
        plain.notes,
        plain.delimiter,
        plain.encoding,
    )


def test_progress_keeps_decimal_commas_encodings_and_error_sentences(tmp_path: Path) -> None:
    loaded, calls = _read_with_progress(FIXTURES / "semicolon_decimal_comma.csv")
    pd.testing.assert_frame_equal(
        loaded.frame, read_table(FIXTURES / "semicolon_decimal_comma.csv").frame
    )
    assert loaded.notes == read_table(FIXTURES / "semicolon_decimal_comma.csv").notes
    _assert_full_progress(calls, (FIXTURES / "semicolon_decimal_comma.csv").stat().st_size)
    # UTF-16 is parsed from a re-encoded copy; progress still counts the file's own bytes.
    wide = tmp_path / "wide.csv"
    wide.write_bytes(("a,b\n" + "1,ü\n" * 5000).encode("utf-16"))
    loaded, calls = _read_with_progress(wide)
    _assert_full_progress(calls, wide.stat().st_size)
    assert len(loaded.frame) == 5000
    latin = read_table(FIXTURES / "latin1.csv", encoding="latin-1", progress=lambda d, t: None)
    assert latin.frame["city"].tolist() == ["München", "Köln", "Zürich"]
    binary = tmp_path / "binary.csv"
    binary.write_bytes(pickle.dumps(list(range(1000))))
    for bad in (FIXTURES / "ragged.csv", binary):
        with pytest.raises(DataError) as info:
            read_table(bad, progress=lambda d, t: None)
        assert str(info.value) == error_of(bad)


def test_formats_without_progress_report_start_and_end(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "kind": ["a", "b", "c"]})
    frame.to_parquet(tmp_path / "t.parquet")
    frame.to_excel(tmp_path / "t.xlsx", index=False)
    for path in (tmp_path / "t.parquet", tmp_path / "t.xlsx", FIXTURES / "records.json"):
        loaded, calls = _read_with_progress(path)
        size = path.stat().st_size
        assert calls == [(0, size), (size, size)], path.name
        assert len(loaded.frame) == 3


def test_an_exception_from_progress_stops_the_read(tmp_path: Path) -> None:
    path = _big_csv(tmp_path / "big.csv")

    class Stop(Exception):
        pass

    def stop_halfway(done: int, total: int) -> None:
        if done > total // 2:
            raise Stop

    with pytest.raises(Stop):
        read_table(path, progress=stop_halfway)


def test_sample_dataset_reports_progress() -> None:
    calls: list[tuple[int, int]] = []
    loaded = sample_dataset(progress=lambda done, total: calls.append((done, total)))
    assert len(loaded.frame) == 442
    _assert_full_progress(calls, calls[-1][1])


# --------------------------------------------------------------------------- large frames


def _mixed_frame(rows: int = 6000) -> pd.DataFrame:
    """Every problem data_problems looks for in one frame, with a few copied rows."""
    frame = pd.DataFrame(
        {
            "same": ["x"] * rows,
            "id": [f"user{i}" for i in range(rows)],
            # Few distinct values, 5% text: judged on distinct values weighted by count.
            "code": ["n/a" if i % 20 == 0 else str(i % 50) for i in range(rows)],
            # Every value distinct, 5% text: judged on a sample when the frame is large.
            "reading": [f"bad{i}" if i % 20 == 0 else f"{i}.5" for i in range(rows)],
            "city": [f"town {i % 300}" for i in range(rows)],
            "half": [None if i % 2 else i for i in range(rows)],
            "y": [i % 7 for i in range(rows)],
        }
    )
    copies = frame.iloc[[5, 17, 17, rows - 3]].copy()
    return pd.concat([frame, copies], ignore_index=True)


def test_data_problems_uses_a_given_profile_instead_of_profiling_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = _mixed_frame(300)
    profile = profile_columns(frame)
    expected = data_problems(frame)

    def no_profiling(*args: object) -> None:
        raise AssertionError("data_problems must not profile again")

    monkeypatch.setattr(profiling, "profile_columns", no_profiling)
    assert data_problems(frame, profile=profile) == expected
    assert data_problems(frame, profile) == expected


def test_large_frame_checks_find_the_same_problems_as_the_exact_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = _mixed_frame()
    exact = data_problems(frame)
    # The same frame treated as "large": bounded conversions and hashed duplicate rows.
    monkeypatch.setattr(profiling, "SAMPLE_ROWS", 500)
    large = data_problems(frame)
    assert large == exact
    text = " ".join(exact)
    assert "'same' has the same value in every row" in text
    assert "'id' has a different value in every row" not in text  # copies repeat four ids
    assert "'code' is mostly numbers but has some text" in text
    assert "'reading' is mostly numbers but has some text" in text
    assert "'city' has 300 different text values" in text
    assert "'half' is 50% missing" in text
    assert "4 rows are exact copies of an earlier row." in exact


def test_hashed_duplicate_rows_are_confirmed_so_collisions_do_not_count(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frame = pd.DataFrame({"a": [1, 2, 1, 3, 2, 1] * 100, "b": ["x", "y", "x", "z", "q", "x"] * 100})
    expected = int(frame.duplicated().sum())
    monkeypatch.setattr(profiling, "SAMPLE_ROWS", 10)
    # Every row hashing alike (all collide) must still give the exact count.
    monkeypatch.setattr(
        pd.util,
        "hash_pandas_object",
        lambda obj, index=True: pd.Series([7] * len(obj), dtype="uint64"),
    )
    assert profiling._duplicate_rows(frame) == expected == 596


# --------------------------------------------------------------------------- default target


def test_default_target_is_the_last_numeric_column_that_is_not_an_identifier() -> None:
    rows = 30
    frame = pd.DataFrame(
        {
            "rooms": [i % 5 + 1 for i in range(rows)],
            "price": [100.0 + 3 * i for i in range(rows)],
            "customer_id": [1000 + 7 * i for i in range(rows)],  # named like an id
            "row": list(range(1, rows + 1)),  # counts up one by one
            "city": ["Paris" if i % 2 else "Lyon" for i in range(rows)],  # text, last
        }
    )
    assert data_module.default_target(frame) == "price"
    # A plain number column after it wins (the last numeric, non-identifier column).
    frame["score"] = [i % 7 for i in range(rows)]
    assert data_module.default_target(frame) == "score"


def test_default_target_falls_back_to_a_numeric_id_then_to_the_last_column() -> None:
    only_id = pd.DataFrame({"id": [1, 2, 3], "name": ["a", "b", "c"]})
    assert data_module.default_target(only_id) == "id"
    no_numbers = pd.DataFrame({"name": ["a", "b"], "city": ["x", "y"]})
    assert data_module.default_target(no_numbers) == "city"
    assert data_module.default_target(pd.DataFrame()) is None
    flags = pd.DataFrame({"y": [1.5, 2.5], "done": [True, False]})
    assert data_module.default_target(flags) == "y"


def test_a_text_target_is_a_data_problem_for_regression_with_examples() -> None:
    frame = pd.DataFrame({"x": [float(i) for i in range(30)], "label": ["a", "b", "c"] * 10})
    expected = (
        "The target 'label' holds text (such as 'a', 'b', 'c'); tuidash predicts numbers, so "
        "choose a column of numbers as the target."
    )
    # Regression chosen: text is a problem, as before classification existed.
    assert data_module.target_problems(frame, "label", task="regression") == [expected]
    assert data_problems(frame, target="label", task="regression")[-1] == expected
    # On "auto" (and for classification) a text target is classes: no problem.
    assert data_module.target_problems(frame, "label") == []
    assert data_module.target_problems(frame, "label", task="classification") == []
    assert data_problems(frame, target="label") == data_problems(frame)
    assert data_module.target_problems(frame, "x") == []
    assert data_problems(frame, target="x") == data_problems(frame)
    frame["mostly"] = [str(i) for i in range(29)] + ["n/a"]
    assert "holds mostly numbers but also text (such as 'n/a')" in " ".join(
        data_module.target_problems(frame, "mostly")
    )
    frame["numbers_as_text"] = [str(i) for i in range(30)]  # training reads these as numbers
    assert data_module.target_problems(frame, "numbers_as_text") == []
    frame["when"] = pd.date_range("2024-01-01", periods=30)
    assert "holds dates" in data_module.target_problems(frame, "when")[0]


def test_a_text_date_column_is_not_called_an_identifier() -> None:
    """Dates differ in every row, yet they become date features: no 'identifier?' problem."""
    import pandas as pd

    from tuidash.core.data import data_problems

    days = pd.date_range("2024-01-01", periods=40, freq="D").strftime("%Y-%m-%d")
    frame = pd.DataFrame({"date": list(days), "code": [f"c{i:03d}" for i in range(40)]})
    frame["sales"] = range(40)
    problems = " ".join(data_problems(frame))
    assert "'date'" not in problems
    assert "'code' has a different value in every row" in problems


@pytest.mark.parametrize("written", ["%Y-%m-%d", "%d/%m/%Y"])
def test_a_text_date_column_with_repeated_days_is_not_a_wide_one_hot_problem(written: str) -> None:
    """600 different days over 1000 rows: training reads them as dates, so no one-hot warning."""
    import pandas as pd

    from tuidash.core.data import data_problems
    from tuidash.core.pipeline import choose_features

    days = pd.date_range("2020-01-01", periods=600, freq="D")
    picks = [i % 600 if i < 600 else (i * 7) % 600 for i in range(1000)]
    frame = pd.DataFrame(
        {
            "date": list(days[picks].strftime(written)),
            "code": [f"c{i % 300}" for i in range(1000)],
            "price": [float(i % 97) for i in range(1000)],
        }
    )
    notes: list[str] = []
    assert choose_features(frame, "price", None, notes)[3] == ["date"]  # training: a date
    problems = " ".join(data_problems(frame))
    assert "'date'" not in problems
    assert "'code' has 300 different text values; one-hot encoding" in problems
