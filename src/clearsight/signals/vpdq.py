"""vPDQ, the video hash ThreatExchange and HMA exchange: the PDQ of one frame a second.

A vPDQ hash is a bag of frame features, each a PDQ hash with its quality and the
frame's timestamp. In exchanges it travels as python-threatexchange's signal string: a
JSON list of ``"hex,quality,timestamp"``, the timestamp written with Python's ``.3``
format (three significant digits, as ``VpdqCompactFeature.__str__`` writes it), which
is reproduced here so that an exported list reads back byte for byte.

Two videos are compared as vPDQ's matcher compares them: each side is deduplicated by
hash, frames under quality 50 are dropped, and a frame matches where some frame of the
other side is within distance 31; the result is the percentage of query frames matched
and of compared frames matched. The brute-force form here is the reference that the
indexed matcher is tested against.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clearsight.signals.pdq import PDQ_BYTES, PdqSignal
from clearsight.signals.signal_type import SignalType

VPDQ_QUALITY_THRESHOLD = 50
VPDQ_DISTANCE_THRESHOLD = 31
VPDQ_QUERY_MATCH_PERCENT = 80.0
VPDQ_COMPARED_MATCH_PERCENT = 0.0
_HEX_DIGITS = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class VpdqFeature:
    """One frame's PDQ hash, its 0-100 quality, and its timestamp in seconds."""

    hex: str
    quality: int
    timestamp: float

    def __str__(self) -> str:
        return f"{self.hex},{self.quality},{self.timestamp:.3}"

    @classmethod
    def parse(cls, text: str) -> VpdqFeature:
        """The feature ``"hex,quality,timestamp"``; ValueError with a one-line reason."""
        parts = text.split(",")
        if len(parts) != 3:
            raise ValueError(f"not a vpdq frame (hex,quality,timestamp): {text[:80]!r}")
        hex_text, quality_text, time_text = (part.strip() for part in parts)
        hex_value = hex_text.lower()
        if len(hex_value) != 2 * PDQ_BYTES or not set(hex_value) <= _HEX_DIGITS:
            raise ValueError(f"not a PDQ hash in a vpdq frame: {hex_text[:80]!r}")
        try:
            quality, timestamp = int(quality_text), float(time_text)
        except ValueError:
            raise ValueError(f"not a vpdq frame (hex,quality,timestamp): {text[:80]!r}") from None
        if not 0 <= quality <= 100 or not timestamp >= 0:
            raise ValueError(f"vpdq frame quality or timestamp out of range: {text[:80]!r}")
        return cls(hex_value, quality, timestamp)


@dataclass(frozen=True)
class VpdqMatchPercent:
    """How much of each side matched: the query's frames, and the compared video's."""

    query: float
    compared: float

    def is_match(
        self,
        query_threshold: float = VPDQ_QUERY_MATCH_PERCENT,
        compared_threshold: float = VPDQ_COMPARED_MATCH_PERCENT,
    ) -> bool:
        return self.query >= query_threshold and self.compared >= compared_threshold


def to_signal_string(features: Iterable[VpdqFeature]) -> str:
    """The python-threatexchange signal string of ``features``."""
    return json.dumps([str(feature) for feature in features])


def parse_signal_string(text: str) -> list[VpdqFeature]:
    """The features of a python-threatexchange vPDQ signal string; ValueError with a
    one-line reason if it is not one."""
    try:
        values = json.loads(text or "[]")
    except json.JSONDecodeError:
        raise ValueError(f"not a vpdq signal (a JSON list): {text[:80]!r}") from None
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ValueError(f"not a vpdq signal (a JSON list of strings): {text[:80]!r}")
    return [VpdqFeature.parse(value) for value in values]


def usable(features: Iterable[VpdqFeature]) -> list[VpdqFeature]:
    """The features vPDQ's matcher compares: first of each hash, quality 50 or more."""
    seen: set[str] = set()
    kept: list[VpdqFeature] = []
    for feature in features:
        if feature.hex in seen:
            continue
        seen.add(feature.hex)
        if feature.quality >= VPDQ_QUALITY_THRESHOLD:
            kept.append(feature)
    return kept


def match_percent_brute(
    query: Sequence[VpdqFeature],
    compared: Sequence[VpdqFeature],
    threshold: int = VPDQ_DISTANCE_THRESHOLD,
) -> VpdqMatchPercent:
    """vPDQ's two percentages by comparing every pair: the reference for tests."""
    left, right = usable(query), usable(compared)
    if not left or not right:
        return VpdqMatchPercent(0.0, 0.0)
    ints_left = [int(f.hex, 16) for f in left]
    ints_right = [int(f.hex, 16) for f in right]

    def found(value: int, others: list[int]) -> bool:
        return any((value ^ other).bit_count() <= threshold for other in others)

    query_hits = sum(found(value, ints_right) for value in ints_left)
    compared_hits = sum(found(value, ints_left) for value in ints_right)
    return VpdqMatchPercent(query_hits * 100 / len(left), compared_hits * 100 / len(right))


class VpdqSignal(SignalType):
    """The vPDQ signal type: a bag of frame PDQ hashes in python-threatexchange's string.

    ``hex_length`` is that of one frame's hash; :meth:`validate` takes the whole signal
    string and gives its canonical form (the JSON list, written back as exported).
    """

    name = "vpdq"
    hex_length = 2 * PDQ_BYTES
    exact = False

    @classmethod
    def validate(cls, value: str) -> str:
        features = parse_signal_string(value.strip())
        if not features:
            raise ValueError("a vpdq signal with no frames")
        return to_signal_string(features)

    @classmethod
    def distance(cls, a: str, b: str) -> int:
        """100 less the query's percentage of frames matched: 0 where every frame of
        ``a`` is in ``b``, 20 or less where vPDQ's 80% rule holds."""
        percent = match_percent_brute(parse_signal_string(a), parse_signal_string(b))
        return round(100 - percent.query)


def frame_distance(a: str, b: str) -> int:
    """Hamming distance between two frame hashes (PDQ's)."""
    return PdqSignal.distance(a, b)
