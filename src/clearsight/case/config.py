"""Which priority weights a case is triaged with.

The file the user names, else the case folder's own ``triage.toml``, else the shipped
defaults. A case in a database has no folder, so only the first and the last apply.
"""

from __future__ import annotations

from pathlib import Path

from clearsight.triage.priority import TriageConfig, load_config

CASE_CONFIG = "triage.toml"


def triage_config(folder: Path | None, chosen: Path | None) -> TriageConfig:
    """The weights of ``chosen``, else of the case folder's file, else the defaults."""
    in_case = folder / CASE_CONFIG if folder is not None else None
    found = chosen or (in_case if in_case is not None and in_case.is_file() else None)
    return load_config(found)
