"""SQLAlchemy models of a case. The schema itself is owned by the Alembic migrations.

A case holds sources (the folders or files that were scanned), items (one row per path
of a source, unique, so a resumed scan can never record a file twice), the signals
computed from each item, and the errors each item met. Media bytes are never stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from clearsight.store.interface import MatchView


class Base(DeclarativeBase):
    pass


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    clearsight_version: Mapped[str] = mapped_column(String(40))


class Source(Base):
    """A folder or file that was scanned. ``root`` is the display form of its absolute
    path, ``root_raw`` its bytes, ``root_key`` their SHA-256, the bounded unique key (see
    :mod:`clearsight.store.paths`)."""

    __tablename__ = "sources"
    __table_args__ = (Index("uq_sources_case_root_key", "case_id", "root_key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    root: Mapped[str] = mapped_column(Text)
    root_raw: Mapped[bytes] = mapped_column(LargeBinary)
    root_key: Mapped[bytes] = mapped_column(LargeBinary)
    added_at: Mapped[datetime]


class Scan(Base):
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    roots: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    completed: Mapped[bool] = mapped_column(default=False)
    files_seen: Mapped[int] = mapped_column(Integer, default=0)
    items: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    already_done: Mapped[int] = mapped_column(Integer, default=0)


class Item(Base):
    """One path of a source. ``path`` is the display form of the path relative to the
    source, ``path_raw`` its exact bytes; ``path_head`` and ``path_key`` make the bounded
    unique key the items are found and listed by (see :mod:`clearsight.store.paths`)."""

    __tablename__ = "items"
    __table_args__ = (
        Index("uq_items_source_path_key", "source_id", "path_head", "path_key", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id"))
    path: Mapped[str] = mapped_column(Text)
    path_raw: Mapped[bytes] = mapped_column(LargeBinary)
    path_head: Mapped[str] = mapped_column(Text)
    path_key: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int | None] = mapped_column(BigInteger)
    mtime: Mapped[float | None] = mapped_column(Float)
    media_type: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    orientation: Mapped[int | None] = mapped_column(Integer)

    signals: Mapped[list[Signal]] = relationship(back_populates="item", lazy="raise")
    errors: Mapped[list[ItemErrorRow]] = relationship(back_populates="item", lazy="raise")
    matches: Mapped[list[Match]] = relationship(lazy="raise", viewonly=True)
    notes: Mapped[list[ItemNote]] = relationship(lazy="raise", viewonly=True)
    origin: Mapped[OriginRow | None] = relationship(lazy="raise", viewonly=True)
    triage: Mapped[ItemTriageRow | None] = relationship(lazy="raise", viewonly=True)


class Signal(Base):
    __tablename__ = "signals"
    __table_args__ = (
        UniqueConstraint("item_id", "kind", name="uq_signals_item_kind"),
        Index("ix_signals_kind_value", "kind", "value"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(Text)
    quality: Mapped[int | None] = mapped_column(Integer)

    item: Mapped[Item] = relationship(back_populates="signals")


class ItemFeaturesRow(Base):
    """An item's ORB keypoints (packed points and descriptors), kept by the scan so that
    triage can find and confirm scene-mates without reading every file again."""

    __tablename__ = "item_features"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    keypoints: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class VideoFactsRow(Base):
    """A video's container and stream facts, as the scan read them."""

    __tablename__ = "video_facts"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    container: Mapped[str] = mapped_column(String(100))
    codec: Mapped[str] = mapped_column(String(100))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    frame_rate: Mapped[float] = mapped_column(Float)
    duration: Mapped[float | None] = mapped_column(Float)
    frames_decoded: Mapped[int] = mapped_column(Integer)
    has_audio: Mapped[bool] = mapped_column(Boolean)
    tags: Mapped[str] = mapped_column(Text)  # JSON object of the origin tags kept
    stopped: Mapped[str | None] = mapped_column(Text)


class VideoFrameRow(Base):
    """One sampled frame of a video: its vPDQ feature and its mirror image's hash."""

    __tablename__ = "video_frames"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    timestamp: Mapped[float] = mapped_column(Float)
    pdq: Mapped[str] = mapped_column(String(64))
    quality: Mapped[int] = mapped_column(Integer)
    mirror: Mapped[str | None] = mapped_column(String(64))
    trimmed: Mapped[str | None] = mapped_column(String(64))  # inside a letterbox, if any
    exact: Mapped[bool] = mapped_column(Boolean)  # one of vPDQ's frames (else sampled between)
    representative: Mapped[bool] = mapped_column(Boolean)


class ItemErrorRow(Base):
    __tablename__ = "item_errors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text)

    item: Mapped[Item] = relationship(back_populates="errors")


class Match(Base):
    """An item found in a bank: which entry, by which signal, how far, after which transform.

    The entry's metadata is copied as it was when matched, so a report says what the
    bank said at the time even after the bank changes.
    """

    __tablename__ = "matches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    bank: Mapped[str] = mapped_column(String(200), index=True)
    entry_id: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str | None] = mapped_column(Text)
    signal: Mapped[str] = mapped_column(String(40))
    distance: Mapped[int] = mapped_column(Integer)
    transform: Mapped[str] = mapped_column(String(40))
    # Which extra hashes met: "query:trim-border", "bank:crop-0.88", both joined by "+".
    variant: Mapped[str | None] = mapped_column(String(80))
    # Local-feature pairs that confirmed a match PDQ alone left open; None if not needed.
    inliers: Mapped[int | None] = mapped_column(Integer)
    # The share of the item's picture those features span; None where not needed.
    coverage: Mapped[float | None] = mapped_column(Float)
    allow: Mapped[bool] = mapped_column(default=False)
    category: Mapped[str | None] = mapped_column(Text)
    series: Mapped[str | None] = mapped_column(Text)
    victim_identified: Mapped[bool | None]
    matched_at: Mapped[datetime]

    def view(self) -> MatchView:
        """The match as stages and reports read it."""
        return MatchView(
            bank=self.bank,
            entry_id=self.entry_id,
            external_id=self.external_id,
            signal=self.signal,
            distance=self.distance,
            transform=self.transform,
            allow=self.allow,
            category=self.category,
            series=self.series,
            victim_identified=self.victim_identified,
            variant=self.variant,
            inliers=self.inliers,
            coverage=self.coverage,
        )


class ItemNote(Base):
    """Something a stage wants a reader to know about an item that is not an error."""

    __tablename__ = "item_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    stage: Mapped[str] = mapped_column(String(40))
    note: Mapped[str] = mapped_column(Text)


class OriginRow(Base):
    """The origin verdict of an item, its reasons, and the evidence items behind it.

    ``reasons`` and ``evidence`` are JSON lists. ``prompts`` (JSON, else NULL) holds
    generator prompts only when the user asked to keep them. ``examiner`` names the
    detectors and rules that produced the row.
    """

    __tablename__ = "origins"

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    verdict: Mapped[str] = mapped_column(String(40), index=True)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)
    evidence: Mapped[str] = mapped_column(Text)
    prompts: Mapped[str | None] = mapped_column(Text)
    examiner: Mapped[str] = mapped_column(String(40))
    examined_at: Mapped[datetime]


class StackRow(Base):
    """Near-duplicates of one picture, looked at once through their representative."""

    __tablename__ = "stacks"
    # The review queue reads stacks in score order (migration 0009).
    __table_args__ = (Index("ix_stacks_score_id", "score", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    representative_item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)  # JSON list


class SeriesRow(Base):
    """Stacks and items joined by scene links (or by a bank's series): one series.

    ``name`` is a bank's series name where a member matched one; ``victim_identified``
    what the banks say of it (True if any member's match says so)."""

    __tablename__ = "series"
    __table_args__ = (Index("ix_series_score_id", "score", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(40))
    name: Mapped[str | None] = mapped_column(Text)
    victim_identified: Mapped[bool | None]
    size: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[str] = mapped_column(Text)  # JSON list


class SceneLinkRow(Base):
    """Two items that share most of a scene, confirmed point for point."""

    __tablename__ = "scene_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_a: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    item_b: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    inliers: Mapped[int] = mapped_column(Integer)
    overlap: Mapped[float] = mapped_column(Float)
    strength: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)


class ItemTriageRow(Base):
    """An item's stack, series and priority, as the last triage run found them."""

    __tablename__ = "item_triage"
    # The review queue's indexes (migration 0009): lone items in score order, and the
    # members of a stack or a series in score order.
    __table_args__ = (
        Index(
            "ix_item_triage_lone_score",
            "score",
            "item_id",
            postgresql_where=text("stack_id IS NULL AND series_id IS NULL"),
            sqlite_where=text("stack_id IS NULL AND series_id IS NULL"),
        ),
        Index("ix_item_triage_series_score", "series_id", "score", "item_id"),
        Index("ix_item_triage_stack_score", "stack_id", "score", "item_id"),
    )

    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    stack_id: Mapped[int | None] = mapped_column(ForeignKey("stacks.id"), index=True)
    series_id: Mapped[int | None] = mapped_column(ForeignKey("series.id"), index=True)
    score: Mapped[float] = mapped_column(Float, index=True)
    reasons: Mapped[str] = mapped_column(Text)  # JSON list


class BankCheckRow(Base):
    """How far this case has been matched against one bank, and against which version.

    Matching again can skip what this row already covers: only items added since
    (``through_item``) need checking while the bank is the same bank (``bank_uid``), at the
    same content (``bank_revision``) and the same settings. Anything else is checked anew.
    """

    __tablename__ = "bank_checks"
    __table_args__ = (UniqueConstraint("case_id", "bank", name="uq_bank_checks_case_bank"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    bank: Mapped[str] = mapped_column(String(200))
    bank_uid: Mapped[str] = mapped_column(String(36))
    bank_revision: Mapped[int] = mapped_column(Integer)
    pdq_threshold: Mapped[int] = mapped_column(Integer)
    allow: Mapped[bool]
    through_item: Mapped[int] = mapped_column(Integer)
    matcher: Mapped[str] = mapped_column(String(40), server_default="")
    checked_at: Mapped[datetime]
