"""Matching a case's items against the banks: exact digests and PDQ within a distance."""
