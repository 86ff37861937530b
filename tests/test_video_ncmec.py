"""NCMEC's ``<videos>`` list: exact video digests, read as python-threatexchange reads them.

python-threatexchange's NCMEC client is the oracle twice over: its parser
(``GetEntriesResponse.from_xml``, through the whole client path, its HTTP session
answered from the file) says which entries a page holds and which withdraw one, and
its exchange's conversion says what each fingerprint is: a video entry's ``md5`` is a
``VideoMD5Signal``, the MD5 of the video file's bytes, matched exactly. clearsight
keeps it as an ``md5`` entry, which matches an item whose file has that MD5, so a
scanned video is found by its digest and is no longer found once the entry is
withdrawn by a ``<deletedVideo>``.

The videos are benign generated pans; every id is a neutral word.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import requests
from threatexchange.exchanges.clients.ncmec.hash_api import (
    GetEntriesResponse,
    NCMECEntryType,
    NCMECEnvironment,
    NCMECHashAPI,
)
from threatexchange.exchanges.impl.ncmec_api import _get_conversion
from threatexchange.signal_type.md5 import VideoMD5Signal
from threatexchange.signal_type.pdq.signal import PdqSignal

from clearsight import Case
from clearsight.banks.formats.ncmec_xml import parse_ncmec_xml
from clearsight.banks.records import BankSignal, ImportedEntry

from .conftest import run_cli
from .video_clips import pan_clip

_NAMESPACE = "https://hashsharing.ncmec.org/hashsharing/v2"


class _FileAnswer(requests.adapters.BaseAdapter):
    """Answers every request with one page's bytes, as the service would send them."""

    def __init__(self, body: bytes) -> None:
        super().__init__()
        self.body = body

    def send(
        self, request: requests.PreparedRequest, *args: object, **kwargs: object
    ) -> requests.Response:
        response = requests.Response()
        response.status_code = 200
        response._content = self.body
        response.headers["Content-Type"] = "application/xml"
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _answering(body: bytes) -> Callable[..., requests.Session]:
    def session(*_args: object) -> requests.Session:
        answered = requests.Session()
        answered.mount("https://", _FileAnswer(body))
        return answered

    return session


def ncmec_oracle(path: Path) -> GetEntriesResponse:
    api = NCMECHashAPI("test-user", "test-password", NCMECEnvironment.test_NGO)
    api._get_session = _answering(path.read_bytes())  # type: ignore[method-assign]
    return api.get_entries(start_timestamp=1, end_timestamp=2)


def videos_page(path: Path, entries: list[tuple[str, str | None]]) -> Path:
    """A page of ``<video>`` entries (id, file MD5) and ``<deletedVideo>`` ones (id, None)."""
    parts = []
    for entry_id, md5 in entries:
        common = (
            '<member id="7">Test Member</member><timestamp>2026-01-02T03:04:05Z</timestamp>'
            f"<id>{entry_id}</id>"
        )
        if md5 is None:
            parts.append(f"<deletedVideo>{common}</deletedVideo>")
        else:
            parts.append(
                f"<video>{common}<classification>A1</classification>"
                f"<fingerprints><md5>{md5.upper()}</md5></fingerprints></video>"
            )
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<queryResult xmlns="{_NAMESPACE}">'
        f'<videos count="{len(entries)}" maxTimestamp="2026-01-02T03:04:05Z">'
        f"{''.join(parts)}</videos></queryResult>",
        encoding="utf-8",
    )
    return path


def oracle_video_digests(path: Path) -> dict[str, tuple[bool, set[str]]]:
    """Per entry id: whether it withdraws, and its values threatexchange's NCMEC exchange
    turns into VideoMD5Signal."""
    conversion = _get_conversion([VideoMD5Signal, PdqSignal])
    found: dict[str, tuple[bool, set[str]]] = {}
    for update in ncmec_oracle(path).updates:
        assert update.entry_type is NCMECEntryType.video
        values = {
            VideoMD5Signal.validate_signal_str(value)
            for name, value in update.fingerprints.items()
            if conversion.get((update.entry_type, name)) is VideoMD5Signal
        }
        found[update.id] = (update.deleted, values)
    return found


def md5_matches(case: Case) -> dict[str, set[str | None]]:
    return {
        Path(row.path).stem: {m.external_id for m in row.matches if m.signal == "md5"}
        for row in case.items()
    }


def test_ncmec_videos_match_scanned_videos_by_digest_until_withdrawn(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    walk = pan_clip(source / "walk.mp4", seed=51, seconds=2)
    harbour = pan_clip(source / "harbour.webm", seed=52, seconds=2, codec="libvpx-vp9")
    pan_clip(source / "unlisted.mp4", seed=53, seconds=2)
    digests = {
        "test-video-1": VideoMD5Signal.hash_from_file(walk),
        "test-video-2": VideoMD5Signal.hash_from_file(harbour),
    }
    page = videos_page(tmp_path / "videos.xml", list(digests.items()))

    oracle = oracle_video_digests(page)
    assert oracle == {entry_id: (False, {md5}) for entry_id, md5 in digests.items()}
    entries = list(parse_ncmec_xml(page))
    assert all(isinstance(entry, ImportedEntry) for entry in entries)
    ours = {
        entry.metadata.external_id: (
            entry.remove,
            {value for kind, value in entry.signals if kind is BankSignal.MD5},
        )
        for entry in entries
        if isinstance(entry, ImportedEntry)
    }
    assert ours == oracle

    imported = run_cli("bank", "import", "ncmec", page, "--on-error", "stop", "--json")
    assert imported.returncode == 0, imported.stderr
    assert json.loads(imported.stdout)["added"] == 2
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        case.match()
        assert md5_matches(case) == {
            "walk": {"test-video-1"},
            "harbour": {"test-video-2"},
            "unlisted": set(),
        }
        scanned = {Path(row.path).stem: row.md5 for row in case.items()}
    assert scanned["walk"] == digests["test-video-1"]  # the oracle's file MD5

    withdrawal = videos_page(tmp_path / "withdrawal.xml", [("test-video-2", None)])
    assert oracle_video_digests(withdrawal) == {"test-video-2": (True, set())}
    removed = run_cli("bank", "import", "ncmec", withdrawal, "--on-error", "stop", "--json")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["removed"] == 1
    with Case.open(tmp_path / "case") as case:
        case.match()
        assert md5_matches(case) == {
            "walk": {"test-video-1"},
            "harbour": set(),
            "unlisted": set(),
        }
