"""A large pickle's checksum is the same whether it is hashed mapped or read through a buffer,
and a byte flipped in the middle changes it."""

from __future__ import annotations

import os

import pytest

from tuidash.core.store import durable


@pytest.fixture
def large_file(tmp_path):
    path = tmp_path / "big.pkl"
    data = os.urandom(durable.HASH_IN_THREAD_BYTES + 12345)
    path.write_bytes(data)
    return path, data


def _digest(path, want=True):
    payload, digest = durable.read_hashed(path, want)
    handle = payload.handle
    try:
        assert handle.tell() == 0  # handed over at the start, for the unpickler
        return digest, handle.read()
    finally:
        handle.close()


def test_a_large_file_hashed_mapped_matches_its_bytes(large_file):
    path, data = large_file
    digest, read = _digest(path)
    assert digest == durable.digest_of(data)
    assert read == data


def test_where_a_file_cannot_be_mapped_it_is_read_with_the_same_checksum(large_file, monkeypatch):
    path, data = large_file
    monkeypatch.setattr(durable, "_hash_mapped", lambda fd, kind: None)
    digest, read = _digest(path)
    assert digest == durable.digest_of(data)
    assert read == data


def test_sha256_entries_are_hashed_mapped_too(large_file):
    path, data = large_file
    payload, digest = durable.read_hashed(path, True, kind="sha256")
    payload.handle.close()
    assert digest == durable.digest_of(data, "sha256")


def test_a_flipped_byte_in_the_middle_changes_the_mapped_checksum(large_file):
    path, data = large_file
    before, _ = _digest(path)
    flipped = bytearray(data)
    flipped[len(flipped) // 2] ^= 0xFF
    path.write_bytes(bytes(flipped))
    after, _ = _digest(path)
    assert after != before
    assert after == durable.digest_of(bytes(flipped))
