"""The matching service answers as HMA 2.x does: paths, parameters, status codes and JSON
shapes, asserted from HMA's own source (``OpenMediaMatch/blueprints/*.py``) and its
tests (``test_match_api.py``: banks A, B and C holding one example hash each), with
python-threatexchange, which HMA itself uses, as the oracle for hashes and comparisons.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal as HmaPdqSignal

from clearsight.signals.pdq import DIHEDRAL_TRANSFORMS, PdqSignal

from .api_support import ApiService, api_service, wait_for
from .conftest import photo_like

EXAMPLE = HmaPdqSignal.get_examples()[0]
MD5 = VideoMD5Signal.get_examples()[0]


def png(seed: int) -> bytes:
    buffer = io.BytesIO()
    photo_like(seed).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiService]:
    """HMA's ``client_with_multi_bank_data``: banks A, B, C with the example PDQ."""
    with api_service(tmp_path_factory.mktemp("api-hma")) as running:
        with running.client() as client:
            for bank in ("BANK_A", "BANK_B", "BANK_C"):
                made = client.post("/c/banks", json={"name": bank})
                assert made.status_code == 201
                assert made.json() == {"name": bank, "matching_enabled_ratio": 1.0}
                added = client.post(f"/c/bank/{bank}/signal", json={"pdq": EXAMPLE})
                assert added.status_code == 200
                assert set(added.json()) == {"id", "signals"}
                assert added.json()["signals"] == {"pdq": EXAMPLE}
            wait_for(lambda: len(raw(client, EXAMPLE)) == 3)
        yield running


def raw(client: httpx.Client, signal: str, **params: str) -> list[object]:
    answer = client.get("/m/raw_lookup", params={"signal": signal, "signal_type": "pdq", **params})
    assert answer.status_code == 200, answer.text
    matches: list[object] = answer.json()["matches"]
    return matches


def test_raw_lookup_with_bank_filter(service: ApiService) -> None:
    with service.client("matcher") as client:
        assert len(raw(client, EXAMPLE)) == 3
        assert all(isinstance(match, int) for match in raw(client, EXAMPLE))
        assert len(raw(client, EXAMPLE, banks="BANK_A")) == 1
        assert len(raw(client, EXAMPLE, banks="BANK_A,BANK_B")) == 2
        assert raw(client, EXAMPLE, banks="NON_EXISTENT_BANK") == []
        with_distance = raw(client, EXAMPLE, include_distance="true", banks="BANK_A,BANK_B")
        assert len(with_distance) == 2
        for match in with_distance:
            assert isinstance(match, dict) and set(match) == {"bank_content_id", "distance"}
            assert match["distance"] == "0"  # HMA's pretty_str of an int distance


def test_raw_lookup_errors_as_hma(service: ApiService) -> None:
    with service.client("matcher") as client:
        missing = client.get("/m/raw_lookup", params={"signal_type": "pdq"})
        assert (missing.status_code, missing.json()) == (400, {"message": "signal is required"})
        unknown = client.get("/m/raw_lookup", params={"signal": EXAMPLE, "signal_type": "tmk"})
        assert unknown.status_code == 400
        assert unknown.json() == {"message": "No such SignalType 'tmk'"}
        bad = client.get("/m/raw_lookup", params={"signal": "xyz", "signal_type": "pdq"})
        assert bad.status_code == 400 and bad.json()["message"].startswith("invalid signal")
        flag = client.get(
            "/m/raw_lookup",
            params={"signal": EXAMPLE, "signal_type": "pdq", "include_distance": "maybe"},
        )
        assert flag.json() == {"message": "invalid boolean parameter - prefer true/false"}


def test_lookup_shapes_and_filters(service: ApiService) -> None:
    near = HmaPdqSignal.get_examples()[1]  # a few bits from the example
    with service.client("matcher") as client:
        found = client.get("/m/lookup", params={"signal": near, "signal_type": "pdq"}).json()
        assert set(found) == {"BANK_A", "BANK_B", "BANK_C"}
        similarity = HmaPdqSignal.compare_hash(EXAMPLE, near).distance
        distance = str(similarity.distance)  # type: ignore[attr-defined]
        for matches in found.values():
            assert len(matches) == 1
            assert set(matches[0]) == {"bank_content_id", "distance"}
            assert matches[0]["distance"] == distance
        some = client.get(
            "/m/lookup", params={"signal": near, "signal_type": "pdq", "banks": "BANK_A,BANK_C"}
        ).json()
        assert set(some) == {"BANK_A", "BANK_C"}
        neither = client.get("/m/lookup", params={"signal_type": "pdq"})
        assert neither.status_code == 400
        assert neither.json() == {
            "message": "Either url or both signal and signal_type are required"
        }


def test_a_disabled_bank_is_left_out_of_lookup_but_not_raw_lookup(service: ApiService) -> None:
    with service.client("curator") as curator, service.client("matcher") as client:
        changed = curator.put("/c/bank/BANK_B", json={"enabled": False})
        assert changed.json() == {"name": "BANK_B", "matching_enabled_ratio": 0.0}
        try:
            params = {"signal": EXAMPLE, "signal_type": "pdq"}
            wait_for(lambda: "BANK_B" not in client.get("/m/lookup", params=params).json())
            assert set(client.get("/m/lookup", params=params).json()) == {"BANK_A", "BANK_C"}
            assert len(raw(client, EXAMPLE)) == 3  # raw_lookup does not check, as in HMA
        finally:
            curator.put("/c/bank/BANK_B", json={"enabled_ratio": 1.0})


def test_a_fractional_enabled_ratio_flips_hmas_coin(service: ApiService) -> None:
    """HMA's ``lookup``: ``coinflip = random.Random(seed).random()``, and a bank is seen
    where its ``matching_enabled_ratio >= coinflip``; the same formula is the oracle."""
    params = {"signal": EXAMPLE, "signal_type": "pdq"}
    with service.client("curator") as curator, service.client("matcher") as client:
        changed = curator.put("/c/bank/BANK_C", json={"enabled_ratio": "0.5"})  # text, as Coop
        assert changed.json() == {"name": "BANK_C", "matching_enabled_ratio": 0.5}
        assert curator.get("/c/bank/BANK_C").json()["matching_enabled_ratio"] == 0.5
        try:
            seeds = [f"content-{number}" for number in range(40)]
            expected = {seed: random.Random(seed).random() <= 0.5 for seed in seeds}
            assert len(set(expected.values())) == 2  # both sides of the coin are tried

            def seen(seed: str) -> bool:
                found = client.get("/m/lookup", params={**params, "seed": seed}).json()
                assert {"BANK_A", "BANK_B"} <= set(found)  # ratio 1: every lookup
                return "BANK_C" in found

            wait_for(lambda: all(seen(seed) == expected[seed] for seed in seeds[:8]))
            assert {seed: seen(seed) for seed in seeds} == expected
            assert seen(seeds[0]) == seen(seeds[0])  # one piece of content, one answer
            unseeded = {
                "BANK_C" in client.get("/m/lookup", params=params).json() for _ in range(40)
            }
            assert unseeded == {True, False}
            assert len(raw(client, EXAMPLE)) == 3  # raw_lookup flips no coin
            refused = curator.put("/c/bank/BANK_C", json={"enabled_ratio": 1.5})
            assert refused.status_code == 400
        finally:
            curator.put("/c/bank/BANK_C", json={"enabled_ratio": 1.0})


def test_an_upload_lookup_may_bypass_the_coin_flip(service: ApiService) -> None:
    """HMA's ``lookup_post``: ``bypass_coinflip=true`` sees every bank, a disabled one
    too."""
    data = png(17)
    upload = {"photo": ("q.png", data, "image/png")}
    with service.client("all") as client:
        client.post("/c/banks", json={"name": "SOMETIMES", "enabled_ratio": 0})
        assert client.get("/c/bank/SOMETIMES").json()["matching_enabled_ratio"] == 0.0
        added = client.post("/c/bank/SOMETIMES/content", files=upload)
        content_id = added.json()["id"]

        def bypassed() -> dict[str, object]:
            answer = client.post("/m/lookup", params={"bypass_coinflip": "true"}, files=upload)
            found: dict[str, object] = answer.json()["pdq"]
            return found

        wait_for(lambda: "SOMETIMES" in bypassed())
        assert bypassed()["SOMETIMES"] == [{"bank_content_id": content_id, "distance": "0"}]
        assert "SOMETIMES" not in client.post("/m/lookup", files=upload).json()["pdq"]
        flipped = client.post("/m/lookup", params={"bypass_coinflip": "True"}, files=upload)
        assert "SOMETIMES" not in flipped.json()["pdq"]  # HMA compares with "true" only


def test_md5_and_video_md5(service: ApiService) -> None:
    with service.client("curator") as curator, service.client("matcher") as client:
        curator.post("/c/banks", json={"name": "VIDEOS"})
        added = curator.post("/c/bank/VIDEOS/signal", json={"video_md5": MD5})
        assert added.json()["signals"] == {"video_md5": MD5}
        for name in ("video_md5", "md5"):
            found = client.get("/m/lookup", params={"signal": MD5, "signal_type": name}).json()
            assert found == {"VIDEOS": [{"bank_content_id": added.json()["id"], "distance": "-"}]}


def test_compare_as_threatexchange_answers(service: ApiService) -> None:
    left, right = HmaPdqSignal.get_examples()[:2]
    with service.client("matcher") as client:
        answer = client.post("/m/compare", json={"pdq": [left, right], "video_md5": [MD5, MD5]})
        assert answer.status_code == 200
        expected = HmaPdqSignal.compare_hash(left, right)
        assert answer.json() == {
            "pdq": [expected.match, {"distance": expected.distance.distance}],  # type: ignore[attr-defined]
            "video_md5": [True, {}],
        }
        short = client.post("/m/compare", json={"pdq": [left]})
        assert short.status_code == 400
        assert short.json() == {"message": "Comparison hash list length must be exactly 2"}


def test_index_status_and_type_listings(service: ApiService) -> None:
    with service.client("matcher") as client:
        status = client.get("/m/index/status").json()
        assert set(status) >= {"pdq", "video_md5"}
        assert set(status["pdq"]) == {"present", "built_to", "size"}
        assert status["pdq"]["present"] is True and status["pdq"]["size"] >= 3
        one = client.get("/m/index/status", params={"signal_type": "pdq"}).json()
        assert set(one) == {"pdq"}
        assert client.get("/m/index/status", params={"signal_type": "tmk"}).status_code == 400
        types = client.get("/c/signal_type").json()
        assert {"name": "pdq", "enabled_ratio": 1.0} in types
        assert {"name": "video_md5", "enabled_ratio": 1.0} in types
        contents = client.get("/c/content_type").json()
        assert {"name": "photo", "enabled": True} in contents
        index = client.get("/c/signal_type/index").json()["pdq"]
        assert set(index) == {
            "db_size", "index_size", "index_out_of_date", "newest_db_item", "index_built_to"
        }  # fmt: skip
        one = client.get("/c/signal_type/index", params={"signal_type": "video_md5"})
        assert set(one.json()) == {"video_md5"}
        assert client.get("/c/signal_type/index", params={"signal_type": "tmk"}).status_code == 400


def test_status_routes_and_site_map(service: ApiService) -> None:
    status = httpx.get(service.base + "/status")
    assert (status.status_code, status.text) == (200, "I-AM-ALIVE")
    assert httpx.get(service.base + "/status/live").text == "I-AM-ALIVE"
    routes = httpx.get(service.base + "/site-map").json()
    assert routes == sorted(routes) and "/m/raw_lookup" in routes
    assert "/c/bank/<bank_name>/content/<content_id>" in routes


def test_hashing_a_photo_as_hma_does(service: ApiService) -> None:
    data = png(11)
    with service.client("hasher") as client:
        answer = client.post("/h/hash", files={"photo": ("a.png", data, "image/png")})
        assert answer.status_code == 200
        assert set(answer.json()) == {"pdq"}
        # HMA hashes the full picture; clearsight a 512-pixel luma of it: a few bits apart.
        theirs = HmaPdqSignal.hash_from_bytes(data)
        assert PdqSignal.distance(answer.json()["pdq"], theirs) <= 16
        both = client.post(
            "/h/hash?types=pdq,md5", files={"photo": ("a.png", data, "image/png")}
        ).json()
        assert set(both) == {"pdq", "md5"}
        video = client.post(
            "/h/hash?types=video_md5", files={"video": ("v.mp4", b"\x00\x01 not a video", "")}
        )
        assert video.json() == {
            "video_md5": VideoMD5Signal.hash_from_bytes(b"\x00\x01 not a video")
        }
        # A video's default signal types include vpdq (tests/test_api_vpdq.py), which
        # these bytes cannot give.
        broken = client.post("/h/hash", files={"video": ("v.mp4", b"\x00\x01 not a video", "")})
        assert broken.status_code == 400
        wrong = client.post("/h/hash", files={"audio": ("a.wav", b"RIFF", "audio/wav")})
        assert (wrong.status_code, wrong.json()) == (
            400,
            {"message": "no such content_type: 'audio'"},
        )
        none = client.post("/h/hash", data={"x": "y"})
        assert none.status_code == 400
        two = client.post(
            "/h/hash",
            files=[
                ("photo", ("a.png", data, "image/png")),
                ("photo", ("b.png", data, "image/png")),
            ],
        )
        assert two.json() == {"message": "Only one file allowed per request"}


def test_curation_round_trip(service: ApiService) -> None:
    data = png(12)
    with service.client("all") as client:
        assert client.post("/c/banks", json={"name": "lower_case"}).status_code == 400
        assert client.post("/c/banks", json={"name": "BANK_A"}).status_code == 403
        assert client.get("/c/bank/NOPE").json() == {"message": "bank 'NOPE' not found"}
        assert client.post("/c/banks", json={"name": "ROUND_TRIP"}).status_code == 201
        added = client.post(
            "/c/bank/ROUND_TRIP/content",
            files={"photo": ("p.png", data, "image/png")},
            data={"metadata": '{"content_id": "upload-7", "json": {"k": 1}}', "note": "n"},
        )
        assert added.status_code == 200, added.text
        content_id, pdq = added.json()["id"], added.json()["signals"]["pdq"]
        shown = client.get(
            f"/c/bank/ROUND_TRIP/content/{content_id}", params={"include_signals": "true"}
        ).json()
        assert shown["id"] == content_id and shown["disable_until_ts"] == 0
        assert shown["bank"] == {"name": "ROUND_TRIP", "matching_enabled_ratio": 1.0}
        assert shown["signals"] == {"pdq": pdq}
        assert shown["metadata"] == {"content_id": "upload-7", "json": {"k": 1}}
        assert shown["note"] == "n"
        with_meta = {"signal": pdq, "signal_type": "pdq", "include_metadata": "true"}
        wait_for(lambda: client.get("/m/lookup", params=with_meta).json() != {})
        [match] = client.get("/m/lookup", params=with_meta).json()["ROUND_TRIP"]
        assert match["metadata"]["content_id"] == "upload-7"  # beyond HMA, when asked
        assert match["signals"]["pdq"] == pdq and match["query_signal"] == pdq
        params = {"signal": pdq, "signal_type": "pdq", "banks": "ROUND_TRIP"}
        wait_for(lambda: client.get("/m/lookup", params=params).json() != {})
        # Disabled for a while: out of lookups, still in raw lookups.
        later = int(time.time()) + 3600
        put = client.put(
            f"/c/bank/ROUND_TRIP/content/{content_id}", json={"disable_until_ts": later}
        )
        assert put.status_code == 200 and put.json()["disable_until_ts"] == later
        assert client.get("/m/lookup", params=params).json() == {}
        assert len(raw(client, pdq, banks="ROUND_TRIP")) == 1
        # Deleted: gone from both, at once (a tombstone, not a rebuild).
        gone = client.delete(f"/c/bank/ROUND_TRIP/content/{content_id}")
        assert gone.json() == {"deleted": 1}
        wait_for(lambda: raw(client, pdq, banks="ROUND_TRIP") == [])
        assert client.get(f"/c/bank/ROUND_TRIP/content/{content_id}").status_code == 404
        renamed = client.put("/c/bank/ROUND_TRIP", json={"name": "RENAMED"})
        assert renamed.json() == {"name": "RENAMED", "matching_enabled_ratio": 1.0}
        assert client.delete("/c/bank/RENAMED").json() == {"message": "Done"}
        assert client.get("/c/bank/RENAMED").status_code == 404
    audit = service.cli("api-key", "list", "--json")
    assert audit.returncode == 0


def test_a_post_lookup_nests_under_the_signal_type(service: ApiService) -> None:
    data = png(13)
    with service.client("all") as client:
        client.post("/c/banks", json={"name": "UPLOADS"})
        added = client.post(
            "/c/bank/UPLOADS/content", files={"photo": ("p.png", data, "image/png")}
        )
        content_id = added.json()["id"]
        wait_for(
            lambda: (
                client.post("/m/lookup", files={"photo": ("q.png", data, "image/png")})
                .json()
                .get("pdq", {})
                .get("UPLOADS")
                is not None
            )
        )
        found = client.post("/m/lookup", files={"photo": ("q.png", data, "image/png")}).json()
        assert found["pdq"]["UPLOADS"] == [{"bank_content_id": content_id, "distance": "0"}]
        assert set(found) == {"pdq"}


def test_a_file_exchange_fills_its_bank_through_the_api(
    service: ApiService, tmp_path: Path
) -> None:
    listing = tmp_path / "list.txt"
    hashes = [PdqSignal.unpack(PdqSignal.pack([EXAMPLE]))[0][:-2] + f"{n:02x}" for n in range(3)]
    listing.write_text("".join(f"pdq {value}\n" for value in hashes))
    with service.client("curator") as client:
        made = client.post(
            "/c/exchanges",
            json={"bank": "FEED", "api": "file", "api_json": {"filename": str(listing)}},
        )
        assert (made.status_code, made.json()) == (201, {"message": "Created successfully"})
        assert client.get("/c/exchanges").json() == ["FEED"]
        assert client.get("/c/exchange/FEED").json()["api"] == "file"
        assert client.post("/c/exchange/FEED/fetch").status_code == 202
        wait_for(lambda: client.get("/c/exchange/FEED/status").json()["up_to_date"], 30)
        status = client.get("/c/exchange/FEED/status").json()
        assert set(status) == {
            "checkpoint_ts", "running_fetch_start_ts", "last_fetch_complete_ts",
            "last_fetch_succeeded", "up_to_date", "fetched_items",
        }  # fmt: skip
        assert status["last_fetch_succeeded"] is True
    with service.client("matcher") as client:
        # The three differ in their last byte: each meets all three.
        wait_for(lambda: len(raw(client, hashes[1], banks="FEED")) == 3)
    with service.client("curator") as client:
        assert client.delete("/c/exchange/FEED").json() == {"message": "Exchange deleted"}
        assert client.get("/c/exchange/FEED").status_code == 404


def test_views_find_a_turned_picture_beyond_hma(service: ApiService) -> None:
    picture = photo_like(14, (400, 300))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    turned = io.BytesIO()
    picture.transpose(Image.Transpose.ROTATE_90).save(turned, format="PNG")
    with service.client("all") as client:
        client.post("/c/banks", json={"name": "TURNS"})
        added = client.post(
            "/c/bank/TURNS/content", files={"photo": ("p.png", buffer.getvalue(), "image/png")}
        ).json()

        def lookup(views: str) -> dict[str, object]:
            answer = client.post(
                "/m/lookup",
                params={"views": views, "banks": "TURNS"},
                files={"photo": ("q.png", turned.getvalue(), "image/png")},
            )
            assert answer.status_code == 200, answer.text
            found: dict[str, object] = answer.json()["pdq"]
            return found

        wait_for(lambda: lookup("true") != {})
        assert lookup("false") == {}  # HMA's lookup: the turned copy is a new picture
        matches: list[dict[str, object]] = lookup("true")["TURNS"]  # type: ignore[assignment]
        assert len(matches) == 1
        match = matches[0]
        assert match["bank_content_id"] == added["id"]
        assert match["matched_as"] in DIHEDRAL_TRANSFORMS
