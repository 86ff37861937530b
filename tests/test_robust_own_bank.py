"""Held-out: an own bank finds crops off centre, turns and banners drawn at random.

Own banks (``bank add``) keep each picture's keypoints; their feature words retrieve
candidates that PDQ cannot reach, and RANSAC confirms them. The copies are drawn by
:mod:`clearsight.robustness.random_edits` with a fixed seed, from the eval half of the
shared photos and landscapes of the eval seed, which the matcher was not tuned on,
and looked up through :class:`~clearsight.match.bank_matcher.BankMatcher` over a real
bank store, as the matching service does.
"""

from __future__ import annotations

import io
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from clearsight.banks.lookup import BankTarget
from clearsight.banks.records import BankSignal, EntryMetadata, ImportedEntry
from clearsight.banks.store import BankSettings, BankStore
from clearsight.index.cache import PdqIndexCache
from clearsight.index.feature_words import FeatureWordIndex
from clearsight.match.bank_matcher import FEATURES, BankMatcher, QuerySignals
from clearsight.match.explain import how_matched
from clearsight.media.decode import DecodeLimits, decode_luma
from clearsight.robustness.held_out import LANDSCAPE_SEEDS, split_photos
from clearsight.robustness.landscapes import render_landscape
from clearsight.robustness.random_edits import OTHERS_NEEDED, family_named
from clearsight.signals.features import extract
from clearsight.signals.pdq import PdqSignal
from clearsight.signals.variants import bank_views, hash_views, query_views, tile_features

DRAWS = 6


def jpeg(picture: Image.Image, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def luma_of(data: bytes) -> np.ndarray:
    return decode_luma(data, DecodeLimits(), 512).luma


def luma_of_box(data: bytes, box: int) -> np.ndarray:
    return decode_luma(data, DecodeLimits(), box).luma


def signals_of(data: bytes) -> QuerySignals:
    luma = luma_of(data)
    pdq = PdqSignal.hash_from_luma(luma)
    return QuerySignals(
        pdq=pdq.hex, pdq_quality=pdq.quality, dihedral=pdq.dihedral, features=extract(luma)
    )


@pytest.fixture(scope="module")
def bank(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[BankMatcher, list[Image.Image]]:
    photos = [picture for _, picture in split_photos(shared_data, "eval", longest=640)][:3]
    seed = LANDSCAPE_SEEDS["eval"]
    bases = photos + [Image.fromarray(render_landscape((seed, n), 640, 427)) for n in range(3)]
    # Unrelated pictures in the bank too, so a copy has wrong entries to meet.
    distractors = [Image.fromarray(render_landscape((515, n), 400, 267)) for n in range(8)]
    entries = []
    for number, picture in enumerate([*bases, *distractors]):
        luma = luma_of(jpeg(picture, 92))
        pdq = PdqSignal.hash_from_luma(luma)
        entries.append(
            ImportedEntry(
                ((BankSignal.PDQ, pdq.hex),),
                EntryMetadata(external_id=f"picture-{number}"),
                pdq_variants=tuple((v.name, v.hex) for v in hash_views(bank_views(luma), pdq.hex)),
                features=extract(luma).to_text(),
            )
        )
    folder = tmp_path_factory.mktemp("own-bank")
    store = BankStore.open(f"sqlite:///{folder / 'banks.sqlite'}")
    store.import_entries("own", entries, BankSettings(), stop_on_error=True, file_name="test")
    return BankMatcher(store, PdqIndexCache(folder / "indexes")), bases


@pytest.mark.parametrize("family", ["crop", "turn", "banner"])
def test_an_own_bank_finds_copies_pdq_cannot_reach(
    bank: tuple[BankMatcher, list[Image.Image]], family: str
) -> None:
    matcher, bases = bank
    others = [Image.fromarray(render_landscape((992, n), 320, 240)) for n in range(OTHERS_NEEDED)]
    rng = np.random.default_rng(sum(map(ord, family)) + 1)
    found = by_features = 0
    for draw in range(DRAWS):
        number = draw % len(bases)
        copy = family_named(family).apply(bases[number], rng, others)
        matches = matcher.lookup(signals_of(jpeg(copy, int(rng.integers(70, 96)))))
        names = {match.metadata.external_id for match in matches}
        assert names <= {f"picture-{number}"}, (family, draw, names)  # nothing unrelated
        found += bool(names)
        by_features += any(match.signal == FEATURES for match in matches)
    assert found >= DRAWS - 1, (family, found)
    if family == "crop":  # off centre: out of reach of the bank's centred crops
        assert by_features >= DRAWS // 2


def test_an_own_bank_finds_a_picture_as_one_tile_of_a_collage(
    bank: tuple[BankMatcher, list[Image.Image]],
) -> None:
    # A tile of a 4x4 collage holds a sixteenth of the whole picture's keypoints, at a
    # quarter of the scale: too few to find it by. The tiles' own keypoints find it,
    # even where the tile is cropped off centre (out of reach of the tile's PDQ hash).
    matcher, bases = bank
    others = [Image.fromarray(render_landscape((993, n), 320, 240)) for n in range(15)]
    for number in range(0, len(bases), 2):
        width, height = bases[number].size
        picture = bases[number].crop((width // 8, 0, width, height - height // 10))
        cell = (240, round(240 * picture.height / picture.width))
        collage = Image.new("RGB", (4 * cell[0], 4 * cell[1]))
        cells = [*others[: 5 + number], picture, *others[5 + number :]]
        for at, tile in enumerate(cells):
            row, column = divmod(at, 4)
            collage.paste(tile.resize(cell), (column * cell[0], row * cell[1]))
        data = jpeg(collage)
        luma = luma_of(data)
        whole = signals_of(data)
        tiles = tuple(tile_features(luma, partial(luma_of_box, data)))
        variants = tuple(hash_views(query_views(luma), whole.pdq or ""))
        signals = replace(whole, variants=variants, tile_features=tiles)
        by_tiles = [m for m in matcher.lookup(signals) if m.signal == FEATURES]
        assert {m.metadata.external_id for m in by_tiles} == {f"picture-{number}"}
        assert all((m.variant or "").startswith(("query:tile-", "query:grid-")) for m in by_tiles)
        without = matcher.lookup(replace(signals, tile_features=()))
        assert not [m for m in without if m.signal == FEATURES]


def test_a_features_match_says_how_much_agreed(
    bank: tuple[BankMatcher, list[Image.Image]],
) -> None:
    matcher, bases = bank
    rng = np.random.default_rng(40)
    copy = family_named("crop").apply(bases[4], rng, [])
    matches = [m for m in matcher.lookup(signals_of(jpeg(copy))) if m.signal == FEATURES]
    for match in matches:
        said = how_matched(match.view())
        assert said.startswith("local features: ") and "covering" in said, said
        assert match.inliers is not None and match.inliers >= 20


def test_unrelated_pictures_share_too_few_words_to_be_candidates() -> None:
    pictures = [render_landscape((616, n), 480, 320) for n in range(6)]
    features = [extract(np.asarray(Image.fromarray(p).convert("L"))) for p in pictures]
    index = FeatureWordIndex.build(list(enumerate(features[:3])))
    for query in features[3:]:
        for _, shared in index.candidates(query):
            assert shared < 40  # a crop of the same picture shares hundreds
    for entry, own in enumerate(features[:3]):
        assert index.candidates(own)[0][0] == entry


def test_the_index_round_trips_through_its_arrays() -> None:
    pictures = [render_landscape((617, n), 480, 320) for n in range(3)]
    features = [extract(np.asarray(Image.fromarray(p).convert("L"))) for p in pictures]
    index = FeatureWordIndex.build([(10 + n, f) for n, f in enumerate(features)])
    again = FeatureWordIndex.from_arrays(index.to_arrays())
    for query in features:
        assert again.candidates(query) == index.candidates(query)
    assert again.nbytes == index.nbytes


def test_the_word_index_is_cached_per_bank_revision(tmp_path: Path) -> None:
    pictures = [render_landscape((618, n), 480, 320) for n in range(3)]
    features = [extract(np.asarray(Image.fromarray(p).convert("L"))) for p in pictures]
    cache = PdqIndexCache(tmp_path)
    built: list[int] = []

    def build() -> FeatureWordIndex:
        built.append(1)
        return FeatureWordIndex.build([(10 + n, f) for n, f in enumerate(features)])

    bank = BankTarget(1, "own", False, 31, "uid-1", 5, has_features=True)
    first = cache.words_for(bank, build)
    again = PdqIndexCache(tmp_path).words_for(bank, build)  # another process
    assert len(built) == 1
    for query in features:
        assert again.candidates(query) == first.candidates(query)
    # A new revision of the bank is built afresh; so is a damaged file.
    cache.words_for(replace(bank, revision=6), build)
    assert len(built) == 2
    (arrays,) = tmp_path.glob("words-uid-1.npz")
    arrays.write_bytes(arrays.read_bytes()[:-40])
    cache.words_for(replace(bank, revision=6), build)
    assert len(built) == 3
    cache.forget("uid-1")
    assert not list(tmp_path.glob("words-*"))
