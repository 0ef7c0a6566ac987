"""Where lifebot's data folders are: the suites (``task_suites/``) and the agents' default configs (``policies/``).

They live at the top of the repository, where the product fixes them. A checkout reads them there (edits show
at once); a non-editable install reads the copies its wheel ships in ``lifebot/_data/`` (``setup.py`` copies them
at build time). ``$LIFEBOT_SUITES_DIR`` overrides where the suites are read from.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_FOLDERS = ("task_suites", "policies")
PACKAGED = Path(__file__).resolve().parent / "_data"
CHECKOUT = Path(__file__).resolve().parents[1]


def data_folder(name: str) -> Path:
    """The checkout's ``name`` folder when lifebot runs from a checkout, else the packaged copy."""
    if name not in DATA_FOLDERS:
        raise KeyError(f"unknown data folder {name!r}; known: {', '.join(DATA_FOLDERS)}")
    here = CHECKOUT / name
    return here if (CHECKOUT / "pyproject.toml").is_file() and here.is_dir() else PACKAGED / name


def suites_root() -> Path:
    """``$LIFEBOT_SUITES_DIR`` if set, else the suites folder (:func:`data_folder`)."""
    env = os.environ.get("LIFEBOT_SUITES_DIR")
    return Path(env) if env else data_folder("task_suites")
