"""Pilot tests of the Analysis and Compare screens, driven from fixed metadata dicts."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from analysis_fixtures import (
    ROWS,
    HostApp,
    actual_values,
    dummy,
    export_dir,
    forest,
    no_predictions,
    other_data,
    other_rows,
    ridge,
)
from rich.console import Console
from textual.app import App
from textual.color import Color
from textual.widgets import DataTable, Select, Static, TabbedContent

from tuidash.ui.commands import ScreenCommands
from tuidash.ui.screens.analysis import AnalysisScreen
from tuidash.ui.screens.compare import CompareScreen
from tuidash.ui.widgets.charts import (
    ActualPredictedChart,
    FeatureChart,
    GroupedBarChart,
    HistogramChart,
    OverlayChart,
    ResidualChart,
    ScatterChart,
)


def notes(app: App[Any]) -> list[str]:
    """The messages of the notifications shown so far."""
    return [str(n.message) for n in app._notifications]


def text_of(widget: Static) -> str:
    """What a Static shows, as plain text."""
    console = Console(width=200, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(widget.content)
    return console.export_text()


def row_texts(table: DataTable[Any]) -> list[list[str]]:
    """Every row of a DataTable as stripped strings."""
    return [[str(cell).strip() for cell in table.get_row_at(i)] for i in range(table.row_count)]


async def show_tab(app: App[Any], pilot: Any, tab: str) -> None:
    """Click a tab the way a person would."""
    await pilot.click(f"#--content-tab-{tab}")
    await pilot.pause()
    assert app.screen.query_one(TabbedContent).active == tab


# ---------------------------------------------------------------- analysis


async def test_analysis_opens_on_the_line_chart_with_the_model_summary(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AnalysisScreen)
        summary = text_of(screen.query_one("#analysis-summary", Static))
        assert "Random Forest · random_forest · 150 test rows · R2 0.8123" in summary
        chart = screen.query_one(ActualPredictedChart)
        assert chart.series is not None
        assert len(chart.series.rows) == 100  # the default, evenly spread over 150 rows
        assert chart.series.rows[0] == 1 and chart.series.rows[-1] == ROWS


async def test_every_chart_tab_shows_its_chart(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        for tab, chart_type in [
            ("scatter", ScatterChart),
            ("residuals", ResidualChart),
            ("histogram", HistogramChart),
            ("features", FeatureChart),
        ]:
            await show_tab(app, pilot, tab)
            chart = app.screen.query_one(chart_type)
            assert chart.display and chart.size.width > 40 and chart.has_data()


async def test_point_bin_and_top_n_keys_work_only_on_their_tab(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AnalysisScreen)
        await pilot.press("p")
        series = screen.query_one(ActualPredictedChart).series
        assert series is not None and len(series.rows) == ROWS  # 200 asked, 150 stored
        await pilot.press("b")  # not on the histogram tab: nothing happens
        assert screen.bins == 10
        await show_tab(app, pilot, "histogram")
        await pilot.press("b")
        histogram = screen.query_one(HistogramChart).histogram
        assert histogram is not None and len(histogram.counts) == 20
        assert sum(histogram.counts) == ROWS
        await pilot.press("p")  # not on the line tab
        assert screen.max_points == 200


async def test_order_key_switches_the_line_between_sorted_and_stored_rows(
    tmp_path: Path,
) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart = app.screen.query_one(ActualPredictedChart)
        assert chart.series is not None and chart.series.by_actual
        assert chart.series.actual == sorted(chart.series.actual)
        await pilot.press("o")
        assert not chart.series.by_actual
        assert chart.series.actual != sorted(chart.series.actual)
        stored = actual_values()
        assert chart.series.rows == sorted(chart.series.rows)  # rows as stored
        pairs = zip(chart.series.rows, chart.series.actual, strict=True)
        assert all(stored[r - 1] == a for r, a in pairs)


async def test_feature_chart_redraws_with_more_bars_when_the_terminal_grows(
    tmp_path: Path,
) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "features")
        chart = app.screen.query_one(FeatureChart)
        small = [bar.label for bar in chart.bars]
        assert 3 <= len(small) < 10  # 80x24 has room for fewer than the top 10
        assert all(len(label) <= 20 for label in small)
        assert small[:3] == ["bmi", "s5", "bp"]
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert len(chart.bars) == 10
        await pilot.press("n")  # top 20 -> all 12 fit at 120x40
        await pilot.pause()
        assert len(chart.bars) == 12


async def test_metrics_tab_explains_each_metric_and_shows_undefined_with_reason(
    tmp_path: Path,
) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "metrics")
        text = text_of(app.screen.query_one("#metrics-table", Static))
        assert "MAE" in text and "14.62" in text and "0.8123" in text
        assert "undefined" in text
        assert "Undefined: The target has values of 0" in text
        assert "Mean absolute error" in text


async def test_errors_table_rows_and_undefined_percent_where_actual_is_zero(
    tmp_path: Path,
) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "errors")
        table = app.screen.query_one("#errors-table", DataTable)
        assert table.row_count == ROWS
        rows = row_texts(table)
        assert rows[3][0] == "4" and rows[3][1] == "0" and rows[3][4] == "undefined"
        assert rows[0][4].endswith("%")


async def test_export_writes_a_new_csv_each_time_and_shows_the_path(tmp_path: Path) -> None:
    target = export_dir(tmp_path)
    app = HostApp(AnalysisScreen(forest(), target))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "errors")
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        first = target / "Random_Forest_errors.csv"
        assert first.exists()
        status = text_of(app.screen.query_one("#errors-status", Static))
        assert str(first) in status.replace("\n", "")
        assert any(str(first) in note for note in notes(app))
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert (target / "Random_Forest_errors_2.csv").exists()
    with first.open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == ROWS + 1 and rows[4][4] == ""


async def test_export_problem_is_one_sentence_not_a_crash(tmp_path: Path) -> None:
    blocker = tmp_path / "a file"
    blocker.write_text("")
    app = HostApp(AnalysisScreen(forest(), blocker))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert isinstance(app.screen, AnalysisScreen)
        assert any(note.startswith("Could not") for note in notes(app))


async def test_model_without_predictions_says_so_on_every_tab(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(no_predictions(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert not screen.query(ActualPredictedChart)
        note = text_of(screen.query_one("#line .chart-note", Static))
        assert "No predictions are stored for this model." in note
        await show_tab(app, pilot, "metrics")
        text = text_of(screen.query_one("#metrics-table", Static))
        lines = {line.split()[0]: line for line in text.splitlines() if line.strip()}
        for metric in ("MAE", "MSE", "RMSE", "MAPE"):
            assert lines[metric].split()[1] == "undefined"
        assert lines["R2"].split()[1] == "0.41"
        await pilot.press("e")
        await pilot.pause()
        assert "Old model has no stored predictions to export." in notes(app)
        assert not export_dir(tmp_path).exists()


async def test_features_tab_says_when_a_model_has_no_importances(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(dummy(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "features")
        assert not app.screen.query(FeatureChart)
        note = text_of(app.screen.query_one("#features .chart-note", Static))
        assert "no feature importances" in note


async def test_escape_returns_to_the_screen_underneath(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, AnalysisScreen)


async def test_screen_actions_are_offered_in_the_command_palette(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        provider = ScreenCommands(app.screen)
        names = [name for name, _help, _callback in provider.commands()]
        assert "Analysis: Export CSV" in names and "Analysis: Back" in names


# ---------------------------------------------------------------- compare


async def test_compare_table_marks_best_values_and_recommends_by_r2(tmp_path: Path) -> None:
    app = HostApp(CompareScreen([forest(), ridge(), dummy()], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        summary = text_of(screen.query_one("#compare-summary", Static))
        assert "Recommended: Random Forest, R2 0.8123" in summary
        assert "0.1982 ahead of Ridge" in summary
        rows = row_texts(screen.query_one("#compare-table", DataTable))
        assert rows[0][0] == "Random Forest"
        assert rows[0][1:] == ["14.62*", "341.8*", "18.49*", "undefined", "0.8123*"]
        assert rows[2][5] == "0"  # the baseline's R2 is 0, not best, not undefined
        best = text_of(screen.query_one("#best-per-metric", Static))
        assert "Random Forest: MAE, MSE, RMSE, R2" in best
        assert "Undefined for every model: MAPE" in best


async def test_transpose_swaps_models_and_metrics(tmp_path: Path) -> None:
    app = HostApp(CompareScreen([forest(), ridge()], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        table = app.screen.query_one("#compare-table", DataTable)
        assert table.row_count == 2 and len(table.columns) == 6
        await show_tab(app, pilot, "chart")
        await pilot.press("t")  # from any tab: transposes and shows the table
        await pilot.pause()
        assert app.screen.query_one(TabbedContent).active == "table"
        assert table.row_count == 5 and len(table.columns) == 3
        assert [row[0] for row in row_texts(table)] == ["MAE", "MSE", "RMSE", "MAPE", "R2"]
        await pilot.press("t")
        assert table.row_count == 2


async def test_comparison_of_one_model_says_so(tmp_path: Path) -> None:
    app = HostApp(CompareScreen([forest()], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        summary = text_of(app.screen.query_one("#compare-summary", Static))
        assert "Only one model" in summary
        rows = row_texts(app.screen.query_one("#compare-table", DataTable))
        assert "*" not in "".join(rows[0])  # nothing is "best" among one
        await show_tab(app, pilot, "pair")
        assert not app.screen.query(Select)


async def test_grouped_bar_chart_and_note_on_undefined_values(tmp_path: Path) -> None:
    models = [forest(), other_rows()]
    app = HostApp(CompareScreen(models, export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "chart")
        chart = app.screen.query_one(GroupedBarChart)
        assert chart.bars is not None and chart.bars.models == ["Random Forest", "Other data"]
        note = text_of(app.screen.query_one("#bars-note", Static))
        assert "Random Forest MAPE" in note


async def test_overlay_shown_only_for_models_tested_on_the_same_rows(tmp_path: Path) -> None:
    app = HostApp(CompareScreen([forest(), ridge(), dummy()], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "overlay")
        chart = app.screen.query_one(OverlayChart)
        assert chart.overlay is not None and len(chart.overlay.series) == 3
        await pilot.press("p")
        assert chart.overlay.rows == list(range(1, 151))
        assert chart.overlay.actual == sorted(chart.overlay.actual)
        await pilot.press("o")
        assert not chart.overlay.by_actual and chart.overlay.actual[3] == 0.0

    app = HostApp(CompareScreen([forest(), other_rows()], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "overlay")
        assert not app.screen.query(OverlayChart)
        note = text_of(app.screen.query_one("#overlay-note", Static))
        assert "Other data was tested on different rows from Random Forest" in note


async def test_pair_shows_differences_and_only_the_parameters_that_differ(
    tmp_path: Path,
) -> None:
    tuned = forest(
        "Forest tuned",
        params={"n_estimators": 300, "max_depth": None, "min_samples_leaf": 5},
        metrics={"MAE": 13.0, "MSE": 300.0, "RMSE": 17.32, "MAPE": None, "R2": 0.85},
    )
    app = HostApp(CompareScreen([forest(), tuned, ridge()], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "pair")
        screen = app.screen
        metrics = row_texts(screen.query_one("#pair-metrics", DataTable))
        assert metrics[0] == ["MAE", "14.62", "13", "-1.62", "-11.1%", "Forest tuned"]
        assert metrics[3][3:5] == ["undefined", "undefined"]
        params = row_texts(screen.query_one("#pair-params", DataTable))
        assert params == [["min_samples_leaf", "1", "5"], ["n_estimators", "100", "300"]]
        screen.query_one("#pair-b", Select).value = 2
        await pilot.pause()
        kinds = text_of(screen.query_one("#pair-kinds", Static))
        assert "A is random_forest, B is ridge" in kinds
        names = [row[0] for row in row_texts(screen.query_one("#pair-params", DataTable))]
        assert "alpha" in names and "n_estimators" in names
        screen.query_one("#pair-b", Select).value = 0
        await pilot.pause()
        assert "Pick two different models." in text_of(screen.query_one("#pair-kinds", Static))


async def test_identical_parameters_say_so(tmp_path: Path) -> None:
    app = HostApp(CompareScreen([forest(), forest("Forest copy")], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "pair")
        title = text_of(app.screen.query_one("#pair-params-title", Static))
        assert "the two models have the same parameters" in title
        assert not app.screen.query_one("#pair-params", DataTable).display


async def test_compare_export_writes_the_table(tmp_path: Path) -> None:
    target = export_dir(tmp_path)
    app = HostApp(CompareScreen([forest(), ridge()], target))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("e")
        await app.workers.wait_for_complete()
        await pilot.pause()
        path = target / "comparison.csv"
        assert path.exists()
        assert any(str(path) in note for note in notes(app))
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["model"] for r in rows] == ["Random Forest", "Ridge"]
    assert rows[0]["R2"] == "0.8123" and rows[0]["MAPE"] == ""


# ---------------------------------------------------------------- real store, capping, theme


async def test_screens_work_from_a_real_store_listing_without_loading_models(
    tmp_path: Path, store_dir: Path, saved_models: Any
) -> None:
    from tuidash.core.store import ModelPersistence

    saved_models(store_dir)
    listing = ModelPersistence(store_dir).list_saved_models()
    forest_meta = next(m for m in listing if m["name"] == "Forest")
    app = HostApp(AnalysisScreen(forest_meta, export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart = app.screen.query_one(ActualPredictedChart)
        assert chart.series is not None and chart.series.available > 50
        await show_tab(app, pilot, "features")
        assert app.screen.query_one(FeatureChart).bars
    app = HostApp(CompareScreen(listing, export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert "Recommended:" in text_of(app.screen.query_one("#compare-summary", Static))
        await show_tab(app, pilot, "overlay")
        overlay = app.screen.query_one(OverlayChart).overlay
        assert overlay is not None and len(overlay.series) == 3


async def test_a_capped_prediction_sample_says_the_metrics_use_every_row(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(forest(predictions_total=5000), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        summary = text_of(app.screen.query_one("#analysis-summary", Static))
        assert "150 of 5000 test rows stored" in summary
        await show_tab(app, pilot, "metrics")
        text = " ".join(text_of(app.screen.query_one("#metrics-table", Static)).split())
        assert "Metrics use all 5000 test rows; the charts show the 150 stored." in text


async def test_charts_take_their_colours_from_the_theme_and_follow_a_change(
    tmp_path: Path,
) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        chart = app.screen.query_one(ActualPredictedChart)
        before = chart.colour(0)
        assert before == Color.parse(app.theme_variables["primary"]).rgb
        app.theme = "gruvbox"
        await pilot.pause()
        after = chart.colour(0)
        assert after != before
        assert after == Color.parse(app.theme_variables["primary"]).rgb
        drawn = chart.plt.build()  # redrawn with the new theme's colour, not the old one
        assert "{};{};{}".format(*after) in drawn
        assert "{};{};{}".format(*before) not in drawn


async def test_compare_with_no_models_says_so(tmp_path: Path) -> None:
    app = HostApp(CompareScreen([], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        summary = text_of(app.screen.query_one("#compare-summary", Static))
        assert "No models to compare" in summary
        await pilot.press("e")
        await pilot.pause()
        assert "There are no models to export." in notes(app)


async def test_palette_commands_run_the_screen_actions(tmp_path: Path) -> None:
    app = HostApp(CompareScreen([forest(), ridge()], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        commands = {name: run for name, _help, run in ScreenCommands(app.screen).commands()}
        assert set(commands) >= {"Compare: Transpose", "Compare: Export CSV", "Compare: Back"}
        await commands["Compare: Transpose"]()
        await pilot.pause()
        assert app.screen.query_one("#compare-table", DataTable).row_count == 5


# ---------------------------------------------------------------- issue 10


async def test_compare_never_recommends_across_targets_and_shows_one_group(
    tmp_path: Path,
) -> None:
    app = HostApp(CompareScreen([forest(), other_data(), ridge()], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        summary = " ".join(text_of(screen.query_one("#compare-summary", Static)).split())
        assert "Longley" not in summary and "different targets or use different data" in summary
        assert "Recommended: Random Forest" in summary  # within its own group only
        rows = row_texts(screen.query_one("#compare-table", DataTable))
        assert [row[0] for row in rows] == ["Random Forest", "Ridge"]
        picker = screen.query_one("#compare-group", Select)
        picker.value = 1
        await pilot.pause()
        await pilot.pause()
        rows = row_texts(app.screen.query_one("#compare-table", DataTable))
        assert [row[0] for row in rows] == ["Longley LR"]
        summary = " ".join(text_of(app.screen.query_one("#compare-summary", Static)).split())
        assert "Recommended" not in summary and "Only one model (Longley LR" in summary
        picker = app.screen.query_one("#compare-group", Select)
        shown = str(picker.query_one("SelectCurrent #label", Static).render())
        assert picker.value == 1 and "'Employed' of longley.csv · 1 model" in shown


async def test_compare_of_unknown_data_shows_metrics_but_ranks_nothing(tmp_path: Path) -> None:
    old_a, old_b = forest("Old A"), ridge("Old B")
    del old_a["data"], old_b["data"]
    app = HostApp(CompareScreen([old_a, old_b], export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        summary = " ".join(text_of(app.screen.query_one("#compare-summary", Static)).split())
        assert "The data of Old A and Old B are unknown" in summary
        rows = row_texts(app.screen.query_one("#compare-table", DataTable))
        assert not any(cell.endswith("*") for row in rows for cell in row)
        best = text_of(app.screen.query_one("#best-per-metric", Static))
        assert "Not ranked" in best


async def test_compare_says_when_test_rows_differ(tmp_path: Path) -> None:
    app = HostApp(CompareScreen([forest(), other_rows()], export_dir(tmp_path)))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        summary = " ".join(text_of(app.screen.query_one("#compare-summary", Static)).split())
        assert "Recommended: Other data" in summary
        assert "Their test rows differ" in summary and "random state 7" in summary


async def test_features_tab_names_permutation_importance_even_with_negative_values(
    tmp_path: Path,
) -> None:
    knn = forest("KNN", model_type="knn", feature_importance_method="permutation")
    knn["predictions"]["feature_importance"] = {"bmi": 0.4, "s5": 0.2, "age": -0.03}
    app = HostApp(AnalysisScreen(knn, export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "features")
        chart = app.screen.query_one(FeatureChart)
        assert chart.kind == "permutation"
        plot = chart.plt.build()
        assert "Permutation importance" in plot and "Coefficients" not in plot
        note = text_of(app.screen.query_one("#features-note", Static))
        assert "shuffled" in note


async def test_errors_table_numbers_rows_by_data_row_when_stored(tmp_path: Path) -> None:
    model = forest()
    model["predictions"]["rows"] = [10 + 3 * i for i in range(ROWS)]
    app = HostApp(AnalysisScreen(model, export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "errors")
        table = app.screen.query_one("#errors-table", DataTable)
        labels = [str(column.label).strip() for column in table.columns.values()]
        assert labels[0] == "Data row"
        assert row_texts(table)[3][0] == "19"
        status = text_of(app.screen.query_one("#errors-status", Static))
        assert "row in the data file" in status
        await pilot.press("e")
        await app.workers.wait_for_complete()
    with (export_dir(tmp_path) / "Random_Forest_errors.csv").open(newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][0] == "data_row" and rows[4][0] == "19"


async def test_errors_table_of_an_old_model_says_the_rows_are_positions(tmp_path: Path) -> None:
    app = HostApp(AnalysisScreen(forest(), export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "errors")
        table = app.screen.query_one("#errors-table", DataTable)
        labels = [str(column.label).strip() for column in table.columns.values()]
        assert labels[0] == "Test row"
        status = text_of(app.screen.query_one("#errors-status", Static))
        assert "position in the test sample" in status


def bar_starts(chart: FeatureChart) -> list[int]:
    """The terminal column where each bar of the rendered chart starts."""
    from rich.cells import cell_len

    starts = []
    for line in chart.render().plain.splitlines():  # type: ignore[union-attr]
        if "█" in line:
            starts.append(cell_len(line[: line.index("█")]))
    return starts


async def test_wide_character_feature_names_keep_the_bars_aligned(tmp_path: Path) -> None:
    model = forest()
    model["predictions"]["feature_importance"] = {"日本語": 0.5, "bmi": 0.3, "年齢の列名前": 0.2}
    app = HostApp(AnalysisScreen(model, export_dir(tmp_path)))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await show_tab(app, pilot, "features")
        chart = app.screen.query_one(FeatureChart)
        starts = bar_starts(chart)
        assert len(starts) == 3 and len(set(starts)) == 1
        text = chart.render().plain  # type: ignore[union-attr]
        assert "日本語" in text and "bmi" in text
