"""The fast path of NCMEC's records into bank rows agrees with the general path.

``translate.ncmec_prepared`` makes the rows of a national list straight from
python-threatexchange's ``NCMECEntryUpdate`` records; the general path makes events
(``ncmec_events``) and prepares them. Records are the library's own dataclass, in
random mixes of the shapes the API sends: fingerprints in any case and spacing, bad
and empty values, kinds clearsight does not keep, PhotoDNA, withdrawals, feedback,
several members.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import pytest

from clearsight.banks.prepared import prepare
from clearsight.banks.records import ImportedEntry
from clearsight.exchanges import translate

hash_api = pytest.importorskip("threatexchange.exchanges.clients.ncmec.hash_api")


def _hex(rng: random.Random, digits: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(digits))


def _fingerprints(rng: random.Random) -> dict[str, str]:
    shapes: list[Callable[[], tuple[str, str]]] = [
        lambda: ("md5", _hex(rng, 32)),
        lambda: ("pdq", _hex(rng, 64)),
        lambda: ("sha1", _hex(rng, 40)),
        lambda: ("md5", "  " + _hex(rng, 32).upper() + "\n"),
        lambda: ("MD5", _hex(rng, 32)),
        lambda: ("pdna", _hex(rng, 288)),
        lambda: ("pdna", "not,a,photodna"),
        lambda: ("netclean", _hex(rng, 40)),
        lambda: ("md5", ""),
        lambda: ("md5", _hex(rng, 31)),
        lambda: ("pdq", "xyz" + _hex(rng, 61)),
    ]
    weights = [30, 30, 5, 5, 2, 3, 1, 3, 2, 1, 1]
    chosen = rng.choices(shapes, weights, k=rng.randint(0, 3))
    return dict(shape() for shape in chosen)


def _update(rng: random.Random, n: int) -> Any:
    feedback: dict[str, list[Any]] = {
        kind: [] for kind in rng.sample(["MD5", "PDQ", "SHA1"], rng.randint(0, 2))
    }
    return hash_api.NCMECEntryUpdate(
        id=f"e{n}",
        member_id=rng.choice([7, 8, 42]),
        entry_type=hash_api.NCMECEntryType.image,
        deleted=rng.random() < 0.1,
        classification=rng.choice(["A1", "B2", None, ""]),
        fingerprints=_fingerprints(rng),
        feedback=feedback,
    )


def _rows(events: Any) -> list[Any]:
    return [prepare(e) if isinstance(e, ImportedEntry) else e for e in events]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("only", [(), (7, 42)])
def test_the_fast_path_makes_the_rows_of_the_general_path(seed: int, only: tuple[int, ...]) -> None:
    rng = random.Random(seed)
    updates = {f"{u.member_id}-{u.id}": u for u in (_update(rng, n) for n in range(400))}
    general = _rows(translate.ncmec_events(updates, only))
    fast = _rows(translate.ncmec_prepared(updates, only))
    assert fast == general
    # The mix held what each branch needs: kept, withdrawn and refused entries.
    kinds = {type(row).__name__ if not isinstance(row, tuple) else str(row[-1]) for row in fast}
    assert kinds == {"False", "True", "RejectedLine"}
