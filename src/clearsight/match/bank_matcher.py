"""Look pictures up in the banks, with or without a case.

:class:`BankMatcher` is built once over a bank store and an index cache, and asked many
times: :meth:`BankMatcher.lookup` takes one picture's signals and answers its matches,
which is what a matching service does per request; :meth:`BankMatcher.match_bank`
answers a batch against one bank, which is what matching a case does per bank.

Exact digests (md5, sha1, sha256) are looked up by the bank store's index. PDQ hashes
are searched in each bank's own index within that bank's threshold, for the picture
as given and for its seven rotations and flips, and for its views (border trimmed,
tiles, caption removed), all in one batch; the transform and view that matched are
recorded. A PDQ hash whose quality is too low to trust is not searched. In banks that
keep local features, pairs a little beyond the threshold are confirmed or dismissed by
the features of both sides.

Each bank's index is loaded once and kept while the bank's content (its uid and
revision) stays; :meth:`BankMatcher.refresh` reads the banks again and drops the index
of a bank that was removed or changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

import numpy as np
import numpy.typing as npt

from clearsight.banks.lookup import BankHit, BankLookup, BankTarget
from clearsight.banks.records import EntryMetadata
from clearsight.index.cache import BankIndex, PdqIndexCache
from clearsight.index.feature_words import FeatureWordIndex
from clearsight.index.pdq_index import Codes, PdqHits
from clearsight.match.coverage import feature_coverage
from clearsight.match.video_matcher import BankVideos, match_videos
from clearsight.signals.features import LocalFeatures, verify
from clearsight.signals.pdq import DIHEDRAL_TRANSFORMS, PDQ_MIN_QUALITY, PdqSignal
from clearsight.signals.registry import DIGEST_NAMES, digest_type
from clearsight.signals.variants import VariantHash, is_tile
from clearsight.signals.vpdq import VpdqFeature, VpdqSignal
from clearsight.store.interface import MatchQuery, MatchView, VideoFrameHash, VideoQuery

ORIGINAL = "original"
TRANSFORMS = (ORIGINAL, *DIHEDRAL_TRANSFORMS)
# For banks that keep local features: PDQ pairs this close are candidates that the
# features may confirm. Unrelated photos come this close about once in 10^5 code pairs,
# a crop or turn between the bank's stored ones rarely goes further.
CANDIDATE_RADIUS = 64
# Of one item's candidates in one bank, only this many closest are checked.
CANDIDATES_PER_ITEM = 8
_LOOKUP_KEY = 0  # the item id a single lookup's signals go by internally
# A match found by local features alone (feature words, then RANSAC), where PDQ saw
# nothing: its signal, and the distance it records (none measured: the most there is).
FEATURES = "features"
NO_PDQ_DISTANCE = 256
# Items and bank entries whose features are read at once.
_FEATURE_BATCH = 512
TileFeatures = tuple[str, LocalFeatures]


class ItemFeatures(Protocol):
    """Local features of the pictures looked up, by their item id, read when asked."""

    def features_of(self, item_ids: Sequence[int]) -> Mapping[int, LocalFeatures]:
        """Features of those items whose files can still be read as they were scanned."""
        ...

    def tile_features_of(self, item_ids: Sequence[int]) -> Mapping[int, Sequence[TileFeatures]]:
        """Features of each tile of those items that are collages (see
        :func:`clearsight.signals.variants.tile_features`), by the tile's view name."""
        ...


@dataclass(frozen=True)
class QuerySignals:
    """One picture's signals, as a caller without a case has them.

    ``digests`` maps digest names (md5, sha1, sha256) to hex values; ``pdq`` is the
    picture's hash and ``dihedral`` the hashes of its seven rotations and flips, in the
    order of :data:`clearsight.signals.pdq.DIHEDRAL_TRANSFORMS` (none given: only the
    picture as it is is searched); ``variants`` the hashes of its views. ``features``
    confirm candidates in banks that keep local features. Values are checked and
    normalised by the signal registry on lookup.
    """

    digests: Mapping[str, str] = field(default_factory=dict)
    pdq: str | None = None
    pdq_quality: int | None = None
    dihedral: tuple[str, ...] = ()
    variants: tuple[VariantHash, ...] = ()
    features: LocalFeatures | None = None
    tile_features: tuple[TileFeatures, ...] = ()


@dataclass(frozen=True)
class Match:
    """A bank entry a picture was found in, why, and what the bank says of the entry.

    ``signal`` is the signal that met (a digest name or "pdq"), ``distance`` its PDQ
    distance (0 for digests), ``transform`` the rotation or flip of the picture that
    met, ``variant`` which views met ("query:NAME", "bank:NAME", or both joined by
    "+"), ``inliers`` the local features that confirmed a pair beyond the threshold
    and ``coverage`` the share of the picture they span (see :mod:`.coverage`).
    """

    bank: str
    entry_id: int
    signal: str
    distance: int
    transform: str
    allow: bool
    metadata: EntryMetadata
    variant: str | None = None
    inliers: int | None = None
    coverage: float | None = None
    # A video match's share of the bank video's frames matched (vPDQ's compared percent).
    compared_coverage: float | None = None

    def view(self) -> MatchView:
        """The match as a case records it."""
        meta = self.metadata
        return MatchView(
            bank=self.bank,
            entry_id=self.entry_id,
            external_id=meta.external_id,
            signal=self.signal,
            distance=self.distance,
            transform=self.transform,
            allow=self.allow,
            category=meta.category,
            series=meta.series,
            victim_identified=meta.victim_identified,
            variant=self.variant,
            inliers=self.inliers,
            coverage=self.coverage,
        )


@dataclass(frozen=True)
class BankMatches:
    """A batch's matches in one bank, as (item id, match) pairs, with how they were
    found: the PDQ index's origin ("none" where no PDQ hash was searched), the
    candidates local features were asked to settle and those they confirmed."""

    found: list[tuple[int, Match]]
    pdq_index: str = "none"
    candidates: int = 0
    confirmed: int = 0


class BankMatcher:
    """Matching against the enabled banks (or those named), case-free and reusable.

    Construction reads only which banks there are; each bank's PDQ index is loaded
    from ``cache`` (or built) the first time a PDQ hash is searched in it, and kept.
    """

    def __init__(
        self,
        banks: BankLookup,
        cache: PdqIndexCache,
        names: Sequence[str] | None = None,
    ) -> None:
        self._banks = banks
        self._cache = cache
        self._names = list(names) if names else None
        self._targets = tuple(banks.match_targets(self._names))
        self._indexes: dict[str, tuple[BankTarget, BankIndex]] = {}
        self._words: dict[str, tuple[BankTarget, FeatureWordIndex]] = {}
        self._videos: dict[str, tuple[BankTarget, BankVideos]] = {}

    @property
    def targets(self) -> tuple[BankTarget, ...]:
        """The banks matched against, as they were when last read."""
        return self._targets

    def refresh(self) -> None:
        """Read the banks again, and drop the kept index of any bank that was removed,
        disabled or whose content changed (its next search loads the current one;
        a new threshold needs no new index). A service calls this when banks change,
        or before each request: it costs one small query."""
        self._targets = tuple(self._banks.match_targets(self._names))
        current = {target.uid: target for target in self._targets}
        for kept in (self._indexes, self._words, self._videos):
            for uid, (target, _) in list(kept.items()):
                now = current.get(uid)
                if now is None or now.revision != target.revision:
                    del kept[uid]

    def lookup(self, signals: QuerySignals) -> list[Match]:
        """Every match of one picture in the banks: exact digests, PDQ with its
        rotations and flips, and its views. Raises ValueError for a malformed value or a
        digest name the registry does not know."""
        query = MatchQuery(
            item_id=_LOOKUP_KEY,
            digests={name: _digest(name, value) for name, value in signals.digests.items()},
            pdq=None if signals.pdq is None else PdqSignal.validate(signals.pdq),
            pdq_quality=signals.pdq_quality,
            dihedral=tuple(PdqSignal.validate(value) for value in signals.dihedral),
            variants=tuple(
                VariantHash(variant.name, PdqSignal.validate(variant.hex), variant.quality)
                for variant in signals.variants
            ),
        )
        features = (
            None
            if signals.features is None and not signals.tile_features
            else _OneFeatures(signals.features, signals.tile_features)
        )
        queries = [query]
        pdq_queries = PdqQueries.of(queries)
        found: list[Match] = []
        for target in self._targets:
            matches = self.match_bank(target, queries, pdq_queries, features)
            found += [match for _, match in matches.found]
        return found

    def lookup_video(self, features: Sequence[VpdqFeature]) -> list[Match]:
        """Every match of one video, given as its vPDQ frames (a signal string parsed),
        in the banks: vPDQ's rule through the video matcher (:meth:`match_videos`)."""
        query = VideoQuery(
            _LOOKUP_KEY,
            tuple(
                VideoFrameHash(number, feature.timestamp, feature.hex, feature.quality)
                for number, feature in enumerate(features)
            ),
        )
        found: list[Match] = []
        for target in self._targets:
            found += [match for _, match in self.match_videos(target, [query])]
        return found

    def match_bank(
        self,
        target: BankTarget,
        queries: Sequence[MatchQuery],
        pdq_queries: PdqQueries,
        item_features: ItemFeatures | None = None,
    ) -> BankMatches:
        """The matches of a batch in one bank: ``queries`` for their digests and
        ``pdq_queries`` (the same items' packed PDQ hashes) for PDQ. Values are taken as
        canonical (as a case stores them)."""
        found = _exact_matches(queries, self._banks, target)
        if not pdq_queries.codes.shape[0]:
            return BankMatches(found)
        bank_index = self._index_of(target)
        hits = bank_index.index.search_many(pdq_queries.codes, target.pdq_threshold)
        pdq_found = _pdq_matches(
            _closest_pairs(pdq_queries, bank_index, hits), self._banks, target, inliers=None
        )
        found += pdq_found
        candidates = confirmed = 0
        if target.has_features and item_features is not None:
            confirmations = _confirm_candidates(
                pdq_queries, bank_index, self._banks, target, item_features, pdq_found
            )
            found += confirmations.found
            # What PDQ cannot reach at all (a crop off centre, a turn, a banner), the
            # feature words of the whole bank retrieve.
            words = _word_matches(
                sorted({query.item_id for query in queries}),
                sorted(
                    {
                        query.item_id
                        for query in queries
                        if any(is_tile(variant.name) for variant in query.variants)
                    }
                ),
                self._words_of(target, bank_index),
                self._banks,
                target,
                item_features,
                {(item_id, match.entry_id) for item_id, match in found},
            )
            found += words.found
            candidates = confirmations.checked + words.checked
            confirmed = len(confirmations.found) + len(words.found)
        return BankMatches(found, bank_index.origin, candidates, confirmed)

    def _words_of(self, target: BankTarget, bank_index: BankIndex) -> FeatureWordIndex:
        """The bank's feature-word index: kept while the bank's content stays, loaded
        from the index cache, or built from its entries' keypoints (and cached)."""
        kept = self._words.get(target.uid)
        if kept is not None and kept[0].revision == target.revision:
            return kept[1]

        def build() -> FeatureWordIndex:
            entries = np.unique(bank_index.entry_ids).tolist()
            items: list[tuple[int, LocalFeatures]] = []
            for start in range(0, len(entries), _FEATURE_BATCH):
                texts = self._banks.entry_features(entries[start : start + _FEATURE_BATCH])
                items += [(entry, LocalFeatures.from_text(text)) for entry, text in texts.items()]
            return FeatureWordIndex.build(items)

        words = self._cache.words_for(target, build)
        self._words[target.uid] = (target, words)
        return words

    def match_videos(
        self, target: BankTarget, queries: Sequence[VideoQuery]
    ) -> list[tuple[int, Match]]:
        """The matches of scanned videos' frames in one bank's vPDQ signals (see
        :mod:`clearsight.match.video_matcher`), as (item id, match) pairs."""
        if not queries:
            return []
        kept = self._videos.get(target.uid)
        if kept is None or kept[0].revision != target.revision:
            kept = (target, BankVideos(self._banks.video_signals(target.id)))
            self._videos[target.uid] = kept
        found = match_videos(queries, kept[1])
        metadata = self._banks.entry_metadata({match.entry_id for _, match in found})
        return [
            (
                item_id,
                _match(
                    BankHit(target, match.entry_id, metadata[match.entry_id]),
                    VpdqSignal.name,
                    round(100 - match.query_percent),
                    match.form,
                    variant=match.describe(),
                    coverage=round(match.query_percent / 100, 3),
                    compared_coverage=round(match.compared_percent / 100, 3),
                ),
            )
            for item_id, match in found
            if match.entry_id in metadata
        ]

    def _index_of(self, target: BankTarget) -> BankIndex:
        kept = self._indexes.get(target.uid)
        if kept is not None and kept[0].revision == target.revision:
            return kept[1]
        bank_index = self._cache.index_for(target, partial(self._banks.pdq_arrays, target.id))
        self._indexes[target.uid] = (target, bank_index)
        return bank_index


def _digest(name: str, value: str) -> str:
    try:
        kind = digest_type(name)
    except KeyError:
        raise ValueError(f"not a digest clearsight matches: {name[:40]!r}") from None
    return kind.validate(value)


class _OneFeatures:
    """The features given with a single lookup, as an ItemFeatures."""

    def __init__(self, features: LocalFeatures | None, tiles: Sequence[TileFeatures]) -> None:
        self._features = features
        self._tiles = tiles

    def features_of(self, item_ids: Sequence[int]) -> Mapping[int, LocalFeatures]:
        if self._features is None:
            return {}
        return {item_id: self._features for item_id in item_ids if item_id == _LOOKUP_KEY}

    def tile_features_of(self, item_ids: Sequence[int]) -> Mapping[int, Sequence[TileFeatures]]:
        return {item_id: self._tiles for item_id in item_ids if item_id == _LOOKUP_KEY}


@dataclass(frozen=True)
class PdqQueries:
    """Every usable item's PDQ hashes in one batch: the hash, its seven rotations and
    flips, and the hashes of its views. Row ``i`` is item ``item_ids[i]`` turned by
    ``TRANSFORMS[transforms[i]]``, or its view ``variant_names[variants[i]]``."""

    codes: Codes
    item_ids: npt.NDArray[np.int64]
    transforms: npt.NDArray[np.int64]
    variants: npt.NDArray[np.int64]
    variant_names: tuple[str, ...]

    @classmethod
    def of(cls, queries: Sequence[MatchQuery]) -> PdqQueries:
        hashes: list[str] = []
        item_ids: list[int] = []
        transforms: list[int] = []
        variants: list[int] = []
        names: dict[str, int] = {"": 0}
        for query in queries:
            if query.pdq is not None and (query.pdq_quality or 0) >= PDQ_MIN_QUALITY:
                for number, value in enumerate((query.pdq, *query.dihedral)):
                    hashes.append(value)
                    item_ids.append(query.item_id)
                    transforms.append(number)
                    variants.append(0)
            for variant in query.variants:  # each of good quality on its own
                hashes.append(variant.hex)
                item_ids.append(query.item_id)
                transforms.append(0)
                variants.append(names.setdefault(variant.name, len(names)))
        return cls(
            PdqSignal.pack(hashes),
            np.array(item_ids, dtype=np.int64),
            np.array(transforms, dtype=np.int64),
            np.array(variants, dtype=np.int64),
            tuple(names),
        )

    def after(self, item_id: int) -> PdqQueries:
        keep = self.item_ids > item_id
        return PdqQueries(
            self.codes[keep],
            self.item_ids[keep],
            self.transforms[keep],
            self.variants[keep],
            self.variant_names,
        )


def _exact_matches(
    queries: Sequence[MatchQuery], banks: BankLookup, target: BankTarget
) -> list[tuple[int, Match]]:
    found: list[tuple[int, Match]] = []
    for kind in DIGEST_NAMES:
        items_by_value: dict[str, list[int]] = {}
        for query in queries:
            if kind in query.digests:
                items_by_value.setdefault(query.digests[kind], []).append(query.item_id)
        if not items_by_value:
            continue
        for value, hits in banks.exact_hits(kind, items_by_value, [target]).items():
            for item_id in items_by_value[value]:
                found += [(item_id, _match(hit, kind, 0, ORIGINAL)) for hit in hits]
    return found


@dataclass(frozen=True)
class _Pairs:
    """One row per (item, entry): the closest code pair that joined them, and how."""

    items: npt.NDArray[np.int64]
    entries: npt.NDArray[np.int64]
    distances: npt.NDArray[np.int32]
    transforms: npt.NDArray[np.int64]
    variants: list[str | None]

    def __len__(self) -> int:
        return int(self.items.shape[0])

    def select(self, keep: npt.NDArray[np.bool_]) -> _Pairs:
        return _Pairs(
            self.items[keep],
            self.entries[keep],
            self.distances[keep],
            self.transforms[keep],
            [name for name, kept in zip(self.variants, keep, strict=True) if kept],
        )


def _closest_pairs(queries: PdqQueries, bank_index: BankIndex, hits: PdqHits) -> _Pairs:
    """One pair per (item, entry): the closest, and of equals the one with the fewest
    variants, then the least transformed."""
    items = queries.item_ids[hits.queries]
    transforms = queries.transforms[hits.queries]
    query_variants = queries.variants[hits.queries]
    entries = bank_index.entry_ids[hits.positions]
    bank_variants = bank_index.variants[hits.positions].astype(np.int64)
    extra = (query_variants > 0).astype(np.int64) + (bank_variants > 0)
    order = np.lexsort((transforms, extra, hits.distances, entries, items))
    first = np.ones(order.shape[0], dtype=bool)
    first[1:] = (items[order][1:] != items[order][:-1]) | (
        entries[order][1:] != entries[order][:-1]
    )
    chosen = order[first]
    names = [
        _variant_label(
            queries.variant_names[int(query_variants[at])],
            bank_index.variant_names[int(bank_variants[at])],
        )
        for at in chosen
    ]
    return _Pairs(items[chosen], entries[chosen], hits.distances[chosen], transforms[chosen], names)


def _variant_label(query: str, bank: str) -> str | None:
    parts = [f"query:{query}"] if query else []
    if bank:
        parts.append(f"bank:{bank}")
    return "+".join(parts) or None


def _pdq_matches(
    pairs: _Pairs,
    banks: BankLookup,
    target: BankTarget,
    *,
    inliers: Sequence[int] | None,
    coverage: Sequence[float] | None = None,
) -> list[tuple[int, Match]]:
    metadata = banks.entry_metadata(int(entry) for entry in pairs.entries)
    return [
        (
            int(pairs.items[at]),
            _match(
                BankHit(target, int(pairs.entries[at]), metadata[int(pairs.entries[at])]),
                "pdq",
                int(pairs.distances[at]),
                TRANSFORMS[int(pairs.transforms[at])],
                variant=pairs.variants[at],
                inliers=None if inliers is None else inliers[at],
                coverage=None if coverage is None else coverage[at],
            ),
        )
        for at in range(len(pairs))
    ]


@dataclass(frozen=True)
class _Confirmations:
    checked: int
    found: list[tuple[int, Match]]


def _confirm_candidates(
    queries: PdqQueries,
    bank_index: BankIndex,
    banks: BankLookup,
    target: BankTarget,
    item_features: ItemFeatures,
    matched: Iterable[tuple[int, Match]],
) -> _Confirmations:
    """Pairs beyond the threshold but within CANDIDATE_RADIUS, kept where the item's
    and the entry's local features show the same scene under one similarity."""
    hits = bank_index.index.search_many(queries.codes, CANDIDATE_RADIUS)
    pairs = _closest_pairs(queries, bank_index, hits)
    done = {(item_id, match.entry_id) for item_id, match in matched}
    open_ = np.array(
        [(int(i), int(e)) not in done for i, e in zip(pairs.items, pairs.entries, strict=True)],
        dtype=bool,
    )
    pairs = pairs.select(open_ & _closest_per_item(pairs, CANDIDATES_PER_ITEM))
    if not len(pairs):
        return _Confirmations(0, [])
    item_side = item_features.features_of(sorted({int(item) for item in pairs.items}))
    entry_side = {
        entry: LocalFeatures.from_text(text)
        for entry, text in banks.entry_features(int(entry) for entry in pairs.entries).items()
    }
    inliers: list[int] = []
    covered: list[float] = []
    for item, entry in zip(pairs.items, pairs.entries, strict=True):
        query_features, entry_features = item_side.get(int(item)), entry_side.get(int(entry))
        if query_features is None or entry_features is None:
            inliers.append(0)
            continue
        verdict = verify(query_features, entry_features)
        inliers.append(verdict.inliers if verdict.confirmed else 0)
        if verdict.confirmed:
            covered.append(feature_coverage(verdict.inlier_points, query_features.points))
    kept = np.array(inliers) > 0
    found = _pdq_matches(
        pairs.select(kept),
        banks,
        target,
        inliers=[n for n in inliers if n > 0],
        coverage=covered,
    )
    return _Confirmations(len(pairs), found)


def _word_matches(
    item_ids: Sequence[int],
    tiled: Sequence[int],
    words: FeatureWordIndex,
    banks: BankLookup,
    target: BankTarget,
    item_features: ItemFeatures,
    done: set[tuple[int, int]],
) -> _Confirmations:
    """Entries that share many feature words with an item, or with a tile of the
    ``tiled`` items (collages), kept where RANSAC finds one similarity carrying enough
    of the item's (or tile's) keypoints onto the entry's."""
    checked = 0
    found: list[tuple[int, Match]] = []
    tiled_set = set(tiled)
    for start in range(0, len(item_ids), _FEATURE_BATCH):
        batch = item_ids[start : start + _FEATURE_BATCH]
        # (item, view name or None for the whole picture, features), whole pictures first.
        probes: list[tuple[int, str | None, LocalFeatures]] = [
            (item, None, features) for item, features in item_features.features_of(batch).items()
        ]
        tiles = item_features.tile_features_of([item for item in batch if item in tiled_set])
        probes += [
            (item, name, features) for item, views in tiles.items() for name, features in views
        ]
        # (item, entry): the probes that name it as a candidate, tried in turn.
        pairs: dict[tuple[int, int], list[int]] = {}
        for number, (item, _, features) in enumerate(probes):
            for entry, _ in words.candidates(features):
                if (item, entry) not in done:
                    pairs.setdefault((item, entry), []).append(number)
        if not pairs:
            continue
        checked += len(pairs)
        entry_side = {
            entry: LocalFeatures.from_text(text)
            for entry, text in banks.entry_features({entry for _, entry in pairs}).items()
        }
        confirmed: list[tuple[int, int, str | None, int, float]] = []
        for (item, entry), numbers in pairs.items():
            reference = entry_side.get(entry)
            if reference is None:
                continue
            for number in numbers:
                _, name, features = probes[number]
                verdict = verify(features, reference)
                if verdict.confirmed:
                    covered = feature_coverage(verdict.inlier_points, features.points)
                    confirmed.append((item, entry, name, verdict.inliers, covered))
                    break
        metadata = banks.entry_metadata(entry for _, entry, _, _, _ in confirmed)
        found += [
            (
                item,
                _match(
                    BankHit(target, entry, metadata[entry]),
                    FEATURES,
                    NO_PDQ_DISTANCE,
                    ORIGINAL,
                    variant=None if name is None else f"query:{name}",
                    inliers=inliers,
                    coverage=covered,
                ),
            )
            for item, entry, name, inliers, covered in confirmed
        ]
    return _Confirmations(checked, found)


def _closest_per_item(pairs: _Pairs, limit: int) -> npt.NDArray[np.bool_]:
    """Mark, for each item, its ``limit`` closest pairs."""
    order = np.lexsort((pairs.distances, pairs.items))
    rank = np.zeros(len(pairs), dtype=np.int64)
    items = pairs.items[order]
    starts = np.r_[0, np.flatnonzero(items[1:] != items[:-1]) + 1]
    run_start = np.repeat(starts, np.diff(np.r_[starts, len(items)]))
    rank[order] = np.arange(len(items)) - run_start
    return rank < limit


def _match(
    hit: BankHit,
    signal: str,
    distance: int,
    transform: str,
    *,
    variant: str | None = None,
    inliers: int | None = None,
    coverage: float | None = None,
    compared_coverage: float | None = None,
) -> Match:
    return Match(
        bank=hit.bank.name,
        entry_id=hit.entry_id,
        signal=signal,
        distance=distance,
        transform=transform,
        allow=hit.bank.allow,
        metadata=hit.metadata,
        variant=variant,
        inliers=inliers,
        coverage=coverage,
        compared_coverage=compared_coverage,
    )
