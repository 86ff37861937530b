"""PDQ indexes: the brute-force reference, multi-index hashing, and the on-disk cache.

Banks, matching and series all look PDQ hashes up through here. It imports only
:mod:`clearsight.signals` (for packing) and never a store: what it indexes is handed
to it as arrays.
"""
