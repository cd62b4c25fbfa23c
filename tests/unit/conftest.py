"""Fixtures of the store tests: a real S3 API on 127.0.0.1 (moto's server) and a store
that is either a folder or a prefix in a bucket of it (``store_on`` below)."""

from __future__ import annotations

import itertools
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_buckets = itertools.count(1)


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """moto's S3 server on a free port of 127.0.0.1 (as s3fs tests itself), one a session."""
    pytest.importorskip("s3fs")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_env(moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The AWS settings of moto's server (dummy credentials), a fresh moto and a download
    cache in the test's tmp dir; returns the endpoint."""
    request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request).close()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("TUIDASH_STORAGE_OPTIONS", raising=False)
    monkeypatch.setenv("TUIDASH_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))  # jobs of store URLs
    return moto_endpoint


@pytest.fixture
def s3_url(s3_env: str) -> str:
    """``s3://BUCKET/store``: a new bucket of moto's server, for this test alone."""
    import boto3

    bucket = f"tuidash-test-{next(_buckets)}"
    boto3.client("s3", endpoint_url=s3_env).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/store"


@pytest.fixture
def s3_fs(s3_env: str) -> Any:
    """An s3fs file system on moto's server (to look at or change objects directly)."""
    import s3fs

    return s3fs.S3FileSystem(
        endpoint_url=s3_env, skip_instance_cache=True, use_listings_cache=False
    )
