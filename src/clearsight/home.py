"""Where clearsight keeps machine-wide state: the bank store and the index cache."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs


def clearsight_home() -> Path:
    """``$CLEARSIGHT_HOME``, or the platform's user data folder when it is unset."""
    configured = os.environ.get("CLEARSIGHT_HOME")
    return Path(configured) if configured else Path(platformdirs.user_data_dir("clearsight"))
