"""``tuidash train … --search grid|random`` and ``--cluster``: the search options of ``train``.

A search tries candidates of the model's parameters with k-fold cross-validation (``--cv``,
default 5), refits the best on the whole training split and saves it like any model; its
JSON keeps the candidates. ``--cluster tcp://HOST:8786`` (or ``$TUIDASH_DASK_SCHEDULER``)
runs the fits on a Dask cluster; without a search it grows a forest's trees there.

The JSON document is train's (see ``tuidash.cli.train``) plus ``search`` (null, or {method,
metric, higher_is_better, cv, splitter, space, candidates_tried, fits, failed_fits, best
{params, mean, std}, top [{rank, params, mean, std}] (the best ten)}) and ``cluster`` (null,
or {address, workers, threads, memory_bytes}).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tuidash.cli.common import (
    CommandError,
    UsageError,
    format_table,
    metrics_table,
    open_store,
    print_json,
    whole_in,
)

DEFAULT_N_ITER = 20
"""Candidates of a random search without ``--n-iter``."""

EXAMPLES = (
    "search examples:\n"
    "  tuidash train houses.csv --target price --model random_forest \\\n"
    "      --search random --n-iter 40 --cv 5 --param-range n_estimators=50:500\n"
    "  tuidash train sample --target target --model ridge --search grid \\\n"
    "      --param-range alpha=0.001:100:log --metric RMSE --cluster tcp://10.0.0.5:8786\n"
    "A range is NAME=LOW:HIGH (LOW:HIGH:log for several decades) or a list NAME=A,B,C\n"
    "(none for an empty value; layer sizes as 100|64,32). Parameters without a range search\n"
    "their defaults; --param fixes a parameter instead.\n"
)
"""The search part of ``train``'s help."""


def add_options(parser: argparse.ArgumentParser) -> None:
    """The search and cluster options of ``train``."""
    group = parser.add_argument_group("parameter search and Dask cluster")
    group.add_argument(
        "--search",
        choices=("random", "grid"),
        help="search the parameters: random candidates or every grid combination",
    )
    group.add_argument(
        "--n-iter",
        type=candidates,
        metavar="N",
        help="candidates of a random search, 1 or more (default 20; --search random only)",
    )
    group.add_argument(
        "--param-range",
        action="append",
        default=[],
        metavar="NAME=LOW:HIGH",
        help="a search range (or NAME=A,B,C); repeat for several; others use defaults",
    )
    group.add_argument(
        "--metric",
        metavar="M",
        help="the metric a search optimises (default R2; MAE, MSE, RMSE, MAPE; "
        "classification: Accuracy, F1 ...)",
    )
    group.add_argument(
        "--jobs",
        type=whole_in(1, also=-1),
        metavar="N",
        help="local processes for a search's fits (default 1; -1: every core)",
    )
    group.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="a Dask scheduler (tcp://HOST:8786) to run on; default $TUIDASH_DASK_SCHEDULER",
    )


def candidates(text: str) -> int:
    """An argparse type: ``--n-iter``, from 1 to the most candidates a search tries (so that
    a bad one is a usage error, not a job that fails)."""
    # Imported when the option is given: the search modules are not needed for --help.
    from tuidash.core.search.space import MAX_CANDIDATES

    return whole_in(1, MAX_CANDIDATES)(text)


def wanted(args: argparse.Namespace) -> bool:
    """Whether this run is a search or runs on a cluster (else plain ``train``)."""
    from tuidash.services.search import cluster_address

    if args.n_iter is not None and args.search != "random":
        how = (
            "a grid search tries every combination, so leave --n-iter out."
            if args.search == "grid"
            else "add --search random."
        )
        raise UsageError(f"--n-iter is for --search random; {how}")
    used = ("param_range", "metric", "jobs")
    if args.search is None and any(_given(args, name) for name in used):
        raise UsageError(
            "--param-range, --metric and --jobs belong to a search; "
            "add --search random or --search grid."
        )
    return args.search is not None or cluster_address(args.cluster) is not None


def _given(args: argparse.Namespace, name: str) -> bool:
    return bool(getattr(args, name, None))


def run(args: argparse.Namespace, request: Any, display_name: str) -> int:
    """Search (or train on a cluster), save and report; ``request`` is train's request."""
    from tuidash.cli import train as train_cli
    from tuidash.core.search import SearchSpec, ranged_names
    from tuidash.services import search as searching
    from tuidash.services import workflows

    address = searching.cluster_address(args.cluster)
    spec: SearchSpec | None = None
    if args.search is not None:
        spec = SearchSpec(
            method=args.search,
            n_iter=args.n_iter if args.n_iter is not None else DEFAULT_N_ITER,
            cv=args.cv if args.cv is not None else 5,
            metric=args.metric,
            ranges=list(args.param_range),
            n_jobs=args.jobs,
        )
        request.cv_folds = None  # the search's folds; the refit is not cross-validated again
        searching.check_search(request, spec)
        both = sorted(ranged_names(spec.ranges) & {key for key, _ in args.param or []})
        if both:
            which = " and ".join(repr(name) for name in both)
            raise CommandError(
                f"{which} got both a value (--param) and a range (--param-range); "
                "give a value to fix it or a range to search it, not both."
            )
    else:
        workflows.check_request(request)
    store = open_store(args, create=True)
    assert store is not None
    # A search runs as a job like any training (attached; --detach; Ctrl-C cancels it).
    summary = train_cli._train_as_job(args, store, request, search=spec, cluster=address)
    if summary is None:
        return 0  # --detach: the job id is printed
    saved_name = str(summary["name"])
    display_name = str(summary.get("display_name") or display_name)
    report = train_cli._report_of_job(summary, display_name, str(store.base_dir), args.target)
    row = next(
        (e for e in store.list_saved_models(predictions=False) if e.get("name") == saved_name),
        {},
    )
    version = row.get("version") or 1
    report.update(
        replaced=version > 1,
        version=version,
        versions=row.get("versions") or 1,
        message=summary.get("message"),
        search=summary.get("search"),
        cluster=summary.get("cluster"),
    )
    for note in report["notes"]:
        print(f"tuidash: note: {note}", file=sys.stderr)
    if args.json:
        print_json(report)
        return 0
    shown = "the diabetes sample" if workflows.is_sample(args.data) else args.data
    cluster = report["cluster"]
    where = f" on {cluster['address']}" if cluster else ""
    record = report["search"]
    if record is not None:
        print(
            f"Searched {display_name} on {shown}{where}: {record['candidates_tried']} candidates "
            f"× {record['cv']} folds ({record['method']}), by {record['metric']}."
        )
    else:
        print(f"Trained {display_name} on {shown}{where}.")
    if cluster:
        c = cluster
        print(f"Cluster: {c['workers']} workers, {c['threads']} threads.")
    print(f"Saved as {saved_name!r} in {store.base_dir} (version {version}).")
    if record is not None:
        print()
        print(candidates_table(record, limit=10))
    print()
    print(metrics_table(report["metrics"], report["metric_reasons"]))
    return 0


def candidates_table(record: dict[str, Any], limit: int = 10) -> str:
    """The best candidates as a text table: rank, mean, std, the parameters (as the
    dashboard's Search tab shows them)."""
    from tuidash.core.search import candidate_cells

    if "candidates" not in record:  # a job's summary: the best ten as "top"
        record = {**record, "candidates": record.get("top") or []}
    headers, rows = candidate_cells(record)
    return format_table(headers, rows[:limit], right=(0, 1, 2))
