"""A benchmark's measured cells survive a kill and never mix settings."""

from __future__ import annotations

import json

import pytest

from lifebot.cells import CellFile, settings_key


def test_cells_are_read_back_by_the_same_settings_and_only_by_them(tmp_path):
    settings = {"task": "OpenBox", "steps": 6000, "config": {"utd": 2}}
    cells = CellFile(tmp_path, settings)
    cells["wsrl|0"] = {"curve": [[0, 0.25], [1000, 0.3]]}
    assert json.loads(cells.path.read_text())["settings"] == settings  # on disk as soon as it is set

    again = CellFile(tmp_path, dict(reversed(settings.items())))  # key order does not matter
    assert again.path == cells.path and "wsrl|0" in again and again["wsrl|0"]["curve"][1] == [1000, 0.3]
    other = CellFile(tmp_path, {**settings, "steps": 2000})
    assert other.path != cells.path and "wsrl|0" not in other
    assert settings_key(settings) == cells.key and len(cells.key) == 12


def test_a_non_finite_cell_is_refused_and_the_file_keeps_what_it_had(tmp_path):
    cells = CellFile(tmp_path, {"seed": 0})
    cells["a"] = 0.5
    with pytest.raises(ValueError, match="b"):
        cells["b"] = float("nan")
    assert cells.cells == {"a": 0.5} and CellFile(tmp_path, {"seed": 0}).cells == {"a": 0.5}


def test_two_processes_measuring_other_cells_of_the_same_settings_share_the_file(tmp_path):
    first, second = CellFile(tmp_path, {"seed": 0}), CellFile(tmp_path, {"seed": 0})  # both started empty
    first["wsrl|0"] = 0.3
    second["rlpd|0"] = 0.1  # merges with what the first wrote since
    assert CellFile(tmp_path, {"seed": 0}).cells == {"wsrl|0": 0.3, "rlpd|0": 0.1} == second.cells
