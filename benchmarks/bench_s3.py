"""Benchmark a store in S3 (moto's server on 127.0.0.1) against the same store on disk.

    python benchmarks/bench_s3.py [--models 1000] [--big-mb 100] [--repeat 3]

Prints a markdown table: requests and time to list N models (remote vs local, the
listing index warm and cold), and to load a large model from S3 cold (download, digest,
unpickle) and from the local download cache (a restart), each against the same load from
a local store. Target (DESIGN.md): remote listing costs a fixed number of requests,
whatever the number of models. Never part of the test run; needs ``tuidash[s3]`` and
``moto[server]``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit"))


def best_of(repeat: int, func: Callable[[], Any], setup: Callable[[], Any] | None = None) -> float:
    """Fastest wall time of ``repeat`` runs (setup not timed)."""
    best = float("inf")
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def fill_local(store_dir: Path, count: int) -> None:
    """``count`` models: one real save, then its files copied under other names."""
    from store_helpers import model_data

    from tuidash.core.store import ModelPersistence
    from tuidash.core.store.names import stem

    ModelPersistence(store_dir).save_model("model 0", model_data())
    pkl = (store_dir / "models" / "model_0.pkl").read_bytes()
    doc = json.loads((store_dir / "metadata" / "model_0.json").read_text())
    for number in range(1, count):
        name = f"model {number}"
        doc["model_name"] = name
        doc["model_file"]["name"] = f"{stem(name)}.pkl"
        (store_dir / "models" / f"{stem(name)}.pkl").write_bytes(pkl)
        (store_dir / "metadata" / f"{stem(name)}.json").write_text(json.dumps(doc))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, default=1000)
    parser.add_argument("--big-mb", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    work = Path(tempfile.mkdtemp(prefix="tuidash-bench-s3-"))
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_ENDPOINT_URL=endpoint,
        TUIDASH_CACHE_DIR=str(work / "cache"),
    )
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    import boto3
    import numpy as np
    import s3fs
    from store_helpers import fitted, model_data

    from tuidash.core.store import ModelPersistence

    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="bench")
    fs = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
    rows: list[tuple[str, str, str, str, str]] = []
    try:
        # -- listing N models ------------------------------------------------------------
        local_dir = work / "local"
        fill_local(local_dir, args.models)
        fs.put(f"{local_dir}/", "bench/listing", recursive=True)  # `aws s3 sync`
        url = "s3://bench/listing"
        local = ModelPersistence(local_dir)
        remote = ModelPersistence(url)

        def cold_remote() -> None:
            fs.rm_file("bench/listing/.tuidash-index.json")

        before = remote.backend.requests
        cold = best_of(1, lambda: remote.list_models(predictions=False), cold_remote)
        cold_requests = remote.backend.requests - before
        local_cold = best_of(
            args.repeat,
            lambda: local.list_models(predictions=False),
            lambda: (local_dir / ".tuidash-index.json").unlink(missing_ok=True),
        )
        local.list_models(predictions=False)
        remote.list_models(predictions=False)
        local_warm = best_of(args.repeat, lambda: local.list_models(predictions=False))
        before = remote.backend.requests
        warm = best_of(args.repeat, lambda: remote.list_models(predictions=False))
        warm_requests = (remote.backend.requests - before) // args.repeat
        small = ModelPersistence("s3://bench/few")
        for number in range(3):
            small.save_model(f"m{number}", model_data())
        small.list_models(predictions=False)
        before = small.backend.requests
        small.list_models(predictions=False)
        few_requests = small.backend.requests - before
        n = args.models
        rows.append(
            (
                f"list {n} models, index warm",
                f"{local_warm * 1000:.1f} ms",
                f"{warm * 1000:.1f} ms",
                f"{warm / local_warm:.1f}x",
                f"{warm_requests} (3 models: {few_requests})",
            )
        )
        rows.append(
            (
                f"list {n} models, no index",
                f"{local_cold * 1000:.1f} ms",
                f"{cold * 1000:.1f} ms",
                f"{cold / local_cold:.1f}x",
                f"{cold_requests}",
            )
        )

        # -- loading a large model -------------------------------------------------------
        model = fitted("ridge")
        model.steps[-1][1].padding_ = np.random.default_rng(1).random(
            args.big_mb * 1024 * 1024 // 8
        )
        data = model_data(model)
        big_local = ModelPersistence(work / "big")
        big_local.save_model("Big", data)
        big_url = "s3://bench/big"
        start = time.perf_counter()
        ModelPersistence(big_url).save_model("Big", data)
        upload = time.perf_counter() - start
        local_load = best_of(args.repeat, lambda: big_local.load_model("Big"))

        def empty_cache() -> None:
            shutil.rmtree(work / "cache", ignore_errors=True)

        loads: dict[str, tuple[float, int]] = {}
        for label, setup in (("cold", empty_cache), ("cache", None)):
            best, requests = float("inf"), 0
            for _ in range(args.repeat):
                if setup is not None:
                    setup()
                store = ModelPersistence(big_url)  # a new process: nothing in memory
                before = store.backend.requests
                start = time.perf_counter()
                assert store.load_model("Big") is not None, store.last_error
                best = min(best, time.perf_counter() - start)
                requests = store.backend.requests - before
            loads[label] = (best, requests)
        rows.append(
            (
                f"load a {args.big_mb} MB model, cold (download)",
                f"{local_load * 1000:.0f} ms",
                f"{loads['cold'][0] * 1000:.0f} ms",
                f"{loads['cold'][0] / local_load:.1f}x",
                f"{loads['cold'][1]}",
            )
        )
        rows.append(
            (
                f"load a {args.big_mb} MB model, from the cache",
                f"{local_load * 1000:.0f} ms",
                f"{loads['cache'][0] * 1000:.0f} ms",
                f"{loads['cache'][0] / local_load:.1f}x",
                f"{loads['cache'][1]}",
            )
        )
        rows.append(
            (
                f"save a {args.big_mb} MB model (upload)",
                "",
                f"{upload * 1000:.0f} ms",
                "",
                "",
            )
        )
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)

    print("| what | local disk | S3 (moto, 127.0.0.1) | ratio | requests (S3) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
