"""Hash algorithms: one class per signal, kept apart from any index or store."""

from clearsight.signals.digests import DigestSet, StreamingDigests
from clearsight.signals.pdq import PdqHash, PdqSignal

__all__ = ["DigestSet", "PdqHash", "PdqSignal", "StreamingDigests"]
