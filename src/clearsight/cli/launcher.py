"""How to type clearsight from here, so that the commands a command prints work as typed.

``make demo`` runs ``.venv/bin/clearsight``, which is not on the PATH: a printed
``clearsight items …`` would fail for the newcomer who copies it.
"""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path


def launcher() -> str:
    """How to type clearsight from here, so that printed commands work as typed.

    ``clearsight`` where that name on the PATH is the program running (an activated
    virtual environment); else the script's own path, relative where it lies below
    the working folder (``make demo`` runs ``.venv/bin/clearsight``, which is not on
    the PATH); else this Python with ``-m clearsight``.
    """
    script = Path(sys.argv[0])
    if script.name != "clearsight" or not script.is_file():
        return f"{shlex.quote(sys.executable)} -m clearsight"
    on_path = shutil.which("clearsight")
    if on_path is not None and Path(on_path).resolve() == script.resolve():
        return "clearsight"
    absolute = script.absolute()
    try:
        return shlex.quote(str(absolute.relative_to(Path.cwd())))
    except ValueError:
        return shlex.quote(str(absolute))
