"""The crash-safe pkl + JSON model store (``saved_models/``).

Layout (the original Streamlit app's, so either app opens the other's store)::

    BASE/models/STEM.pkl        the latest version's fitted estimator, pickle protocol 5
    BASE/metadata/STEM.json     commit marker + everything shown without unpickling
    BASE/versions/STEM/vN.pkl|json   every earlier version, immutable (hard links)
    BASE/versions/STEM/history.jsonl append-only: saves, alias moves, roll-backs, deletes
    BASE/.tuidash.lock          writer lock (filelock)

STEM is the name with spaces, ``/`` and ``\\`` replaced by ``_`` (the original app's rule;
``model_name`` in the JSON keeps the name). Every save of a taken name makes a new version;
``NAME@vN`` and ``NAME@ALIAS`` address versions wherever the store takes a name (see
``versions`` for how each versioned write stays old-or-new).

How a save stays old-or-new after a crash at any instant (power loss included):

0. if the name has a latest version, it is kept first: ``versions/STEM/vN.pkl`` and
   ``vN.json`` become second names (hard links) of its pickle and JSON, and that folder
   is fsynced, so the version being replaced is durable before anything is replaced;
1. the pickle is streamed to ``models/.tuidash-tmp-*`` (sha256 computed by a thread as
   it is written) and the new JSON to the name's *pending* file
   ``models/.tuidash-pending-<hash of name>.json``; both are fsynced;
2. ``os.replace`` puts the pickle in place and the models folder is fsynced, which makes
   the new pickle and the pending file durable together;
3. ``os.replace`` moves the pending file to ``metadata/STEM.json`` (the commit) and the
   metadata folder is fsynced;
4. the save is appended to ``versions/STEM/history.jsonl`` (if that fails, the save is
   undone like any failed save; a crash between 3 and 4 loses only the history line).

A reader that finds a pickle whose sha256 does not match ``STEM.json`` looks at the
name's pending file: if that matches the pickle, the save got past step 2 and the new
version is what it reads. The next writer or start-up rolls such a pending file forward
(or deletes it when it does not match), under the writer lock, and removes leftover
temp files. Readers take no lock and never see a torn file: every file they read was
complete before it got its final name, and the bytes they unpickle are the bytes they
hashed.

Loading never runs code from a file: see ``tuidash.core.unpickle``. Listing reads JSON
only; it never unpickles and never imports sklearn.

The modules, from the bottom up (each imports only those above it in this list):

- ``names``: which names are allowed, which share files, free names, each file's key;
- ``durable``: new files written whole and fsynced, folder fsyncs, hashed reads;
- ``backend``: the one file-system interface (``StoreBackend``) and ``LocalBackend``;
- ``remote_cache``: the download cache of remote stores (pickles by digest on this disk);
- ``remote_lock``: a remote store's writer lock (an object with a lease and a heartbeat)
  and the conditional writes it rests on;
- ``remote``: ``RemoteBackend``, a store in S3 or another fsspec file system (a URL as
  the store's location): no rename, so conditional writes, the lock object, the cache;
- ``documents``: the metadata JSON: built, checked, turned into listing rows;
- ``index``: the listing cache ``.tuidash-index.json``, checked against stat signatures;
- ``commit``: the save sequence above, its roll-back and crash recovery;
- ``versions``: earlier versions, history, moving an earlier tuidash's files to the STEM,
  rename, and the clean-up of interrupted writes;
- ``listing``: rows and problem rows from two folder scans and the cache;
- ``loading``: read, verify the digest, unpickle (restricted), hash ahead;
- ``base``: ``StoreBase``: opening, references (``NAME@vN``), the writer lock, the steps
  every write takes under it;
- ``registry``: ``VersionRegistry``: versions, history, aliases, notes and tags,
  roll-back, rename, prune;
- ``store``: ``ModelStore``, the store with one API that raises ``StoreError``s (save,
  open, load many, delete, clear, report, and the version operations it inherits);
- ``legacy``: ``ModelPersistence``, the original app's tuple API over ``ModelStore``.

Errors are ``tuidash.core.errors.StoreError`` and its subclasses.
"""

from tuidash.core.errors import (
    InvalidModelData,
    InvalidModelName,
    ModelDamaged,
    ModelExists,
    ModelNotFound,
    ModelRefused,
    StoreError,
    StoreWriteError,
)
from tuidash.core.store.backend import LocalBackend, StoreBackend
from tuidash.core.store.base import LOCK_TIMEOUT
from tuidash.core.store.documents import (
    MAX_JSON_BYTES,
    METRIC_NAMES,
    ORIGINAL_KEYS,
    SCHEMA_VERSION,
    current_environment,
    environment_mismatch,
)
from tuidash.core.store.legacy import ModelPersistence
from tuidash.core.store.names import (
    INDEX_NAME,
    LOCK_NAME,
    MAX_NAME_BYTES,
    METADATA_DIR,
    MODELS_DIR,
    PENDING_PREFIX,
    TMP_PREFIX,
    VERSIONS_DIR,
    alias_problem,
    free_name,
    name_problem,
    parse_ref,
    stem,
)
from tuidash.core.store.store import LoadEvent, ModelStore

__all__ = [
    "INDEX_NAME",
    "LOCK_NAME",
    "LOCK_TIMEOUT",
    "MAX_JSON_BYTES",
    "MAX_NAME_BYTES",
    "METADATA_DIR",
    "METRIC_NAMES",
    "MODELS_DIR",
    "ORIGINAL_KEYS",
    "PENDING_PREFIX",
    "SCHEMA_VERSION",
    "TMP_PREFIX",
    "VERSIONS_DIR",
    "InvalidModelData",
    "InvalidModelName",
    "LoadEvent",
    "LocalBackend",
    "ModelDamaged",
    "ModelExists",
    "ModelNotFound",
    "ModelPersistence",
    "ModelRefused",
    "ModelStore",
    "StoreBackend",
    "StoreError",
    "StoreWriteError",
    "alias_problem",
    "current_environment",
    "environment_mismatch",
    "free_name",
    "name_problem",
    "parse_ref",
    "stem",
]
