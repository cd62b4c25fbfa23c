"""What a QA pass found in the CLI's output and option checks: ``storage`` rows that add up
to its total, tables that line up with wide characters in names, and bad numbers of
``train`` refused as usage errors before any job or file is created.

The commands run in-process (``cli.main``) on stores filled with the store's API; one
small training goes through a job, as ``tuidash train`` does.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from store_helpers import model_data

from tuidash import cli
from tuidash.cli.common import display_width, format_table
from tuidash.core.store import ModelPersistence
from tuidash.core.text import size_text

WIDE = "模型 один"
"""A model name with CJK characters (two cells each) and Cyrillic ones (one cell each)."""
EMOJI = "Tree 🌳"
"""A model name with an emoji (two cells)."""
ACCENT = "Cafe\u0301 model"
"""A model name with a combining accent (no cell of its own)."""


def main(store: Path, *argv: str) -> int:
    return cli.main([*argv, "--store", str(store)])


# --------------------------------------------------------------------------- storage


def test_storage_rows_add_up_to_the_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    persistence = ModelPersistence(store)
    for alpha in (1.0, 2.0, 3.0):
        persistence.save("Forest", model_data(params={"alpha": alpha}))
    persistence.save("Other", model_data())

    assert main(store, "storage", "--json") == 0
    info = json.loads(capsys.readouterr().out)
    rows = {m["name"]: m for m in info["models"]}
    assert rows["Forest"]["versions"] == 3 and rows["Other"]["versions"] == 1
    assert rows["Forest"]["versions_bytes"] > 0
    assert sum(m["total_bytes"] for m in info["models"]) == info["total_size_bytes"]

    assert main(store, "storage") == 0
    out = capsys.readouterr().out
    latest = sum(m["size_bytes"] for m in info["models"])
    older = sum(m["versions_bytes"] for m in info["models"])
    assert "Models      2 (4 versions)" in out
    # The total line says where it comes from: the latest versions plus the older ones.
    assert (
        f"Total size  {size_text(info['total_size_bytes'])}  (latest versions "
        f"{size_text(latest)} + 2 older versions {size_text(older)})"
    ) in out
    table = out.split("\n\n", 1)[1].splitlines()
    assert table[0].split() == ["NAME", "VERSIONS", "LATEST", "OLDER", "TOTAL"]
    by_name = {line.split("  ")[0].strip(): line for line in table[2:]}
    forest, other = rows["Forest"], rows["Other"]
    assert by_name["Forest"].split()[1:] == [
        "3",
        *size_text(forest["size_bytes"]).split(),
        *size_text(forest["versions_bytes"]).split(),
        *size_text(forest["total_bytes"]).split(),
    ]
    assert by_name["Other"].split()[1:] == [
        "1",
        *size_text(other["size_bytes"]).split(),
        "-",
        *size_text(other["total_bytes"]).split(),
    ]


def test_storage_without_older_versions_says_only_the_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = tmp_path / "store"
    ModelPersistence(store).save("Only", model_data())
    assert main(store, "storage") == 0
    lines = capsys.readouterr().out.splitlines()
    assert "Models      1" in lines
    total = next(line for line in lines if line.startswith("Total size"))
    assert "older" not in total and "latest" not in total
    (row,) = [line for line in lines if line.startswith("Only ")]
    size = size_text(ModelPersistence(store).get_storage_info()["total_size_bytes"])
    assert row.split() == ["Only", "1", *size.split(), "-", *size.split()]


# --------------------------------------------------------------------------- wide text


def test_display_width_counts_terminal_cells() -> None:
    assert display_width("abc") == 3
    assert display_width("模型") == 4  # wide
    assert display_width("ＡＢ") == 4  # full-width
    assert display_width("один") == 4
    assert display_width("🌳") == 2
    assert display_width("e\u0301") == 1  # a combining accent takes no cell
    assert display_width("❤\ufe0f") == 1  # a variation selector takes no cell
    assert display_width("") == 0


def test_format_table_pads_by_display_width() -> None:
    text = format_table(("NAME", "SIZE"), [("模型", "1 KB"), ("abcdef", "10 KB")], right=(1,))
    assert text.splitlines() == [
        "NAME     SIZE",
        "------  -----",
        "模型     1 KB",
        "abcdef  10 KB",
    ]


def cells(line: str) -> list[str]:
    """A line as terminal cells: a wide character fills two (its second is ""), a
    zero-width one joins the cell before it."""
    out: list[str] = []
    for char in line:
        width = display_width(char)
        if width == 0 and out:
            out[-1] += char
        else:
            out.append(char)
            out.extend([""] * (width - 1))
    return out


def assert_tables_line_up(text: str) -> int:
    """Every table in ``text`` (a header, a line of dashes, rows) lines up: each cell of each
    row stays inside its column's dashes and touches one edge of it (left- or right-aligned),
    and the two cells between columns are blank. Returns how many tables were checked."""
    lines = text.splitlines()
    checked = 0
    for index, dashes in enumerate(lines):
        if index == 0 or not dashes.startswith("-") or set(dashes) != {"-", " "}:
            continue
        spans, start = [], None
        for column, char in enumerate(dashes + " "):
            if char == "-" and start is None:
                start = column
            elif char != "-" and start is not None:
                spans.append((start, column))
                start = None
        block = [lines[index - 1]]
        block += [line for line in _until_blank(lines[index + 1 :])]
        for line in block:
            row = cells(line)
            row += [" "] * (spans[-1][1] + 2 - len(row))
            for number, (begin, end) in enumerate(spans):
                cell = row[begin:end]
                assert cell[0] != " " or cell[-1] != " ", (line, number, dashes)
                after = row[end : end + 2] if number < len(spans) - 1 else []
                assert all(c == " " for c in after), (line, number, dashes)
            assert len(cells(line.rstrip())) <= spans[-1][1], (line, dashes)
        checked += 1
    return checked


def _until_blank(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if not line.strip():
            break
        out.append(line)
    return out


def test_assert_tables_line_up_sees_a_misaligned_row() -> None:
    # What padding by characters made of it: the name overflows its column by two cells.
    shifted = "NAME      SIZE\n-------  -----\n模型 один   1 KB\nabc       10 KB"
    with pytest.raises(AssertionError):
        assert_tables_line_up(shifted)
    assert assert_tables_line_up(format_table(("NAME", "SIZE"), [("模型 один", "1 KB")])) == 1


def test_tables_line_up_with_wide_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "数据.csv"
    with data.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["年龄", "city 🌆", "y"])
        for i in range(40):
            writer.writerow([i % 9, i % 4, 3 * (i % 9) - (i % 4)])
    store = tmp_path / "store"
    train = ["train", str(data), "--target", "y", "--model", "decision_tree", "--name", WIDE]
    assert main(store, *train) == 0, capsys.readouterr().err
    persistence = ModelPersistence(store)
    persistence.save(EMOJI, model_data())
    persistence.save(EMOJI, model_data(params={"alpha": 2.0}))
    persistence.save(ACCENT, model_data())
    persistence.save("Linear Regression plain", model_data())
    persistence.set_note(f"{EMOJI}@v1", "备注 ✓ first")
    capsys.readouterr()

    outputs = {}
    for argv in (
        ("models", "list"),
        ("storage",),
        ("models", "versions", EMOJI),
        ("models", "history", EMOJI),
        ("models", "show", WIDE),
        ("jobs", "list"),
    ):
        assert main(store, *argv) == 0, argv
        outputs[argv] = capsys.readouterr().out
    for argv, out in outputs.items():
        assert assert_tables_line_up(out) >= 1, (argv, out)
    assert WIDE in outputs[("models", "list")] and EMOJI in outputs[("storage",)]
    assert "年龄" in outputs[("models", "show", WIDE)]
    assert WIDE in outputs[("jobs", "list")]


# --------------------------------------------------------------------------- bad numbers


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--n-iter", "0", "a whole number from 1 to 1000"),
        ("--n-iter", "-3", "a whole number from 1 to 1000"),
        ("--n-iter", "1001", "a whole number from 1 to 1000"),
        ("--cv", "1", "a whole number from 2 to 20"),
        ("--cv", "21", "a whole number from 2 to 20"),
        ("--jobs", "0", "-1 or a whole number 1 or more"),
        ("--jobs", "-2", "-1 or a whole number 1 or more"),
        ("--test-size", "0", "a number from 0.1 to 0.4"),
        ("--test-size", "nan", "a number from 0.1 to 0.4"),
        ("--batch-rows", "0", "a whole number 1 or more"),
        ("--random-state", "-1", "a whole number 0 or more"),
    ],
)
def test_a_bad_number_is_a_usage_error_before_any_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, expected: str
) -> None:
    store = tmp_path / "store"
    argv = ["train", "sample", "--target", "target", "--model", "ridge", "--search", "random"]
    with pytest.raises(SystemExit) as exit_info:
        main(store, *argv, option, value)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}: expected {expected}, got '{value}'" in err, err
    assert "Traceback" not in err
    assert not store.exists()  # no store folder, no job record


def test_a_search_spec_refuses_a_bad_candidate_count_before_it_runs() -> None:
    from tuidash.core.search import SearchError, SearchSpec
    from tuidash.services import workflows
    from tuidash.services.search import check_search

    request = workflows.TrainRequest(target="target", kind="ridge", source="sample")
    for bad in (0, -1, 1001):
        with pytest.raises(SearchError, match=f"not {bad}"):
            check_search(request, SearchSpec(method="random", n_iter=bad))
    check_search(request, SearchSpec(method="random", n_iter=1))
    check_search(request, SearchSpec(method="grid", n_iter=0))  # a grid tries every one
