"""Train section: choose model kinds, set parameters and the split, train, see the metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.validation import ValidationResult, Validator
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    Label,
    OptionList,
    ProgressBar,
    SelectionList,
    Static,
    TabbedContent,
    TabPane,
)

from tuidash.core.catalog import ParamError, ParamSpec, display_name_of, kinds_for
from tuidash.core.text import metric_text, number_text
from tuidash.ui.screens.base import SectionScreen
from tuidash.ui.sections import section_bindings
from tuidash.ui.state import TrainJob
from tuidash.ui.widgets.search_form import SearchFields, search_summary
from tuidash.ui.widgets.task_choice import TaskChoiceRow

if TYPE_CHECKING:
    from tuidash.ui.messages import TrainingProgress
    from tuidash.ui.state import Actions, AppState, DataState, TrainingState

SPLIT_SPECS: dict[str, ParamSpec] = {
    "test_size": ParamSpec(
        "test_size", "float", 0.2, "Share of rows kept aside to measure the model.", 0.1, 0.4
    ),
    "random_state": ParamSpec(
        "random_state",
        "int",
        42,
        "Seed of the split and the model; same seed, same result.",
        0,
        4294967295.0,
    ),
    "cv_folds": ParamSpec(
        "cv_folds",
        "int",
        None,
        "Cross-validation folds on the training rows; empty for none.",
        2,
        20,
        nullable=True,
    ),
}
"""The split settings, checked with the same rules as model parameters."""

DEFAULT_KINDS = ("random_forest",)
"""Kinds ticked when the section opens."""


def param_text(value: Any) -> str:
    """A parameter value as the user would type it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple | list):
        return ",".join(str(v) for v in value)
    return str(value)


REGRESSION_RESULT_METRICS = ("R2", "RMSE", "MAE", "MAPE", "MSE")
"""Metrics shown after training a regressor, in order."""
CLASSIFICATION_RESULT_METRICS = (
    "Balanced accuracy",
    "Accuracy",
    "F1 macro",
    "Precision macro",
    "Recall macro",
    "ROC AUC",
    "Log loss",
)
"""Metrics shown after training a classifier (the others are in Analysis)."""


def result_metrics(task: str) -> tuple[str, ...]:
    """The metrics shown after training a model of ``task``."""
    if task == "classification":
        return CLASSIFICATION_RESULT_METRICS
    return REGRESSION_RESULT_METRICS


def metric_line(name: str, value: float | None, reasons: dict[str, str]) -> str:
    """One metric as "R2 0.4526" or "MAPE undefined (reason)"."""
    return f"{name} {metric_text(value, reasons.get(name, 'not computable on this data'))}"


class SpecValidator(Validator):
    """Checks an Input with a ParamSpec's own parser, so the UI and the core agree."""

    def __init__(self, spec: ParamSpec) -> None:
        super().__init__()
        self.spec = spec
        """The parameter being checked."""

    def validate(self, value: str) -> ValidationResult:
        """Success, or the spec's sentence."""
        try:
            self.spec.parse(value)
        except ParamError as error:
            return self.failure(str(error))
        return self.success()


class NameValidator(Validator):
    """The store's own name rules, checked while typing (surrounding spaces are dropped)."""

    def validate(self, value: str) -> ValidationResult:
        """Success, or the store's sentence on why the name cannot be used."""
        from tuidash.core.store import name_problem

        problem = name_problem(value.strip())
        return self.failure(problem) if problem else self.success()


class ParamField(Vertical):
    """One labelled input with its help line, which turns into the error when invalid."""

    def __init__(
        self, spec: ParamSpec, input_id: str, value: str | None = None, classes: str = ""
    ) -> None:
        super().__init__(classes=f"param-field {classes}".strip())
        self.spec = spec
        """The parameter this field edits."""
        self.input_id = input_id
        self.initial = param_text(spec.default) if value is None else value

    def compose(self) -> ComposeResult:
        """Label + input on one row, help line under it."""
        spec = self.spec
        with Horizontal(classes="param-row"):
            yield Label(spec.name, classes="param-name")
            yield Input(
                self.initial,
                id=self.input_id,
                validators=[SpecValidator(spec)],
                valid_empty=spec.nullable,
                tooltip=f"{spec.help} ({spec.range_text()})",
                compact=True,
            )
        yield Static(self.help_text(), classes="param-help")

    def help_text(self) -> str:
        """Help and valid range."""
        return f"{self.spec.help} {self.spec.range_text().capitalize()}."

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        help_line = self.query_one(".param-help", Static)
        result = event.validation_result
        if result is not None and not result.is_valid:
            help_line.update(result.failure_descriptions[0])
            help_line.add_class("-error")
        else:
            help_line.update(self.help_text())
            help_line.remove_class("-error")

    @property
    def input(self) -> Input:
        """The input widget."""
        return self.query_one(Input)

    def value(self) -> Any:
        """The parsed value (raises ParamError when invalid)."""
        return self.spec.parse(self.input.value)


class KindForm(Vertical):
    """The name and parameters of one model kind."""

    def __init__(self, kind_id: str, cursor_blink: bool = True, task: str = "regression") -> None:
        super().__init__(id=f"form-{kind_id}", classes="kind-form")
        self.kind = kinds_for(task)[kind_id]
        """The model kind (of ``task``: regression and classification share some ids)."""
        self.cursor_blink = cursor_blink
        """Blink the cursor of the inputs (off in snapshots)."""

    def compose(self) -> ComposeResult:
        """Title, description, name, then one field per parameter."""
        kind = self.kind
        yield Label(kind.display_name, classes="kind-title")
        yield Static(kind.description, classes="kind-description")
        with Horizontal(classes="param-row"):
            yield Label("name", classes="param-name")
            yield Input(
                kind.default_name,
                id=f"name-{kind.id}",
                validators=[NameValidator()],
                tooltip="The name the model is saved under",
                compact=True,
            )
        for spec in kind.params:
            yield ParamField(spec, f"param-{kind.id}-{spec.name}")
        yield SearchFields(kind, self.cursor_blink)

    def on_mount(self) -> None:
        """Follow the cursor-blink setting (off in snapshots)."""
        if not self.cursor_blink:
            for box in self.query(Input):
                box.cursor_blink = False

    def model_name(self) -> str:
        """The typed model name."""
        return self.query_one(f"#name-{self.kind.id}", Input).value.strip()

    def invalid_inputs(self) -> list[tuple[Input, str]]:
        """Inputs whose value is invalid, with the sentence."""
        bad: list[tuple[Input, str]] = []
        name_input = self.query_one(f"#name-{self.kind.id}", Input)
        result = name_input.validate(name_input.value)
        if result is not None and not result.is_valid:
            bad.append((name_input, result.failure_descriptions[0]))
        search = self.query_one(SearchFields)
        for field in self.query(ParamField):
            if search.enabled:
                break  # Search mode: the ranges count, not the values
            try:
                field.value()
            except ParamError as error:
                bad.append((field.input, str(error)))
        bad.extend(search.invalid_inputs())
        return bad

    def search_job(self) -> Any:
        """The Search mode's ``SearchJob``, or None when the kind is trained as set."""
        return self.query_one(SearchFields).job()

    def params(self) -> dict[str, Any]:
        """The parsed parameters (call after ``invalid_inputs`` is empty); none in Search
        mode, where the ranges say what is tried."""
        if self.query_one(SearchFields).enabled:
            return {}
        return {field.spec.name: field.value() for field in self.query(ParamField)}


class KindList(SelectionList[str]):
    """The model kinds; a space toggles the kind highlighted when it was pressed."""

    def _on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        # SelectionList toggles whatever is highlighted when this message is handled: a
        # space and an arrow that arrive together (over SSH) toggled the kind after the arrow.
        event.prevent_default()
        event.stop()
        self.toggle(self.get_option_at_index(event.option_index))


class TrainScreen(SectionScreen):
    """Train one or several model kinds on the loaded data."""

    TITLE_TEXT = "Train"
    BINDINGS: ClassVar[list[BindingType]] = [
        *section_bindings(),
        Binding(
            "ctrl+r",
            "train",
            "Train",
            tooltip="Train the ticked model kinds (saved automatically)",
            id="train-run",
        ),
        Binding(
            "escape",
            "cancel",
            "Cancel training",
            tooltip="Stop the running training; nothing is saved",
            id="train-cancel",
        ),
        Binding(
            "f4",
            "analyse",
            "Analyse",
            tooltip="Charts and errors of the model trained last",
            id="train-analyse",
        ),
        Binding(
            "f3",
            "save_again",
            "Save again",
            tooltip="Retry saving trained models whose save failed",
            id="train-save-again",
        ),
    ]

    def __init__(self, state: AppState, actions: Actions) -> None:
        super().__init__(state.store, state.settings)
        self.state = state
        """Names are free against the store and the models waiting to be saved."""
        self.data: DataState = state.data
        """What the models learn from (chosen in Data)."""
        self.training: TrainingState = state.training
        """The batch and its results."""
        self.actions = actions
        """Starts, cancels and saves trainings; opens the analysis."""
        self._progress_text: str = ""
        """What the running training is doing ("Random Forest: Fitted 10 of 100 trees")."""
        self._ticker: Any = None
        """Redraws the elapsed time every second while training runs."""
        self.kinds_task: str = state.data.resolved_task()
        """The task whose kinds are listed (follows the data's task choice)."""

    @classmethod
    def for_app(cls, state: AppState, actions: Actions) -> TrainScreen:
        """The Train section: it needs the whole state (data, names taken, training)."""
        return cls(state, actions)

    def compose_body(self) -> ComposeResult:
        """Kinds on the left, the form on the right, progress and results at the bottom."""
        with Horizontal(id="train-body"):
            with Vertical(id="train-kinds"):
                yield Label("Model kinds", classes="section-title")
                yield KindList(*self._kind_options(), id="kinds")
            with TabbedContent(id="train-tabs", initial="tab-setup"):
                with TabPane("Setup", id="tab-setup"), VerticalScroll(id="train-form"):
                    yield Static("", id="train-data")
                    yield TaskChoiceRow(self.data, id="train-task")
                    # The model's name and parameters first: at 80x24 whatever comes after
                    # the first screenful is out of view, and the split rarely changes.
                    # Only ticked kinds get a form: mounting all ten up front froze the first
                    # switch to this section for a few hundred ms.
                    for kind_id in DEFAULT_KINDS:
                        yield KindForm(kind_id, self.settings.cursor_blink, self.kinds_task)
                    yield Label(
                        "Split — shared by every model", classes="kind-title", id="split-title"
                    )
                    yield ParamField(
                        SPLIT_SPECS["test_size"], "split-test-size", classes="split-field"
                    )
                    yield ParamField(
                        SPLIT_SPECS["random_state"], "split-random-state", classes="split-field"
                    )
                    yield Checkbox(
                        "keep row order (test on the last rows)",
                        id="split-keep-order",
                        compact=True,
                        tooltip="Split without shuffling: the last rows become the test set",
                    )
                    yield ParamField(SPLIT_SPECS["cv_folds"], "split-cv", classes="split-field")
                with TabPane("Results", id="tab-results"), VerticalScroll(id="results-pane"):
                    yield Static("Nothing trained yet in this session.", id="train-results")
                    yield Vertical(id="train-charts")
        with Vertical(id="train-run"):
            with Horizontal(id="train-buttons"):
                yield Button("Train", id="train", variant="primary", compact=True)
                yield Button("Cancel", id="cancel", disabled=True, compact=True)
                yield Button("Save again", id="save-again", variant="warning", compact=True)
                yield ProgressBar(total=100, show_eta=False, id="train-progress")
            yield Static("", id="train-message")

    def on_mount(self) -> None:
        """Follow the data and the training; show only the forms of ticked kinds."""
        self.follow(self.data.loaded, self._describe_data)
        self.follow(self.data.target_changed, self._describe_data)
        training = self.training
        self.follow(training.started, self._training_started)
        self.follow(training.progress, self._training_progress)
        self.follow(training.results_changed, self._show_results)
        self.follow(training.finished, self._training_finished)
        super().on_mount()
        self._show_forms()
        self.query_one("#save-again").display = bool(training.unsaved)
        self.query_one("#train-progress").display = False
        if training.running:
            # A batch that started before this section was opened (a job followed again).
            self._training_started(training.jobs)

    def sync(self) -> None:
        """Show which data the models will be trained on."""
        self._describe_data(self.data)

    # ----- form ------------------------------------------------------------------------------

    def selected_kinds(self) -> list[str]:
        """Ticked kind ids in catalog order."""
        chosen = set(self.query_one("#kinds", SelectionList).selected)
        return [kind_id for kind_id in kinds_for(self.kinds_task) if kind_id in chosen]

    def _kind_options(self) -> list[tuple[str, str, bool]]:
        """(label, id, ticked) of the kinds of the current task."""
        kinds = kinds_for(self.kinds_task).values()
        return [(k.display_name, k.id, k.id in DEFAULT_KINDS) for k in kinds]

    def _follow_task(self) -> None:
        """List the kinds of the task the data asks for now (forms of the other task go)."""
        task = self.data.resolved_task()
        if task == self.kinds_task:
            return
        self.kinds_task = task
        kinds = self.query_one("#kinds", SelectionList)
        with kinds.prevent(SelectionList.SelectedChanged):
            kinds.clear_options()
            kinds.add_options(self._kind_options())
        # The forms of the other task go before the new ones mount: shared ids (a forest
        # of each task) would clash while both are in the DOM.
        self.call_later(self._replace_forms)

    async def _replace_forms(self) -> None:
        await self.query(KindForm).remove()
        self._show_forms()

    @on(SelectionList.SelectedChanged, "#kinds")
    def _show_forms(self) -> None:
        chosen = self.selected_kinds()
        forms = {f.kind.id: f for f in self.query(KindForm) if f.kind.task == self.kinds_task}
        for form in forms.values():
            form.display = form.kind.id in chosen
        container = self.query_one("#train-form", VerticalScroll)
        for kind_id in chosen:
            if kind_id not in forms:
                # Keep catalog order: insert before the first existing form that follows it.
                order = list(kinds_for(self.kinds_task))
                later = [f for k, f in forms.items() if order.index(k) > order.index(kind_id)]
                later.sort(key=lambda f: order.index(f.kind.id))
                form = KindForm(kind_id, self.settings.cursor_blink, self.kinds_task)
                # Forms sit above the split settings, in catalog order.
                container.mount(form, before=later[0] if later else "#split-title")
                forms[kind_id] = form
                # Show the form just opened, wherever the pane was scrolled to.
                self.call_after_refresh(container.scroll_to_widget, form, animate=False)

    def _describe_data(self, data: DataState) -> None:
        """Describe the data the models will learn from."""
        self._follow_task()
        line = self.query_one("#train-data", Static)
        if data.data is None:
            line.update("No data loaded: press d for Data and open a file or the sample.")
            line.add_class("-error")
            return
        line.remove_class("-error")
        line.update(
            f"{data.label()}: predict {data.target!r} from {len(data.features)} "
            "features (change them in Data)."
        )

    # ----- training ------------------------------------------------------------------------

    def action_train(self) -> None:
        """Check everything, resolve taken names, then start the training."""
        self._train()

    @on(Button.Pressed, "#train")
    def _train_pressed(self) -> None:
        self._train()

    def _message(self, text: str, *, error: bool = False) -> None:
        line = self.query_one("#train-message", Static)
        line.update(text)
        line.set_class(error, "-error")

    def check_form(self) -> tuple[list[tuple[str, dict[str, Any], str]], dict[str, Any]] | None:
        """(kind, params, name) per ticked kind and the split config, or None (message shown)."""
        data = self.data
        if self.training.running:
            self._message("A training is already running; press Esc to cancel it.", error=True)
            return None
        if data.data is None:
            self._message("Load data first: press d for Data.", error=True)
            return None
        if not data.target or not data.features:
            self._message("Choose a target and at least one feature in Data.", error=True)
            return None
        kinds = self.selected_kinds()
        if not kinds:
            self._message("Tick at least one model kind.", error=True)
            return None
        bad: list[tuple[Input, str]] = []
        split_fields = list(self.query(".split-field").results(ParamField))
        for field in split_fields:
            try:
                field.value()
            except ParamError as error:
                bad.append((field.input, str(error)))
        forms = {f.kind.id: f for f in self.query(KindForm) if f.kind.task == self.kinds_task}
        if any(kind_id not in forms for kind_id in kinds):
            self._message("The parameter forms are still opening; try again.", error=True)
            return None
        for kind_id in kinds:
            bad.extend(forms[kind_id].invalid_inputs())
        if bad:
            widget, sentence = bad[0]
            more = f" ({len(bad) - 1} more marked)" if len(bad) > 1 else ""
            self._message(f"Not trained: {sentence}{more}", error=True)
            self.query_one("#train-tabs", TabbedContent).active = "tab-setup"
            widget.focus()
            return None
        jobs = [(k, forms[k].params(), forms[k].model_name()) for k in kinds]
        names = [name for _, _, name in jobs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            self._message(f"Two ticked kinds share the name {duplicates[0]!r}.", error=True)
            return None
        split = {field.spec.name: field.value() for field in split_fields}
        config = {
            "target": data.target,
            "features": list(data.features),
            "test_size": split["test_size"],
            "random_state": split["random_state"],
            "keep_order": self.query_one("#split-keep-order", Checkbox).value,
            "cv_folds": split["cv_folds"],
            "task": data.task,
        }
        return jobs, config

    @work(exclusive=True, group="train-form")
    async def _train(self) -> None:
        from tuidash.ui.modals.name_taken import NEW_VERSION, NameTakenModal

        checked = self.check_form()
        if checked is None:
            return
        jobs, config = checked
        state = self.state
        train_jobs: list[TrainJob] = []
        for kind_id, params, name in jobs:
            replace = False
            if state.is_taken(name):
                saved = state.store.entries.get(name)
                versions = int(saved.get("versions") or 1) if saved is not None else None
                modal = NameTakenModal(
                    name, state.free_name(name), versions=versions, taken=state.taken_names()
                )
                choice = await self.app.push_screen_wait(modal)
                if choice is None:
                    self._message(
                        f"Not trained: the name {name!r} is taken by {modal.existing!r}."
                        if modal.existing != name
                        else f"Not trained: the name {name!r} is taken."
                    )
                    return
                if choice == NEW_VERSION:
                    replace = True
                else:
                    name = choice
                    self.query_one(f"#name-{kind_id}", Input).value = name
            search = self.query_one(f"#form-{kind_id}", KindForm).search_job()
            train_jobs.append(TrainJob(kind_id, params, name, replace, search))
        self.actions.start_training(train_jobs, config)

    def action_cancel(self) -> None:
        """Esc: ask, then cancel the running training (a stray Esc over a slow link must
        not throw away a long run)."""
        if not self.training.running:
            return
        from tuidash.ui.modals.confirm import ConfirmModal

        def chosen(yes: bool | None) -> None:
            if yes and self.training.running:
                self.actions.cancel_training()

        self.app.push_screen(
            ConfirmModal(
                "Stop the training?",
                "The models still training stop now and are not saved; those saved already stay.",
                "Stop training",
            ),
            chosen,
        )

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        """The Cancel button is a deliberate click: it cancels at once."""
        if self.training.running:
            self.actions.cancel_training()

    def action_analyse(self) -> None:
        """Analyse the model trained last (its saved metadata, or the unsaved result)."""
        if not self.training.last:
            self.notify("Train a model first.")
            return
        name, trained = list(self.training.last.items())[-1]
        meta = self.store.entries.get(name)
        if meta is None:
            meta = {k: v for k, v in trained.to_model_data().items() if k != "model"}
            meta["name"] = name
        self.actions.open_analysis(meta)

    def action_save_again(self) -> None:
        """Retry failed saves."""
        self.actions.save_again()

    @on(Button.Pressed, "#save-again")
    def _save_again_pressed(self) -> None:
        self.action_save_again()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Cancel only while training; Save again only with unsaved models."""
        if action == "cancel":
            return self.training.running
        if action == "save_again":
            return bool(self.training.unsaved) or None
        if action == "analyse":
            return bool(self.training.last) or None
        return True

    # ----- the training state ----------------------------------------------------------------

    def _training_started(self, jobs: list[TrainJob]) -> None:
        """Show the progress bar and enable Cancel."""
        self.query_one("#train", Button).disabled = True
        self.query_one("#cancel", Button).disabled = False
        bar = self.query_one("#train-progress", ProgressBar)
        bar.display = True
        bar.update(total=100, progress=0)
        names = ", ".join(job.name for job in jobs)
        self._message(f"Training {names}…")
        self.query_one("#train-results", Static).update("")
        self.query_one("#train-charts", Vertical).remove_children()
        self._progress_text = ""
        if self._ticker is not None:
            self._ticker.stop()
        self._ticker = self.set_interval(1.0, self._show_progress)
        self.refresh_bindings()

    def _training_progress(self, message: TrainingProgress) -> None:
        """Move the bar: each kind of the batch gets an equal share."""
        share = 100 / max(message.total, 1)
        done = share * (message.index + max(0.0, min(1.0, message.fraction)))
        self.query_one("#train-progress", ProgressBar).update(progress=done)
        kind = display_name_of(message.kind_id, self.kinds_task)
        prefix = f"{kind} ({message.index + 1}/{message.total})" if message.total > 1 else kind
        self._progress_text = f"{prefix}: {message.text}"
        self._show_progress()

    def _show_progress(self) -> None:
        """The step being done, the time it has taken and (once known) the time left."""
        if not self.training.running or not self._progress_text:
            return
        timing = self.training.progress_time_text()
        self._message(f"{self._progress_text} — {timing}" if timing else self._progress_text)

    def _training_finished(self, cancelled: bool) -> None:
        """Hide the bar, enable Train again."""
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker = None
        self.query_one("#train", Button).disabled = False
        self.query_one("#cancel", Button).disabled = True
        self.query_one("#train-progress", ProgressBar).display = False
        text, error = self._outcome_line(cancelled)
        self._message(text, error=error)
        self._show_results(self.training)
        self.refresh_bindings()
        if self.training.last or self.training.failed:
            self.query_one("#train-tabs", TabbedContent).active = "tab-results"
            self._draw_charts()

    def _outcome_line(self, cancelled: bool) -> tuple[str, bool]:
        """The status line after a batch and whether it is an error: what really happened."""
        training = self.training
        if cancelled:
            return "Training cancelled.", False
        failed = training.failed
        if not failed:
            return "Training finished.", False
        label, sentence = next(iter(failed.items()))
        if not training.last:
            if len(failed) > 1:
                more = len(failed) - 1
                return f"Nothing trained: {label}: {sentence} ({more} more in Results)", True
            if sentence.startswith("Not trained"):
                return sentence, True
            return f"{label} not trained: {sentence}", True
        count = len(failed)
        kinds = "kind was" if count == 1 else "kinds were"
        return f"Training finished; {count} {kinds} not trained (see Results).", True

    def _draw_charts(self) -> None:
        """One actual-vs-predicted chart per trained model (from its stored sample)."""
        from tuidash.core import analysis
        from tuidash.ui.widgets.charts import ActualPredictedChart
        from tuidash.ui.widgets.class_charts import ConfusionTable

        box = self.query_one("#train-charts", Vertical)
        box.remove_children()
        charts: list[Any] = []
        for name, trained in self.training.last.items():
            meta = {k: v for k, v in trained.to_model_data().items() if k != "model"}
            if analysis.is_classification(meta):
                # Labels are not numbers: the confusion matrix is the classifier's picture.
                table = ConfusionTable(analysis.confusion_matrix(meta), classes="train-table")
                table.border_title = name
                charts.append(table)
                continue
            series = analysis.actual_vs_predicted(analysis.prediction_sample(meta), 100)
            chart = ActualPredictedChart(series, classes="train-chart")
            chart.border_title = name
            charts.append(chart)
        box.mount_all(charts)

    def _show_results(self, training: TrainingState) -> None:
        """The metrics of each trained model and whether it is saved; the kinds that failed."""
        lines: list[Text] = []
        for name, trained in training.last.items():
            metrics = trained.metrics
            parts = [
                metric_line(m, metrics.values.get(m), metrics.reasons)
                for m in result_metrics(getattr(trained, "task", "regression"))
                if m in metrics.values
            ]
            if name in training.unsaved:
                reason = training.save_failures.get(name)
                state = f"not saved: {reason} (F3 saves again)" if reason else "saving…"
            else:
                state = "saved"
            lines.append(Text.assemble((name, "bold"), f" — {state}\n  " + " · ".join(parts)))
            if getattr(trained, "task", "regression") == "classification":
                lines.append(Text(f"  {trained.task_reason}", style="dim"))
            cv = getattr(trained, "cv", None)
            if cv:
                lines.append(
                    Text(
                        f"  CV {cv.get('folds')} folds: {cv.get('metric') or 'R2'} "
                        f"{number_text(cv.get('mean', 0))} ± {number_text(cv.get('std', 0))}"
                    )
                )
            search = getattr(trained, "search", None)
            if search:
                lines.append(Text(f"  {search_summary(search)} (F4: candidates)"))
        lines.extend(
            Text.assemble((label, "bold"), f" — not trained: {why}")
            for label, why in training.failed.items()
        )
        self.query_one("#train-results", Static).update(Text("\n").join(lines))
        self.query_one("#save-again").display = bool(training.unsaved)
        self.refresh_bindings()
