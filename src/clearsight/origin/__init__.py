"""Origin evidence: what a file says, and what its pixels carry, about where it came from.

One detector per kind of evidence (C2PA manifests, XMP/IPTC source type, generator
metadata, invisible watermarks, camera records), each returning :class:`Evidence`
items; a verdict weighs them. Absence of a signal is never proof of anything.
"""
