"""Custom tasks from a file: the generated reference, ``lifebot task check`` and ``lifebot task render``."""

from __future__ import annotations

import typing
from pathlib import Path

import yaml

from lifebot.cli.main import main
from lifebot.predicates import Role
from lifebot.spec.reference import ROLE_MEANINGS, reference

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "my_task.yaml"


def test_the_committed_reference_is_what_the_registries_generate():
    assert (ROOT / "docs" / "task_spec.md").read_text() == reference(), "regenerate: lifebot task describe"
    assert set(ROLE_MEANINGS) == set(typing.get_args(Role))


def test_check_the_example_spec(capsys, monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "egl")
    assert main(["task", "check", str(EXAMPLE), "--seeds", "1"]) == 0
    out = capsys.readouterr().out
    assert "valid spec custom/PutRedCubeOnPlate" in out and "expert solved 1/1 placements" in out


def _broken(tmp_path: Path, **changes) -> Path:
    data = yaml.safe_load(EXAMPLE.read_text())
    data.update(changes)
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_check_names_the_field_of_a_bad_spec(tmp_path, capsys):
    cases = {
        "objects[0].category: unknown object category 'red_cub'": {
            "objects": [{"name": "red_cube", "category": "red_cub"}, {"name": "blue_cube", "category": "big_blue_cube"}]
        },
        "goal[0]: unknown predicate 'OnTop'": {"goal": ["OnTop(red_cube, plate)"]},
        "goal[0]: 'plate' (plate) cannot be grasped, as Lifted requires": {"goal": ["Lifted(plate)"]},
    }
    for message, change in cases.items():
        path = _broken(tmp_path, **change)
        assert main(["task", "check", str(path)]) == 2
        assert f"{path}: {message}" in capsys.readouterr().err


def test_render_writes_the_first_state(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MUJOCO_GL", "egl")
    out = tmp_path / "task.png"
    assert main(["task", "render", str(EXAMPLE), "--out", str(out), "--size", "64"]) == 0
    assert out.stat().st_size > 1000
