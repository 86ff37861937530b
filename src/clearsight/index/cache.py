"""PDQ indexes kept on disk, one per bank, rebuilt only when the bank's content changed.

A cached index is two files under ``CLEARSIGHT_HOME/indexes``:

- ``pdq-<bank uid>.npz``: the arrays, raw (numpy's uncompressed .npz, read back with
  pickling refused);
- ``pdq-<bank uid>.json``: a manifest naming the bank, the revision the index was built
  from, its layout, and a SHA-256 of the arrays.

An index is used only when its manifest names the bank's current revision and its
arrays hash to the manifest's checksum; anything else (a newer bank, a torn write, a
damaged file) is rebuilt from the bank store. So the folder is only a cache: deleting
it costs a rebuild, never a wrong match. Files are written beside their final name and
renamed into place, so a reader never sees half an index.

Small banks are not cached: brute force over a few thousand codes is as fast as any
index, and needs no compiled code.

Banks that keep local features (own banks) also get their feature-word index
(:mod:`clearsight.index.feature_words`) cached the same way, as ``words-<bank
uid>.npz`` and ``.json``: reading every entry's keypoints back from the bank store takes
minutes at 10^5 entries, loading the arrays well under a second.

A cache made with ``mapped=True`` maps the arrays instead of reading them
(:mod:`clearsight.index.mapped`): processes that load one index share its pages. A
matching service may also take an index of an older revision of the bank
(:meth:`PdqIndexCache.load_cached`) and catch it up with the bank's change log.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np
import numpy.typing as npt

from clearsight.home import clearsight_home
from clearsight.index.feature_words import FeatureWordIndex
from clearsight.index.mapped import load_mapped
from clearsight.index.mih import MihLayout, MultiIndexPdqIndex
from clearsight.index.pdq_index import BruteForcePdqIndex, Codes, PdqIndex

INDEX_FORMAT = 2  # 2: each code's variant is kept
BRUTE_FORCE_BELOW = 50_000
"""Banks with fewer PDQ codes than this are searched by brute force, uncached."""

EntryIds = npt.NDArray[np.int64]


class IndexedBank(Protocol):
    """What the cache needs to know of a bank: who it is, which content, and the
    radius its index is laid out for. A bank store's ``BankTarget`` is one."""

    @property
    def name(self) -> str: ...

    @property
    def uid(self) -> str: ...

    @property
    def revision(self) -> int: ...

    @property
    def pdq_threshold(self) -> int: ...


@dataclass(frozen=True)
class PdqArrays:
    """A bank's PDQ codes as (n, 4) big-endian words, each code's entry, and which view
    of the entry's picture it hashes: ``variants`` indexes ``variant_names``, where
    0 (the name "") is the picture itself."""

    codes: Codes
    entry_ids: EntryIds
    variants: npt.NDArray[np.int16]
    variant_names: tuple[str, ...]


FetchCodes = Callable[[], PdqArrays]
FetchWords = Callable[[], FeatureWordIndex]
WORDS_FORMAT = 1
_ARRAYS = ("codes", "entry_ids", "variants", "offsets", "ids")


@dataclass(frozen=True)
class BankIndex:
    """A bank's PDQ index, the entry and variant each code position belongs to, and how
    it was got."""

    index: PdqIndex
    entry_ids: EntryIds
    variants: npt.NDArray[np.int16]
    variant_names: tuple[str, ...]
    origin: str  # "brute-force", "cache" or "built"


class PdqIndexCache:
    @classmethod
    def default(cls) -> PdqIndexCache:
        """The machine's cache: ``indexes`` under CLEARSIGHT_HOME."""
        return cls(clearsight_home() / "indexes")

    def __init__(
        self, directory: Path, brute_force_below: int = BRUTE_FORCE_BELOW, *, mapped: bool = False
    ) -> None:
        self._directory = directory
        self._brute_force_below = brute_force_below
        self._mapped = mapped

    @property
    def directory(self) -> Path:
        return self._directory

    def mapped(self) -> PdqIndexCache:
        """The same cache, its arrays memory-mapped when loaded (see the module's doc)."""
        return PdqIndexCache(self._directory, self._brute_force_below, mapped=True)

    def load_cached(self, bank: IndexedBank) -> tuple[BankIndex, int] | None:
        """The bank's cached index whatever revision it was built from, with that revision;
        None where there is none intact for this bank (its uid)."""
        return self._load_any(bank, current_only=False)

    def index_for(self, bank: IndexedBank, fetch: FetchCodes) -> BankIndex:
        """The bank's index: from the cache if it is current and intact, else built."""
        cached = self._load(bank)
        if cached is not None:
            return cached
        arrays = fetch()
        if arrays.codes.shape[0] < self._brute_force_below:
            return BankIndex(
                BruteForcePdqIndex(arrays.codes),
                arrays.entry_ids,
                arrays.variants,
                arrays.variant_names,
                "brute-force",
            )
        index = MultiIndexPdqIndex.build(arrays.codes, bank.pdq_threshold)
        self._save(bank, index, arrays)
        return BankIndex(index, arrays.entry_ids, arrays.variants, arrays.variant_names, "built")

    def paths(self, bank_uid: str) -> tuple[Path, Path]:
        """The arrays file and the manifest of a bank's cached index."""
        stem = self._directory / f"pdq-{bank_uid}"
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    def forget(self, bank_uid: str) -> None:
        """Delete a bank's cached indexes, if it has any."""
        for path in (*self.paths(bank_uid), *self._words_paths(bank_uid)):
            path.unlink(missing_ok=True)

    def words_for(self, bank: IndexedBank, build: FetchWords) -> FeatureWordIndex:
        """The bank's feature-word index: from the cache if it was built from the bank's
        current revision and is intact, else built (and kept for the next process)."""
        arrays_path, manifest_path = self._words_paths(bank.uid)
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
            if isinstance(manifest, dict) and (
                manifest.get("format"),
                manifest.get("bank_uid"),
                manifest.get("bank_revision"),
            ) == (WORDS_FORMAT, bank.uid, bank.revision):
                # Opened here, so a torn file that np.load refuses is still closed.
                with (
                    arrays_path.open("rb") as handle,
                    np.load(handle, allow_pickle=False) as stored,
                ):
                    arrays = {name: stored[name] for name in stored.files}
                if _checksum(arrays, (), sorted(arrays)) == manifest.get("sha256"):
                    return FeatureWordIndex.from_arrays(arrays)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            pass  # absent, unreadable or torn: built below
        words = build()
        built = words.to_arrays()
        manifest = {
            "format": WORDS_FORMAT,
            "bank": bank.name,
            "bank_uid": bank.uid,
            "bank_revision": bank.revision,
            "entries": len(words),
            "sha256": _checksum(dict(built), (), sorted(built)),
        }
        self._directory.mkdir(parents=True, exist_ok=True)
        # numpy's stubs type **kwds as its own keyword arguments (allow_pickle: bool).
        _replace(arrays_path, lambda handle: np.savez(handle, **built))  # type: ignore[arg-type]
        _replace(
            manifest_path,
            lambda handle: handle.write(json.dumps(manifest, indent=2).encode("utf-8")),
        )
        return words

    def _words_paths(self, bank_uid: str) -> tuple[Path, Path]:
        stem = self._directory / f"words-{bank_uid}"
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    def _load(self, bank: IndexedBank) -> BankIndex | None:
        found = self._load_any(bank, current_only=True)
        return None if found is None else found[0]

    def _load_any(self, bank: IndexedBank, *, current_only: bool) -> tuple[BankIndex, int] | None:
        arrays_path, manifest_path = self.paths(bank.uid)
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict) or (
            manifest.get("format"),
            manifest.get("bank_uid"),
        ) != (INDEX_FORMAT, bank.uid):
            return None
        revision = manifest.get("bank_revision")
        if not isinstance(revision, int) or (current_only and revision != bank.revision):
            return None
        try:
            if self._mapped:
                arrays = load_mapped(arrays_path, _ARRAYS)
            else:
                with np.load(arrays_path, allow_pickle=False) as stored:
                    arrays = {name: stored[name] for name in _ARRAYS}
            layout = MihLayout(tuple(int(bits) for bits in manifest["chunk_bits"]))
            variant_names = tuple(str(name) for name in manifest["variant_names"])
            if _checksum(arrays, variant_names) != manifest.get("sha256"):
                return None
            index = MultiIndexPdqIndex(arrays["codes"], layout, arrays["offsets"], arrays["ids"])
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            return None  # unreadable or torn: rebuilt below
        bank_index = BankIndex(
            index, arrays["entry_ids"], arrays["variants"], variant_names, "cache"
        )
        return bank_index, revision

    def _save(self, bank: IndexedBank, index: MultiIndexPdqIndex, codes: PdqArrays) -> None:
        arrays: dict[str, npt.NDArray[Any]] = {
            "codes": index.codes,
            "entry_ids": codes.entry_ids,
            "variants": codes.variants,
            "offsets": index.offsets,
            "ids": index.ids,
        }
        manifest = {
            "format": INDEX_FORMAT,
            "bank": bank.name,
            "bank_uid": bank.uid,
            "bank_revision": bank.revision,
            "codes": len(index),
            "chunk_bits": list(index.layout.chunk_bits),
            "variant_names": list(codes.variant_names),
            "sha256": _checksum(arrays, codes.variant_names),
        }
        self._directory.mkdir(parents=True, exist_ok=True)
        arrays_path, manifest_path = self.paths(bank.uid)
        _replace(
            arrays_path,
            lambda handle: np.savez(
                handle,
                codes=arrays["codes"],
                entry_ids=arrays["entry_ids"],
                variants=arrays["variants"],
                offsets=arrays["offsets"],
                ids=arrays["ids"],
            ),
        )
        _replace(
            manifest_path,
            lambda handle: handle.write(json.dumps(manifest, indent=2).encode("utf-8")),
        )


def _checksum(
    arrays: dict[str, npt.NDArray[Any]],
    variant_names: tuple[str, ...],
    names: Sequence[str] = _ARRAYS,
) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps(list(variant_names)).encode())
    for name in names:
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}\n".encode())
        digest.update(array.data)
    return digest.hexdigest()


def _replace(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` whole or not at all: into a temporary file beside it, then rename."""
    handle = tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False)
    try:
        with handle:
            write(handle)
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise
