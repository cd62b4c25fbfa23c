"""What one training batch did, gathered for its one summary notification."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class BatchOutcome:
    """What one training batch did, gathered for its one summary notification."""

    batch: int
    """The batch's number (messages carry it)."""
    kinds: int
    """How many model kinds the batch was asked to train."""
    trained: list[str] = field(default_factory=list)
    """Names of the models trained, in order (renamed when a save chose a free name)."""
    saved: list[str] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    """Saved models that are a new version of a taken name, with the version number."""
    not_saved: dict[str, str] = field(default_factory=dict)
    """Trained models whose save failed, with the sentence."""
    failed: dict[str, str] = field(default_factory=dict)
    """Kinds that could not be trained (display name), with the sentence."""
    done: bool = False
    """Every kind has been handled (or the batch was cancelled)."""
    cancelled: bool = False
    reported: bool = False
    """The summary has been shown."""

    def settled(self) -> bool:
        """Done, and every trained model is saved or known not to be."""
        return self.done and all(n in self.saved or n in self.not_saved for n in self.trained)

    def summary(self) -> tuple[str, str, str | None]:
        """(text, severity, title) of the batch's one notification."""
        # Saves finish in any order; the summary lists models in the order they were trained.
        saved = [n for n in self.trained if n in self.saved]
        not_saved, failed = self.not_saved, self.failed
        if self.cancelled:
            if not saved:
                return "Training cancelled; nothing was saved.", "warning", None
            return (
                f"Training cancelled; saved {listed(saved)} before it stopped.",
                "warning",
                None,
            )
        if len(saved) == 1 and not not_saved and not failed:
            version = self.versions.get(saved[0])
            if version is not None:
                return (
                    f"{saved[0]} trained and saved to disk as version {version}",
                    "information",
                    None,
                )
            return f"{saved[0]} trained and saved to disk", "information", None
        if self.kinds == 1 and len(failed) == 1:
            label, sentence = next(iter(failed.items()))
            return sentence, "error", f"{label} not trained"
        parts = []
        if saved:
            parts.append(f"saved {listed(saved)}")
        if not_saved:
            first = next(iter(not_saved.values()))
            parts.append(
                f"{len(not_saved)} not saved: {listed(list(not_saved))} ({first} "
                "F3 on Train saves again; quitting offers another folder)"
            )
        if failed:
            parts.append(f"{len(failed)} failed: {listed(list(failed))} (see Results)")
        count = len(self.trained)
        head = f"Trained {count} model{'s' if count != 1 else ''}"
        severity = "information" if not (not_saved or failed) else "warning"
        if not saved:
            severity = "error"
        return f"{head}: {'; '.join(parts)}.", severity, "Training finished"


def listed(names: list[str], limit: int = 3) -> str:
    """'A', 'A and B', 'A, B and C', 'A, B, C and 2 more'."""
    if len(names) > limit:
        return f"{', '.join(names[:limit])} and {len(names) - limit} more"
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} and {names[-1]}"
