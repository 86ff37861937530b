"""Videos in the scan: facts, vPDQ bit-identical to the reference, and the guards."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from clearsight import Case
from clearsight.banks.records import BankSignal
from clearsight.media.video import VideoDecodeError, VideoLimits, VideoReader
from clearsight.scan import ScanOptions
from clearsight.signals.frame_pdq import frame_pdq, frame_pdq_dihedral
from clearsight.signals.pdq import PdqSignal
from clearsight.signals.vpdq import (
    VpdqFeature,
    match_percent_brute,
    parse_signal_string,
    to_signal_string,
)
from clearsight.store.interface import ItemRow, Selection

from .video_clips import pan_clip, pan_frames, vpdq_oracle, write_clip


def our_vpdq(path: Path, every_seconds: float = 1.0) -> list[tuple[str, int, int, float]]:
    with VideoReader(str(path)) as reader:
        return [
            (*frame_pdq(frame.rgb), frame.number, frame.timestamp)
            for frame in reader.frames(every_seconds)
        ]


@pytest.mark.parametrize(
    ("name", "codec", "fps"),
    [
        ("clip.mp4", "libx264", 30),
        ("clip.webm", "libvpx-vp9", 25),
        ("clip.avi", "mpeg4", 12),
        ("clip.mkv", "libx264", 24),
    ],
)
def test_vpdq_is_bit_identical_to_the_reference_binding(
    tmp_path: Path, name: str, codec: str, fps: int
) -> None:
    vpdq = vpdq_oracle()
    clip = pan_clip(tmp_path / name, seed=fps, seconds=4, fps=fps, codec=codec)
    theirs = [(f.hex, f.quality, f.frame_number, f.timestamp) for f in vpdq.computeHash(str(clip))]
    assert len(theirs) == 4
    assert our_vpdq(clip) == theirs
    # Denser sampling (an own bank's) follows the same rule.
    dense = [
        (f.hex, f.quality, f.frame_number)
        for f in vpdq.computeHash(str(clip), seconds_per_hash=0.25)
    ]
    assert [row[:3] for row in our_vpdq(clip, 0.25)] == dense


def test_odd_sizes_and_a_plain_start_hash_as_the_reference(tmp_path: Path) -> None:
    vpdq = vpdq_oracle()
    frames = pan_frames(3, 202, 114, 45)
    frames[:15] = [np.zeros_like(frames[0])] * 15  # black frames first: quality 0
    clip = write_clip(tmp_path / "odd.mp4", frames, fps=15)
    theirs = [(f.hex, f.quality, f.frame_number, f.timestamp) for f in vpdq.computeHash(str(clip))]
    ours = our_vpdq(clip)
    assert ours == theirs
    assert ours[0][1] == 0 and ours[1][1] >= 50


def test_the_mirror_hash_is_the_hash_of_the_flipped_frame() -> None:
    frame = pan_frames(5, 640, 360, 1)[0]
    hashed = frame_pdq_dihedral(frame)
    assert hashed.hex == frame_pdq(frame)[0]
    # The same DCT's sign changes: within a few bits of hashing the flipped pixels (the
    # reference's box filter is not quite symmetric).
    flipped = frame_pdq(np.ascontiguousarray(frame[:, ::-1]))[0]
    assert PdqSignal.distance(hashed.dihedral[4], flipped) <= 16
    assert PdqSignal.distance(hashed.hex, flipped) > 64
    # Full-resolution luma in single precision, as vPDQ mixes it, stays within a bit or
    # two of pdqhash's double-precision mix of the same frame.
    other = PdqSignal.hash_from_luma(np.asarray(frame.mean(axis=2), np.uint8)).hex
    assert PdqSignal.distance(hashed.hex, other) < 40


def test_signal_strings_read_and_write_as_python_threatexchange_does(tmp_path: Path) -> None:
    vpdq_oracle()  # python-threatexchange's vpdq extension imports the binding
    from threatexchange.extensions.vpdq import vpdq_util

    clip = pan_clip(tmp_path / "clip.mp4", seed=4, seconds=3)
    features = [VpdqFeature(h, q, t) for h, q, _, t in our_vpdq(clip)]
    features.append(VpdqFeature("0" * 64, 12, 123.4567))
    ours = to_signal_string(features)
    compact = [vpdq_util.VpdqCompactFeature(f.hex, f.quality, f.timestamp) for f in features]
    assert ours == vpdq_util.vpdq_to_json(compact)
    assert parse_signal_string(vpdq_util.vpdq_to_json(compact)) == [
        VpdqFeature(f.pdq_hex, f.quality, f.timestamp) for f in vpdq_util.json_to_vpdq(ours)
    ]
    for bad in ("{}", '["abc,1,2"]', '["' + "0" * 64 + ',101,1"]', "not json"):
        with pytest.raises(ValueError, match="vpdq"):
            parse_signal_string(bad)


def test_brute_match_percentages_are_the_reference_matchers(tmp_path: Path) -> None:
    vpdq_oracle()
    from threatexchange.extensions.vpdq import vpdq_brute_matcher, vpdq_util

    a = [VpdqFeature(h, q, t) for h, q, _, t in our_vpdq(pan_clip(tmp_path / "a.mp4", 1))]
    b = [VpdqFeature(h, q, t) for h, q, _, t in our_vpdq(pan_clip(tmp_path / "b.mp4", 2))]
    half = a[:2] + b[2:]
    for query, compared in ((a, a), (a, b), (half, a), (a, half)):
        theirs = vpdq_brute_matcher.match_VPDQ_hash_brute(
            [vpdq_util.VpdqCompactFeature(f.hex, f.quality, f.timestamp) for f in query],
            [vpdq_util.VpdqCompactFeature(f.hex, f.quality, f.timestamp) for f in compared],
            50,
            31,
        )
        ours = match_percent_brute(query, compared)
        assert (ours.query, ours.compared) == (
            theirs.query_match_percent,
            theirs.compared_match_percent,
        )


def test_a_scanned_video_has_facts_and_vpdq_frames(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    frames = pan_frames(9, 320, 180, 90) + pan_frames(10, 320, 180, 60)  # two shots
    write_clip(source / "walk.mp4", frames, fps=30, audio=True)
    with Case.open(tmp_path / "case", create=True) as case:
        report = case.scan([source])
        assert report.tally.errors == 0
        rows = {row.path: row for row in case.items()}
        row = rows["walk.mp4"]
        assert (row.kind, row.media_type, row.width, row.height) == ("video", "video/mp4", 320, 180)
        assert row.video is not None
        assert (row.video.codec, row.video.frames_decoded, row.video.frames_hashed) == (
            "h264",
            150,
            5,
        )
        assert row.video.has_audio and row.video.duration == pytest.approx(5.0, abs=0.1)
        assert row.md5 is not None and row.pdq is not None
        item_id = next(item for item, r in _ids(case) if r.path == "walk.mp4")
        video = case.video(item_id)
        assert video is not None
        exact = [f for f in video.frames if f.exact]
        assert [f.timestamp for f in exact] == [0.0, 1.0, 2.0, 3.0, 4.0]
        # Between them, one frame every quarter second (7 frames at 30 fps), hashed smaller.
        assert [f.number for f in video.frames[:6]] == [0, 7, 14, 21, 28, 30]
        representatives = [f.timestamp for f in video.frames if f.representative]
        assert representatives[0] == 0.0 and 3.0 in representatives
        assert row.pdq == exact[0].pdq
        assert all(f.mirror is not None and len(f.mirror) == 64 for f in video.frames)
        assert all(f.trimmed is None for f in video.frames)  # no black bars
        try:
            vpdq = vpdq_oracle()
        except pytest.skip.Exception:
            return
        theirs = [(f.hex, f.quality) for f in vpdq.computeHash(str(source / "walk.mp4"))]
        assert [(f.pdq, f.quality) for f in exact] == theirs


def _ids(case: Case) -> list[tuple[int, ItemRow]]:
    return [pair for page in case._store.item_pages(Selection(), 100) for pair in page]  # noqa: SLF001


def test_broken_and_oversized_videos_are_error_rows_and_the_scan_goes_on(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    good = pan_clip(source / "good.mp4", seed=2, seconds=3)
    data = good.read_bytes()
    (source / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (source / "garbage.mp4").write_bytes(data[:64] + bytes(range(256)) * 40)
    long = pan_clip(source / "long.mp4", seed=3, seconds=4)
    options = ScanOptions(workers=1, video_limits=VideoLimits(max_seconds=3.5))
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source], options)
        rows = {row.path: row for row in case.items()}
    assert rows["good.mp4"].error is None and rows["good.mp4"].video is not None
    assert rows["good.mp4"].video.frames_hashed == 3
    for name in ("truncated.mp4", "garbage.mp4"):
        error = rows[name].error
        assert error is not None and error.startswith("decode: ") and "\n" not in error
        assert rows[name].md5 is not None  # the digests are kept
    assert rows[long.name].error == "decode: duration of 4 s exceeds the cap of 3.5 s"


def test_reader_guards_name_their_cap(tmp_path: Path) -> None:
    clip = pan_clip(tmp_path / "clip.mp4", seed=6, seconds=2, size=(320, 180))
    with pytest.raises(VideoDecodeError, match="exceeds the cap of 1000 pixels"):
        VideoReader(str(clip), VideoLimits(max_frame_pixels=1000))
    with VideoReader(str(clip), VideoLimits(max_frames=10)) as reader:
        with pytest.raises(VideoDecodeError, match="more than 10 frames"):
            list(reader.frames())
    with pytest.raises(VideoDecodeError, match="not a readable video container"):
        VideoReader(str(tmp_path / "missing.mp4"))
    with VideoReader(str(clip)) as reader:
        facts = reader.facts
    assert (facts.container, facts.codec, facts.frame_rate, facts.has_audio) == (
        "mov,mp4,m4a,3gp,3g2,mj2",
        "h264",
        30.0,
        False,
    )
    assert dict(facts.tags).get("encoder", "").startswith("Lavf")
    json.dumps(facts.tags)


def test_a_confirmed_new_video_goes_on_the_hash_list_with_its_vpdq(tmp_path: Path) -> None:
    from datetime import datetime

    from clearsight.banks.formats.export import write_csv
    from clearsight.categories import HumanOrigin, VictimIdentified
    from clearsight.report.hash_lists import confirmed_new
    from clearsight.report.rows import ReportRow
    from clearsight.store.review.decisions import DecisionStatus, ReviewDecision

    source = tmp_path / "source"
    source.mkdir()
    pan_clip(source / "new.mp4", seed=12, seconds=3)
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        ((item_id, row),) = _ids(case)
        decision = ReviewDecision(
            1, item_id, "reviewer", None, "test-category-1", HumanOrigin.CAMERA, None,
            VictimIdentified.UNKNOWN, "", False, None, datetime(2026, 1, 1),
        )  # fmt: skip
        report_row = ReportRow(item_id, row, (decision,), False, DecisionStatus.FINAL)
        (entry,) = list(confirmed_new([report_row], case.video))
        video = case.video(item_id)
    assert video is not None
    signals = dict(entry.signals)
    exact = [f for f in video.frames if f.exact]
    assert parse_signal_string(signals[BankSignal.VPDQ]) == [
        VpdqFeature(f.pdq, f.quality, f.timestamp) for f in exact
    ]
    out = io.StringIO()
    write_csv([entry], out)
    assert next(csv.DictReader(io.StringIO(out.getvalue())))["vpdq"] == signals[BankSignal.VPDQ]


def test_copies_of_a_video_stack_and_a_still_from_it_joins_their_series(tmp_path: Path) -> None:
    from PIL import Image

    source = tmp_path / "source"
    source.mkdir()
    frames = pan_frames(40, 320, 180, 24 * 6, shots=2)
    write_clip(source / "walk.mp4", frames, fps=24)
    write_clip(source / "copy.webm", frames, fps=24, codec="libvpx-vp9")
    Image.fromarray(frames[24 * 4 + 5]).save(source / "still.png")  # between sample points
    write_clip(source / "other.mp4", pan_frames(41, 320, 180, 24 * 4), fps=24)
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        case.triage()
        rows = {row.path: row for row in case.items()}
    walk, copy, still, other = (
        rows[n] for n in ("walk.mp4", "copy.webm", "still.png", "other.mp4")
    )
    assert walk.stack is not None and walk.stack == copy.stack
    assert still.series is not None and still.series == walk.series == copy.series
    assert other.series != walk.series and other.stack != walk.stack


def test_a_video_s_origin_is_its_c2pa_manifest_and_its_tags_or_inconclusive(
    shared_data: Path, tmp_path: Path
) -> None:
    from clearsight.origin.evidence import OriginInput, PointsTo
    from clearsight.origin.video_metadata import VideoTagsDetector
    from clearsight.store.interface import Verdict

    source = tmp_path / "source"
    source.mkdir()
    (source / "signed.mp4").write_bytes((shared_data / "provenance" / "video1.mp4").read_bytes())
    pan_clip(source / "plain.mp4", seed=14, seconds=2)
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        ids = {row.path: item_id for item_id, row in _ids(case)}
        signed = case.store.item_facts(ids["signed.mp4"])
        plain = case.store.item_facts(ids["plain.mp4"])
        signed_row = next(row for row in case.items() if row.path == "signed.mp4")
    assert signed_row.video is not None and signed_row.error is None
    assert signed is not None and signed.origin is not None
    assert plain is not None and plain.origin is not None
    details = [str(item["detail"]) for item in signed.origin.evidence]
    assert any(detail.startswith("C2PA manifest") for detail in details), details
    assert plain.origin.verdict is Verdict.INCONCLUSIVE and plain.origin.evidence == ()
    phone = VideoTagsDetector(
        [("com.apple.quicktime.make", "Apple"), ("com.apple.quicktime.model", "iPhone 15")]
    ).examine(OriginInput(b"", "video/quicktime"))
    assert [(e.points_to, e.strength.value) for e in phone] == [(PointsTo.CAMERA, "weak")]
    assert "iPhone 15" in phone[0].detail
    made = VideoTagsDetector([("encoder", "Sora 2 export")]).examine(OriginInput(b"", "video/mp4"))
    assert [e.points_to for e in made] == [PointsTo.AI]
    assert VideoTagsDetector([("encoder", "Lavf62.12.102")]).examine(OriginInput(b"", "")) == []


def test_a_long_video_gets_the_time_limit_once_for_every_ten_minutes() -> None:
    import signal

    from clearsight.media.video import VideoFacts
    from clearsight.scan.fingerprint import _video_time_limit

    facts = VideoFacts("mp4", "h264", 320, 180, 30.0, 1500.0, False)
    try:
        _video_time_limit(100.0, facts)  # 25 minutes: three spans of ten
        remaining, _ = signal.getitimer(signal.ITIMER_REAL)
        assert 299.0 < remaining <= 300.0
        _video_time_limit(100.0, replace(facts, duration=None))
        assert signal.getitimer(signal.ITIMER_REAL)[0] <= 100.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def test_a_video_previews_as_a_blurred_contact_sheet_of_its_frames(tmp_path: Path) -> None:
    from PIL import Image

    from clearsight.review.preview import PreviewRenderer
    from clearsight.review.settings import PreviewPrefs, RevealMode

    source = tmp_path / "source"
    source.mkdir()
    pan_clip(source / "walk.mp4", seed=15, seconds=6, size=(320, 180))
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        ((item_id, _),) = _ids(case)
        renderer = PreviewRenderer(case.store)
        prefs = PreviewPrefs(blur=4, greyscale=True, reveal_mode=RevealMode.HOLD)
        blurred = renderer.render(item_id, prefs)
        revealed = renderer.render(item_id, prefs, revealed=True)
    assert blurred.blurred and blurred.greyscale and not revealed.blurred
    with Image.open(io.BytesIO(revealed.data)) as sheet:
        assert sheet.mode == "L"
        grid = np.asarray(sheet, np.float64)
    # Six frames, three across: a 3x2 grid of 16:9 tiles.
    assert (revealed.width, revealed.height) == (sheet.width, sheet.height)
    assert abs(revealed.width / revealed.height - (3 * 16) / (2 * 9)) < 0.05
    with Image.open(io.BytesIO(blurred.data)) as soft:
        smooth = np.asarray(soft, np.float64)
    assert np.abs(np.diff(smooth, axis=1)).mean() < 0.5 * np.abs(np.diff(grid, axis=1)).mean()


@pytest.mark.parametrize(
    ("name", "codec", "options"),
    [
        ("clip.mp4", "libx264", {"bf": "3", "b-pyramid": "normal"}),
        ("clip.ts", "libx264", {"bf": "2"}),
        ("clip.mkv", "libx265", {"x265-params": "log-level=none:bframes=4"}),
    ],
)
def test_skipping_unreferenced_frames_keeps_the_reference_s_frames(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, codec: str, options: dict[str, str]
) -> None:
    vpdq = vpdq_oracle()
    frames = pan_frames(21, 320, 180, 24 * 5, shots=2)
    # The MPEG-TS clip carries sound too: the reader's stream is the first video stream.
    audio = name.endswith(".ts")
    clip = write_clip(tmp_path / name, frames, fps=24, codec=codec, options=options, audio=audio)
    theirs = [(f.hex, f.quality, f.frame_number, f.timestamp) for f in vpdq.computeHash(str(clip))]
    dense = [
        (f.hex, f.quality, f.frame_number)
        for f in vpdq.computeHash(str(clip), seconds_per_hash=0.25)
    ]

    def no_full_decode(*args: object) -> None:
        raise AssertionError("decoded every frame")

    # These codecs mark unreferenced frames: the reader never decodes every frame.
    monkeypatch.setattr(VideoReader, "_full_decode", no_full_decode)
    assert our_vpdq(clip) == theirs
    assert [row[:3] for row in our_vpdq(clip, 0.25)] == dense
    with VideoReader(str(clip)) as reader:
        list(reader.frames(1.0, dense_seconds=0.25))
        assert (reader.frames_decoded, reader.stopped) == (len(frames), None)


def test_a_frame_off_the_skipping_plan_decodes_the_video_again_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    vpdq = vpdq_oracle()
    clip = pan_clip(tmp_path / "clip.mp4", seed=22, seconds=5, fps=24)
    theirs = [(f.hex, f.quality, f.frame_number, f.timestamp) for f in vpdq.computeHash(str(clip))]
    planned = VideoReader._skipping_plan

    def losing_a_frame(reader: VideoReader, *args: Any) -> Any:
        # The decoder gives frame 72 (a sampled one) where the plan has no such time.
        plan = planned(reader, *args)
        assert plan is not None
        lost = next(pts for pts, number in plan.numbers.items() if number == 72)
        return replace(plan, numbers={k: v for k, v in plan.numbers.items() if k != lost})

    restarts: list[VideoReader] = []
    restart = VideoReader._restart

    def counted_restart(reader: VideoReader) -> None:
        restarts.append(reader)
        restart(reader)

    monkeypatch.setattr(VideoReader, "_skipping_plan", losing_a_frame)
    monkeypatch.setattr(VideoReader, "_restart", counted_restart)
    assert our_vpdq(clip) == theirs
    assert len(restarts) == 1


def test_a_video_s_cybertip_file_details_carry_its_facts(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    from importlib import resources

    from lxml import etree

    from clearsight.report import (
        LOCAL_USER,
        CybertipOptions,
        ExportRequest,
        IncidentType,
        ReportFormat,
        parse_selection,
        write_report,
    )

    source = tmp_path / "source"
    source.mkdir()
    pan_clip(source / "walk.mp4", seed=13, seconds=2, fps=24, size=(320, 180))
    (source / "still.png").write_bytes(_png(pan_frames(14, 64, 48, 1)[0]))
    options = CybertipOptions(
        incident_type=IncidentType.ONLINE_ENTICEMENT, incident_time=datetime(2026, 1, 1, tzinfo=UTC)
    )
    buffer = io.BytesIO()
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        request = ExportRequest(ReportFormat.CYBERTIP, parse_selection("all"), cybertip=options)
        write_report(case.store, request, buffer, actor="test", permission=LOCAL_USER)
    document = etree.fromstring(buffer.getvalue())
    schema = resources.files("clearsight.report") / "schema" / "cybertip.xsd"
    etree.XMLSchema(etree.fromstring(schema.read_bytes())).assertValid(document)
    files = {f.findtext("originalFileName"): f for f in document.iterfind("fileDetails")}
    assert files["walk.mp4"].findall("additionalInfo")[0].text == (
        "video: mov,mp4,m4a,3gp,3g2,mj2 container, h264, 320x180, 24 frames/s, 2.000 s, "
        "48 frames decoded, no sound"
    )
    assert files["still.png"].find("additionalInfo") is None


def _png(rgb: np.typing.NDArray[np.uint8]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "PNG")
    return out.getvalue()


def test_a_video_s_contact_sheet_shows_the_first_frame_of_each_shot(tmp_path: Path) -> None:
    from clearsight.media.video import contact_sheet
    from clearsight.review.preview import PreviewRenderer

    source = tmp_path / "source"
    source.mkdir()
    # Two still shots of 3 s and 5 s at 24 fps: the second begins at frame 72.
    first, second_shot = pan_frames(16, 320, 180, 1)[0], pan_frames(17, 320, 180, 1)[0]
    frames = [first] * (24 * 3) + [second_shot] * (24 * 5)
    clip = write_clip(source / "cut.mp4", frames, fps=24)
    with Case.open(tmp_path / "case", create=True) as case:
        case.scan([source])
        ((item_id, _),) = _ids(case)
        video = case.video(item_id)
        shots = PreviewRenderer(case.store)._shots(item_id)
    assert video is not None
    assert [f.number for f in video.frames if f.representative] == [0, 72]
    # Both shots, then kept frames spread between them, six in all.
    assert len(shots) == 6 and {0, 72} <= set(shots)
    assert set(shots) <= {f.number for f in video.frames if f.exact}
    with VideoReader(str(clip)) as reader:
        second = reader.frame(72)
    assert second is not None
    sheet = contact_sheet(str(clip), numbers=shots)
    tile = np.asarray(Image.fromarray(second.rgb).resize((320, 180), Image.Resampling.BILINEAR))
    place = sorted(shots).index(72)
    top, left = (place // 3) * 180, (place % 3) * 320
    assert np.array_equal(sheet[top : top + 180, left : left + 320], tile)
