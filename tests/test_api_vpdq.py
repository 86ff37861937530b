"""vPDQ over the matching service, as HMA with its vPDQ extension serves it: a video's
hash is python-threatexchange's VPDQSignal string, banks take it as a signal or from an
uploaded video, and raw_lookup, lookup (by signal and by upload) and compare answer it,
matched by clearsight's video matcher. python-threatexchange is the oracle for the
string's format, its hashes (where the ``vpdq`` binding is built) and its comparisons.
Clips are benign generated pans over landscapes (:mod:`tests.video_clips`).
"""

from __future__ import annotations

import functools
import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from threatexchange.signal_type.md5 import VideoMD5Signal

from .api_support import ApiService, api_service, wait_for
from .video_clips import pan_clip, vpdq_oracle


@dataclass(frozen=True)
class Clips:
    original: Path
    copy: Path  # the same pan, encoded again as WebM/VP9
    other: Path


@dataclass(frozen=True)
class Served:
    service: ApiService
    clips: Clips
    uploaded_id: int  # the original, uploaded to bank VIDEOS
    other_signal: str  # the other clip's vPDQ, added to bank VIDEOS as a signal
    other_id: int
    media: str  # the address the clips are served from (URL input)


def upload(path: Path) -> dict[str, tuple[str, bytes, str]]:
    return {"video": (path.name, path.read_bytes(), f"video/{path.suffix[1:]}")}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("clips")
    clips = Clips(
        pan_clip(folder / "original.mp4", 61, seconds=4),
        pan_clip(folder / "copy.webm", 61, seconds=4, codec="libvpx-vp9"),
        pan_clip(folder / "other.mp4", 62, seconds=4),
    )
    handler = functools.partial(_Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"127.0.0.1:{server.server_address[1]}"
    with (
        api_service(tmp_path_factory.mktemp("api-vpdq"), "--allow-url", host) as running,
        running.client() as client,
    ):
        assert client.post("/c/banks", json={"name": "VIDEOS"}).status_code == 201
        added = client.post("/c/bank/VIDEOS/content", files=upload(clips.original))
        assert added.status_code == 200, added.text
        assert set(added.json()["signals"]) == {"video_md5", "vpdq"}
        other = client.post("/h/hash", files=upload(clips.other)).json()["vpdq"]
        signal = client.post("/c/bank/VIDEOS/signal", json={"vpdq": other})
        assert signal.status_code == 200, signal.text
        assert signal.json()["signals"] == {"vpdq": other}
        try:
            yield Served(
                running, clips, added.json()["id"], other, signal.json()["id"], f"http://{host}"
            )
        finally:
            server.shutdown()
            server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map = {".mp4": "video/mp4", ".webm": "video/webm"}  # noqa: RUF012

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def vpdq_of(client: httpx.Client, path: Path) -> str:
    answer = client.post("/h/hash", files=upload(path))
    assert answer.status_code == 200, answer.text
    value: str = answer.json()["vpdq"]
    return value


def test_a_video_hashes_to_threatexchange_s_vpdq_string(served: Served) -> None:
    with served.service.client("hasher") as client:
        answer = client.post("/h/hash", files=upload(served.clips.original))
        assert answer.status_code == 200, answer.text
        hashes = answer.json()
        assert set(hashes) == {"video_md5", "vpdq"}
        data = served.clips.original.read_bytes()
        assert hashes["video_md5"] == VideoMD5Signal.hash_from_bytes(data)
        frames = json.loads(hashes["vpdq"])
        assert len(frames) == 4  # one frame a second
        for text in frames:
            hex_value, quality, timestamp = text.split(",")
            assert len(hex_value) == 64 and 0 <= int(quality) <= 100 and float(timestamp) >= 0
        chosen = client.post("/h/hash?types=vpdq", files=upload(served.clips.original))
        assert chosen.json() == {"vpdq": hashes["vpdq"]}
        bad = client.post("/h/hash?types=vpdq", files={"video": ("v.mp4", b"\x00 no", "")})
        assert bad.status_code == 400 and "not a decodable video" in bad.json()["message"]


def _threatexchange_vpdq() -> ModuleType:
    vpdq_oracle()  # python-threatexchange's vpdq extension imports the binding
    from threatexchange.extensions.vpdq import vpdq as extension

    return extension


def test_the_hash_is_threatexchange_s_and_parses_back(served: Served) -> None:
    extension = _threatexchange_vpdq()
    with served.service.client("hasher") as client:
        ours = vpdq_of(client, served.clips.original)
    signal = extension.VPDQSignal
    assert signal.validate_signal_str(ours) == ours
    assert extension.vpdq_to_json(extension.json_to_vpdq(ours)) == ours
    assert ours == signal.hash_from_file(served.clips.original)


def test_raw_lookup_and_lookup_by_signal(served: Served) -> None:
    with served.service.client("hasher") as hasher:
        query = vpdq_of(hasher, served.clips.copy)
        other = vpdq_of(hasher, served.clips.other)
    with served.service.client("matcher") as client:

        def raw(signal: str, **params: str) -> list[object]:
            answer = client.get(
                "/m/raw_lookup", params={"signal": signal, "signal_type": "vpdq", **params}
            )
            assert answer.status_code == 200, answer.text
            matches: list[object] = answer.json()["matches"]
            return matches

        wait_for(lambda: raw(query) == [served.uploaded_id])
        assert raw(other) == [served.other_id]
        distances = raw(query, include_distance="true")
        assert len(distances) == 1
        found = distances[0]
        assert isinstance(found, dict) and found["bank_content_id"] == served.uploaded_id
        query_percent, compared = found["distance"].rstrip("%]").split("%[")
        assert float(query_percent) >= 80 and float(compared) >= 80
        assert raw(query, banks="OTHER") == []
        answer = client.get("/m/lookup", params={"signal": query, "signal_type": "vpdq"})
        assert answer.status_code == 200, answer.text
        assert list(answer.json()) == ["VIDEOS"]
        assert [m["bank_content_id"] for m in answer.json()["VIDEOS"]] == [served.uploaded_id]
        bad = client.get("/m/raw_lookup", params={"signal": '["x"]', "signal_type": "vpdq"})
        assert bad.status_code == 400 and "invalid signal" in bad.json()["message"]


def test_the_distance_is_threatexchange_s_for_the_same_frames(served: Served) -> None:
    extension = _threatexchange_vpdq()
    with served.service.client("matcher") as client:
        answer = client.get(
            "/m/raw_lookup",
            params={"signal": served.other_signal, "signal_type": "vpdq", "include_distance": "1"},
        )
        compared = extension.VPDQSignal.compare_hash(served.other_signal, served.other_signal)
        assert answer.json()["matches"] == [
            {"bank_content_id": served.other_id, "distance": compared.distance.pretty_str()}
        ]


def test_lookup_by_upload_nests_by_signal_type(served: Served) -> None:
    with served.service.client("all") as client:
        answer = client.post("/m/lookup", files=upload(served.clips.copy))
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert set(result) == {"video_md5", "vpdq"}
        assert result["video_md5"] == {}  # another file: its bytes differ
        assert [m["bank_content_id"] for m in result["vpdq"]["VIDEOS"]] == [served.uploaded_id]
        same = client.post("/m/lookup", files=upload(served.clips.original)).json()
        assert [m["bank_content_id"] for m in same["video_md5"]["VIDEOS"]] == [served.uploaded_id]


def test_compare_answers_as_threatexchange_compares(served: Served) -> None:
    with served.service.client("hasher") as hasher:
        query = vpdq_of(hasher, served.clips.copy)
        original = vpdq_of(hasher, served.clips.original)
    with served.service.client("matcher") as client:
        same = client.post("/m/compare", json={"vpdq": [query, original]}).json()["vpdq"]
        differ = client.post("/m/compare", json={"vpdq": [query, served.other_signal]}).json()[
            "vpdq"
        ]
    assert same[0] is True and differ[0] is False
    assert set(same[1]) == {"query_match_percent", "compared_match_percent"}
    try:
        extension = _threatexchange_vpdq()
    except pytest.skip.Exception:
        return
    for pair, answer in (((query, original), same), ((query, served.other_signal), differ)):
        theirs = extension.VPDQSignal.compare_hash(*pair)
        assert answer[0] == theirs.match
        assert answer[1] == {
            "query_match_percent": theirs.distance.query_match_percent,
            "compared_match_percent": theirs.distance.compared_match_percent,
        }


def test_listings_and_index_status_name_vpdq(served: Served) -> None:
    with served.service.client("curator") as curator:
        assert {"name": "vpdq", "enabled_ratio": 1.0} in curator.get("/c/signal_type").json()
        index = curator.get("/c/signal_type/index", params={"signal_type": "vpdq"}).json()
        assert index["vpdq"]["db_size"] == 2
        content = curator.get(
            f"/c/bank/VIDEOS/content/{served.other_id}", params={"signal_type": "vpdq"}
        )
        assert content.status_code == 200, content.text
    with served.service.client("matcher") as matcher:
        status = matcher.get("/m/index/status", params={"signal_type": "vpdq"}).json()
        assert status["vpdq"]["present"] is True and status["vpdq"]["size"] == 2


def test_vpdq_routes_refuse_anonymous_and_wrong_roles(served: Served) -> None:
    signal = served.other_signal
    calls: list[tuple[str, str, str, dict[str, object]]] = [
        ("POST", "/h/hash", "matcher", {"files": upload(served.clips.other)}),
        ("GET", "/m/raw_lookup", "hasher", {"params": {"signal": signal, "signal_type": "vpdq"}}),
        ("GET", "/m/lookup", "curator", {"params": {"signal": signal, "signal_type": "vpdq"}}),
        ("POST", "/m/lookup", "curator", {"files": upload(served.clips.other)}),
        ("POST", "/m/compare", "hasher", {"json": {"vpdq": [signal, signal]}}),
        ("POST", "/c/bank/VIDEOS/signal", "matcher", {"json": {"vpdq": signal}}),
        ("POST", "/c/bank/VIDEOS/content", "hasher", {"files": upload(served.clips.other)}),
    ]
    for method, path, wrong, options in calls:
        with served.service.client(None) as anonymous:
            answer = anonymous.request(method, path, **options)  # type: ignore[arg-type]
            assert answer.status_code == 401, (path, answer.text)
        with served.service.client(wrong) as client:
            answer = client.request(method, path, **options)  # type: ignore[arg-type]
            assert answer.status_code == 403, (path, wrong, answer.text)


def test_url_input_hashes_and_looks_up_a_video(served: Served) -> None:
    with served.service.client("hasher") as hasher:
        by_url = hasher.get("/h/hash", params={"url": f"{served.media}/copy.webm"})
        assert by_url.status_code == 200, by_url.text
        assert by_url.json()["vpdq"] == vpdq_of(hasher, served.clips.copy)
    with served.service.client("all") as client:
        answer = client.get(
            "/m/lookup", params={"url": f"{served.media}/copy.webm", "signal_type": "vpdq"}
        )
        assert answer.status_code == 200, answer.text
        assert [m["bank_content_id"] for m in answer.json()["VIDEOS"]] == [served.uploaded_id]


def test_a_signal_type_s_enabled_ratio_is_kept_as_hma_keeps_it(served: Served) -> None:
    with served.service.client("curator") as curator:
        changed = curator.put("/c/signal_type/vpdq", json={"enabled_ratio": "0.25"})
        assert (changed.status_code, changed.content) == (204, b"")
        listed = {t["name"]: t["enabled_ratio"] for t in curator.get("/c/signal_type").json()}
        assert listed["vpdq"] == 0.25 and listed["pdq"] == 1.0
        for body, status in (
            ({}, 400),
            ({"enabled_ratio": "half"}, 400),
            ({"enabled_ratio": 2}, 400),
        ):
            assert curator.put("/c/signal_type/vpdq", json=body).status_code == status
        assert curator.put("/c/signal_type/tmk", json={"enabled_ratio": 1}).status_code == 400
        # As HMA (SignalTypeConfig.enabled is ratio >= 0): the type still hashes and matches.
        with served.service.client("matcher") as matcher:
            found = matcher.get(
                "/m/raw_lookup", params={"signal": served.other_signal, "signal_type": "vpdq"}
            )
            assert found.json()["matches"] == [served.other_id]
        assert curator.put("/c/signal_type/vpdq", json={"enabled_ratio": 1.0}).status_code == 204
    with served.service.client("matcher") as wrong:
        refused = wrong.put("/c/signal_type/vpdq", json={"enabled_ratio": 1.0})
        assert refused.status_code == 403
    with served.service.client(None) as anonymous:
        refused = anonymous.put("/c/signal_type/vpdq", json={"enabled_ratio": 1.0})
        assert refused.status_code == 401
