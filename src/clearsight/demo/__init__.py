"""Benign sample files that ship with clearsight, for ``clearsight demo``."""
