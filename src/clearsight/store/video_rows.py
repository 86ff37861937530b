"""A scanned video's rows: its facts and its frame hashes, written and read back.

The scan's writer calls :func:`video_rows` for each video in its batch; the readers of
a case (``items show``, exports, matching) take :class:`VideoRecord` back from
:func:`read_video`, so the columns are named in this one module.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from clearsight.media.video_facts import VideoFacts
from clearsight.signals.pdq import PDQ_MIN_QUALITY
from clearsight.store.interface import VideoFrameHash, VideoQuery, VideoRecord
from clearsight.store.models import VideoFactsRow, VideoFrameRow


def video_rows(item_id: int, video: VideoRecord) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The ``video_facts`` row and the ``video_frames`` rows of one video."""
    facts = video.facts
    facts_row = {
        "item_id": item_id,
        "container": facts.container[:100],
        "codec": facts.codec[:100],
        "width": facts.width,
        "height": facts.height,
        "frame_rate": facts.frame_rate,
        "duration": facts.duration,
        "frames_decoded": video.frames_decoded,
        "has_audio": facts.has_audio,
        "tags": json.dumps(dict(facts.tags), sort_keys=True),
        "stopped": video.stopped,
    }
    frame_rows = [
        {
            "item_id": item_id,
            "number": frame.number,
            "timestamp": frame.timestamp,
            "pdq": frame.pdq,
            "quality": frame.quality,
            "mirror": frame.mirror,
            "trimmed": frame.trimmed,
            "exact": frame.exact,
            "representative": frame.representative,
        }
        for frame in video.frames
    ]
    return facts_row, frame_rows


def insert_videos(session: Session, videos: list[tuple[int, VideoRecord]]) -> None:
    """Insert the rows of ``(item id, video)`` pairs in the session's transaction."""
    if not videos:
        return
    facts: list[dict[str, Any]] = []
    frames: list[dict[str, Any]] = []
    for item_id, video in videos:
        facts_row, frame_rows = video_rows(item_id, video)
        facts.append(facts_row)
        frames.extend(frame_rows)
    session.execute(insert(VideoFactsRow), facts)
    if frames:
        session.execute(insert(VideoFrameRow), frames)


def read_video(session: Session, item_id: int) -> VideoRecord | None:
    """The video record of ``item_id``; None for an item that is not a scanned video."""
    row = session.get(VideoFactsRow, item_id)
    if row is None:
        return None
    facts = VideoFacts(
        container=row.container,
        codec=row.codec,
        width=row.width,
        height=row.height,
        frame_rate=row.frame_rate,
        duration=row.duration,
        has_audio=row.has_audio,
        tags=tuple(sorted(json.loads(row.tags).items())),
    )
    frames = session.execute(
        select(VideoFrameRow).where(VideoFrameRow.item_id == item_id).order_by(VideoFrameRow.number)
    ).scalars()
    return VideoRecord(
        facts,
        row.frames_decoded,
        tuple(_frame_hash(f) for f in frames),
        row.stopped,
    )


def video_queries(session: Session, after_item: int) -> Iterator[VideoQuery]:
    """Every scanned video after ``after_item`` with its sampled frames, by item id."""
    current: int | None = None
    frames: list[VideoFrameHash] = []
    rows = session.execute(
        select(VideoFrameRow)
        .where(VideoFrameRow.item_id > after_item)
        .order_by(VideoFrameRow.item_id, VideoFrameRow.number)
        .execution_options(yield_per=2000)
    ).scalars()
    for f in rows:
        if f.item_id != current:
            if current is not None:
                yield VideoQuery(current, tuple(frames))
            current, frames = f.item_id, []
        frames.append(_frame_hash(f))
    if current is not None:
        yield VideoQuery(current, tuple(frames))


def _frame_hash(row: VideoFrameRow) -> VideoFrameHash:
    return VideoFrameHash(
        row.number,
        row.timestamp,
        row.pdq,
        row.quality,
        row.mirror,
        row.representative,
        row.trimmed,
        row.exact,
    )


def frame_codes(session: Session, item_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Each video's distinct well-hashed frame hashes (vPDQ's and those between), by item."""
    found: dict[int, dict[str, None]] = {}
    if item_ids:
        for item_id, pdq in session.execute(
            select(VideoFrameRow.item_id, VideoFrameRow.pdq)
            .where(
                VideoFrameRow.item_id.in_(item_ids),
                VideoFrameRow.quality >= PDQ_MIN_QUALITY,
            )
            .order_by(VideoFrameRow.item_id, VideoFrameRow.number)
        ):
            found.setdefault(item_id, {})[pdq] = None
    return {item_id: tuple(codes) for item_id, codes in found.items()}
