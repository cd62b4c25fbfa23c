"""Running the parallel parts of a fit on a Dask cluster, or on the local cores.

A ``Cluster`` is a connection to a Dask scheduler (``tcp://HOST:8786``); its ``parallel``
context routes joblib (the candidates and folds of a search, the trees of a forest) to the
cluster's workers through joblib's ``dask`` backend, with the data broadcast to the workers
once (``scatter``) instead of being sent with every task. ``local_parallel`` is the same
context on this machine's cores (joblib's default backend).

The workers need tuidash and the same scikit-learn as this process: the tasks are tuidash
functions and the pickled pipeline refers to sklearn classes.

``distributed`` (the ``cluster`` extra) is imported only when a cluster is used. Pure Python:
no UI imports.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from tuidash.core.errors import TuidashError
from tuidash.core.text import size_text

SCHEDULER_ENV = "TUIDASH_DASK_SCHEDULER"
"""The environment variable naming the scheduler when no address is given."""

CONNECT_SECONDS = 5.0
"""How long connecting to a scheduler may take before it counts as unreachable."""

_ADDRESS = re.compile(r"^(tcp|tls|ws|wss|inproc)://[^\s/]+$")


class ClusterError(TuidashError):
    """The cluster cannot be used: not installed, a bad address, unreachable, or it failed."""


@dataclass(frozen=True)
class ClusterInfo:
    """What a person wants to know about a cluster: where it is and what it has."""

    address: str
    workers: int
    threads: int
    memory_bytes: int

    def text(self) -> str:
        """ "tcp://10.0.0.5:8786: 2 workers, 4 threads, 8.0 GB"."""
        workers = f"{self.workers} worker{'s' if self.workers != 1 else ''}"
        threads = f"{self.threads} thread{'s' if self.threads != 1 else ''}"
        memory = size_text(self.memory_bytes) if self.memory_bytes else "memory unknown"
        return f"{self.address}: {workers}, {threads}, {memory}"

    def as_json(self) -> dict[str, Any]:
        """The ``cluster`` record of a model's JSON."""
        return {
            "address": self.address,
            "workers": self.workers,
            "threads": self.threads,
            "memory_bytes": self.memory_bytes,
        }


def scheduler_address(given: str | None = None) -> str | None:
    """The scheduler to use: ``given``, else ``$TUIDASH_DASK_SCHEDULER``, else None (local).

    A bare ``HOST:PORT`` means ``tcp://HOST:PORT``; anything else raises one sentence.
    """
    raw = given if given is not None else os.environ.get(SCHEDULER_ENV)
    if raw is None or not raw.strip():
        return None
    address = raw.strip()
    if "://" not in address:
        address = f"tcp://{address}"
    if not _ADDRESS.match(address):
        raise ClusterError(f"{raw!r} is not a Dask scheduler address; write it as tcp://HOST:8786.")
    return address


class Cluster:
    """A connection to a Dask scheduler; ``parallel()`` sends joblib's work there."""

    def __init__(self, address: str, client: Any) -> None:
        self.address = address
        """The scheduler's address as the person gave it."""
        self.client = client
        """The ``distributed.Client`` (not the process-wide default client)."""

    @classmethod
    def connect(cls, address: str, timeout: float = CONNECT_SECONDS) -> Cluster:
        """Connect to the scheduler at ``address`` or raise ``ClusterError`` (one sentence)."""
        address = scheduler_address(address) or address
        try:
            from distributed import Client
        except ImportError:
            raise ClusterError(
                "Running on a Dask cluster needs the cluster extra: pip install 'tuidash[cluster]'."
            ) from None
        try:
            client = Client(address, timeout=timeout, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as error:
            raise ClusterError(
                f"The Dask scheduler at {address} cannot be reached ({_reason(error)}); "
                "check the address and that the scheduler is running."
            ) from None
        except ValueError as error:
            raise ClusterError(
                f"{address} is not a usable Dask address: {_reason(error)}."
            ) from None
        return cls(address, client)

    def info(self) -> ClusterInfo:
        """The cluster's workers, threads and memory as the scheduler reports them now."""
        try:
            workers = dict(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        except TypeError:  # older distributed: no n_workers argument
            workers = dict(self.client.scheduler_info().get("workers", {}))
        except (OSError, TimeoutError) as error:
            raise ClusterError(
                f"The Dask scheduler at {self.address} stopped answering ({_reason(error)})."
            ) from None
        threads = sum(int(w.get("nthreads", 0) or 0) for w in workers.values())
        memory = sum(int(w.get("memory_limit", 0) or 0) for w in workers.values())
        return ClusterInfo(self.address, len(workers), threads, memory)

    @contextlib.contextmanager
    def parallel(self, scatter: Sequence[Any] = ()) -> Iterator[None]:
        """joblib work inside this context runs on the cluster; ``scatter`` is sent once.

        Only calls that ask for several jobs go to the cluster (a forest's ``n_jobs=-1``, the
        search's fits); calls that leave ``n_jobs`` unset (a column transformer) stay in this
        process, where they cost less than a round trip.
        """
        import joblib

        config = joblib.parallel_config(
            backend="dask", n_jobs=1, client=self.client, scatter=list(scatter) or None
        )
        with config:
            yield

    def close(self) -> None:
        """Disconnect (the cluster itself keeps running)."""
        with contextlib.suppress(Exception):
            self.client.close()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def cluster_failure(error: BaseException, address: str) -> ClusterError:
    """The one sentence for a search that the cluster could not finish."""
    return ClusterError(
        f"The search failed on the cluster at {address} ({_reason(error)}); nothing was saved."
    )


def is_cluster_failure(error: BaseException) -> bool:
    """Whether an exception comes from the cluster (a lost worker, a closed connection)."""
    module = type(error).__module__ or ""
    if module.startswith(("distributed", "tornado")):
        return True
    return isinstance(error, OSError | TimeoutError) or type(error).__name__ in (
        "KilledWorker",
        "CancelledError",
        "FutureCancelledError",
    )


def _reason(error: BaseException) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text.rstrip(".")[:200]
