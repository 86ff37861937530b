"""Reviewing a video frame by frame: each kept frame previews blurred, and a reveal of one
frame shows that frame alone, counts on the exposure meter, is audited, and is recorded,
so the case says which frames were seen unblurred."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from clearsight.media.video import VideoReader
from clearsight.review.accounts import Role
from clearsight.review.preview import PreviewRenderer
from clearsight.review.settings import PreviewPrefs, RevealMode

from .server_support import ReviewCase, open_review_case, write_evidence
from .video_clips import pan_clip

PREFS = PreviewPrefs(4, True, RevealMode.HOLD)


@pytest.fixture
def case(tmp_path: Path) -> Iterator[ReviewCase]:
    """The server tests' pictures and one video, scanned by the scan's own code."""
    folder = tmp_path / "evidence"
    folder.mkdir()
    pan_clip(folder / "walk.mp4", seed=71, seconds=3, fps=24, size=(320, 180))
    scanned = write_evidence(folder)
    yield from open_review_case("sqlite", tmp_path / "store", scanned, folder)


def test_a_revealed_frame_is_that_frame_alone_and_the_case_records_it(case: ReviewCase) -> None:
    video = case.items["walk.mp4"]
    record = case.store.video(video)
    assert record is not None
    assert [f.number for f in record.frames if f.exact] == [0, 24, 48]
    browser = case.sign_in(Role.REVIEWER)
    renderer = PreviewRenderer(case.store)

    blurred = browser.get(f"/items/{video}/frames/24/preview")
    assert blurred.status_code == 200 and blurred.headers["cache-control"] == "no-store"
    assert blurred.content == renderer.render_frame(video, 24, PREFS).data
    assert Image.open(io.BytesIO(blurred.content)).mode == "L"
    # Only frames the scan kept at full resolution are shown; a picture has none.
    assert browser.get(f"/items/{video}/frames/5/preview").status_code == 404
    assert browser.get(f"/items/{case.items['lone-a.png']}/frames/0/preview").status_code == 404

    answer = browser.api("POST", f"/api/items/{video}/reveals?frame=24")
    assert answer.status_code == 201, answer.text
    shown = browser.get(answer.json()["image_url"])
    assert shown.status_code == 200
    # Frame 24, unblurred, and nothing else: not the contact sheet, not another frame.
    assert shown.content == renderer.render_frame(video, 24, PREFS, revealed=True).data
    assert shown.content != renderer.render_frame(video, 48, PREFS, revealed=True).data
    assert shown.content != renderer.render(video, PREFS, revealed=True).data
    assert shown.content != blurred.content
    with VideoReader(str(case.folder / "walk.mp4")) as reader:
        frame = reader.frame(24)
    assert frame is not None and frame.number == 24 and frame.exact
    drawn = np.asarray(Image.open(io.BytesIO(shown.content)).convert("L").resize((320, 180)))
    truth = np.asarray(Image.fromarray(frame.rgb).convert("L"))
    other = np.asarray(Image.fromarray(reader_frame(case, 48)).convert("L"))
    # The same picture, through JPEG; farther from the frame two seconds on.
    assert np.abs(drawn.astype(int) - truth).mean() < 6
    assert np.abs(drawn.astype(int) - other).mean() > np.abs(drawn.astype(int) - truth).mean()

    ended = browser.api("POST", f"/api/reveals/{answer.json()['reveal_id']}/end", {"seconds": 2})
    assert ended.status_code == 200
    assert case.store.revealed_frames(video) == (24,)
    assert case.store.revealed_among([video]) == {video}
    listed = browser.get(f"/api/items/{video}").json()["video_frames"]
    assert [(f["number"], f["seen_unblurred"]) for f in listed] == [
        (0, False),
        (24, True),
        (48, False),
    ]
    assert listed[0]["representative"] and listed[1]["timestamp"] == 1.0
    assert browser.get(f"/api/items/{case.items['lone-a.png']}").json()["video_frames"] == []
    (entry,) = [e for e in case.store.audit_log().entries() if e.action == "reveal"]
    assert (entry.subject, entry.detail) == (f"item:{video}", {"reveal": 1, "frame": 24})


def reader_frame(case: ReviewCase, number: int) -> np.typing.NDArray[np.uint8]:
    with VideoReader(str(case.folder / "walk.mp4")) as reader:
        frame = reader.frame(number)
    assert frame is not None
    return frame.rgb


def test_a_frame_reveal_counts_on_the_meter_and_stops_at_the_budget(case: ReviewCase) -> None:
    admin = case.sign_in(Role.ADMIN)
    budget = admin.api("PUT", "/api/settings/daily_exposure_budget_s", {"value": 60})
    assert budget.status_code == 200
    video = case.items["walk.mp4"]
    browser = case.sign_in(Role.REVIEWER)
    first = browser.api("POST", f"/api/items/{video}/reveals?frame=0")
    assert first.status_code == 201 and first.json()["seconds_today"] == 0
    case.clock.advance(61)
    browser.api("POST", f"/api/reveals/{first.json()['reveal_id']}/end", {"seconds": 61})
    assert browser.get("/api/me").json()["seconds_today"] >= 60
    refused = browser.api("POST", f"/api/items/{video}/reveals?frame=24")
    assert refused.status_code == 403
    assert "limit of 1 minute" in refused.json()["detail"]
    assert case.store.revealed_frames(video) == (0,)
    # Blurred frames are still shown.
    assert browser.get(f"/items/{video}/frames/24/preview").status_code == 200


def test_a_frame_the_scan_did_not_keep_cannot_be_revealed(case: ReviewCase) -> None:
    video, still = case.items["walk.mp4"], case.items["lone-a.png"]
    browser = case.sign_in(Role.REVIEWER)
    for item, frame in ((video, 5), (video, 10_000), (still, 0)):
        answer = browser.api("POST", f"/api/items/{item}/reveals?frame={frame}")
        assert answer.status_code in (400, 404), (item, frame, answer.text)
    assert browser.api("POST", f"/api/items/{video}/reveals?frame=-1").status_code == 422
    assert case.store.revealed_frames(video) == ()
    assert [e for e in case.store.audit_log().entries() if e.action == "reveal"] == []


def test_frames_are_refused_anonymous_and_to_a_role_that_may_not_reveal(
    case: ReviewCase,
) -> None:
    video = case.items["walk.mp4"]
    anonymous = TestClient(case.app)
    page = anonymous.get(f"/items/{video}/frames/24/preview", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["x-clearsight-refused"] == "sign-in"
    api = anonymous.post(f"/api/items/{video}/reveals?frame=24")
    assert api.status_code in (401, 403) and api.headers["x-clearsight-refused"] == "sign-in"
    auditor = case.sign_in(Role.AUDITOR)
    refused = auditor.api("POST", f"/api/items/{video}/reveals?frame=24")
    assert refused.status_code == 403 and refused.headers["x-clearsight-refused"] == "role"
    # An auditor reads the blurred frames, as any blurred preview; an administrator
    # reviews nothing.
    assert auditor.get(f"/items/{video}/frames/24/preview").status_code == 200
    admin = case.sign_in(Role.ADMIN).get(f"/items/{video}/frames/24/preview")
    assert admin.status_code == 403 and admin.headers["x-clearsight-refused"] == "role"
    assert case.store.revealed_frames(video) == ()


def test_a_decision_after_a_frame_reveal_does_not_say_the_video_was_viewed(
    case: ReviewCase,
) -> None:
    video = case.items["walk.mp4"]
    browser = case.sign_in(Role.REVIEWER)
    frame = browser.api("POST", f"/api/items/{video}/reveals?frame=24")
    browser.api("POST", f"/api/reveals/{frame.json()['reveal_id']}/end", {"seconds": 1})
    decision = {"category": "0", "origin": "camera", "victim_identified": "unknown"}
    first = browser.api("POST", f"/api/items/{video}/decisions", decision)
    assert first.status_code == 201, first.text
    assert first.json()["decisions"][0]["viewed_unblurred"] is False  # a frame is not the file
    whole = browser.api("POST", f"/api/items/{video}/reveals")
    browser.api("POST", f"/api/reveals/{whole.json()['reveal_id']}/end", {"seconds": 1})
    case.clock.advance(1)
    second = browser.api("POST", f"/api/items/{video}/decisions", decision)
    assert second.status_code == 201, second.text
    assert second.json()["decisions"][0]["viewed_unblurred"] is True


def test_the_item_page_lists_the_shots_and_reveals_one_frame_by_the_plain_form(
    case: ReviewCase,
) -> None:
    video = case.items["walk.mp4"]
    browser = case.sign_in(Role.REVIEWER)
    page = browser.get(f"/items/{video}")
    assert page.status_code == 200
    assert f'src="/items/{video}/frames/0/preview"' in page.text
    assert 'name="frame" value="0"' in page.text
    answer = browser.form(f"/items/{video}/reveal", {"frame": "0"})
    assert answer.status_code == 303
    revealed = browser.get(answer.headers["location"])
    assert "frame 0 alone" in revealed.text
    reveal_id = case.store.audit_log().entries()[-1].detail["reveal"]
    assert f'src="/reveals/{reveal_id}/image"' in revealed.text
    shown = browser.get(f"/reveals/{reveal_id}/image")
    renderer = PreviewRenderer(case.store)
    assert shown.content == renderer.render_frame(video, 0, PREFS, revealed=True).data
    assert case.store.revealed_frames(video) == (0,)
    # A picture has no shots to list.
    assert "video-frames" not in browser.get(f"/items/{case.items['lone-a.png']}").text
