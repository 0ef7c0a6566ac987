"""Task specs: round trips, identity, and one clear error per kind of malformed file."""

from __future__ import annotations

import json

import pytest

from lifebot.spec import SpecError, TaskSpec, dump_spec, load_spec, spec_from_dict
from lifebot.spec.io import MAX_SPEC_BYTES
from tests.conftest import base_spec_data


@pytest.mark.parametrize("suffix", [".json", ".yaml"])
def test_round_trip_through_file_is_lossless(tmp_path, spec: TaskSpec, suffix):
    path = tmp_path / f"task{suffix}"
    dump_spec(spec, path)
    loaded = load_spec(path)
    assert loaded == spec
    assert loaded.task_id == spec.task_id
    assert loaded.canonical_json() == spec.canonical_json()


def test_task_id_is_a_content_hash(spec_data):
    a = spec_from_dict(spec_data)
    b = spec_from_dict(json.loads(json.dumps(spec_data)))
    changed = spec_from_dict({**spec_data, "horizon": 51})
    assert a.task_id == b.task_id
    assert a.task_id != changed.task_id


def _error_for(tmp_path, data) -> SpecError:
    path = tmp_path / "bad_task.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value


def _edit(**changes):
    data = base_spec_data()
    for key, value in changes.items():
        data[key] = value
    return data


MALFORMED = {
    "unknown category": (
        _edit(objects=[{"name": "red_cube", "category": "purple_unicorn"}] + base_spec_data()["objects"][1:]),
        "objects[0].category",
        "unknown object category 'purple_unicorn'",
    ),
    "unknown predicate": (_edit(goal=["Levitating(red_cube)"]), "goal[0]", "unknown predicate 'Levitating'"),
    "object not in scene": (_edit(goal=["On(green_cube, plate)"]), "goal[0]", "'green_cube' is not an object"),
    "empty goal": (_edit(goal=[]), "goal", "the goal is empty"),
    "region outside the table": (
        _edit(
            regions=base_spec_data()["regions"][:-1]
            + [{"name": "front_left", "center": [0.5, 0.0], "half_size": [0.05, 0.05]}]
        ),
        "regions[5]",
        "outside the table",
    ),
    "wrong type": (_edit(horizon="fifty"), "horizon", "expected an integer"),
    "wrong arity": (_edit(goal=["On(red_cube)"]), "goal[0]", "takes 2 argument(s), got 1"),
    "wrong role": (_edit(goal=["In(red_cube, plate)"]), "goal[0]", "is not a container"),
    "not placed": (_edit(init=base_spec_data()["init"][1:]), "fixtures[0]", "has no placement"),
    "unknown field": (_edit(colour="red"), "colour", "unknown field"),
    "predicate syntax": (_edit(goal=["On red_cube plate"]), "goal[0]", "is not of the form"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_spec_names_file_field_and_problem(tmp_path, case):
    data, field, problem = MALFORMED[case]
    error = _error_for(tmp_path, data)
    assert error.source.endswith("bad_task.json")
    assert error.field == field
    assert problem in error.problem
    assert str(error).startswith(f"{tmp_path / 'bad_task.json'}: {field}: ")


def test_unparseable_file_is_a_spec_error(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("suite: [unclosed\n")
    with pytest.raises(SpecError, match="broken.yaml: <file>: is not valid YAML"):
        load_spec(path)


def test_missing_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot be read"):
        load_spec(tmp_path / "absent.json")


BILLION_LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
)


@pytest.mark.parametrize(
    "name, content, problem",
    [
        ("bomb.yaml", BILLION_LAUGHS.encode(), "<file>: is not valid YAML: aliases are not allowed (*a at line 2)"),
        ("deep.yaml", b"[" * 100_000 + b"]" * 100_000, "<file>: nests 17 levels deep; a spec nests at most 16"),
        ("deep.json", b"[" * 100_000 + b"]" * 100_000, "<file>: nests 100000 levels deep; a spec nests at most 16"),
        ("latin1.yaml", "suite: caf\xe9\n".encode("latin-1"), "<file>: is not UTF-8 text (byte 10)"),
        ("twice.json", b'{"goal": ["a"], "goal": ["b"]}', "<file>: is not valid JSON (key 'goal' appears twice"),
        (
            "twice.yaml",
            b"goal: [a]\ngoal: [b]\n",
            "<file>: is not valid YAML: key 'goal' appears twice in one mapping (line 2)",
        ),
        ("nan.json", b'{"horizon": NaN}', "<file>: is not valid JSON (NaN is not a JSON number)"),
        ("huge.json", b" " * (MAX_SPEC_BYTES + 1), "<file>: is larger than 1 MiB, the most a spec may be"),
    ],
)
def test_hostile_spec_files_get_one_line_errors(tmp_path, name, content, problem):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(SpecError) as error:
        load_spec(path)
    assert str(error.value).startswith(f"{path}: {problem}") and "\n" not in str(error.value), str(error.value)


def test_quoted_values_are_clipped(tmp_path):
    shared = ["x" * 1000] * 1000
    with pytest.raises(SpecError) as error:
        spec_from_dict({**base_spec_data(), "horizon": [shared] * 1000})
    assert "expected an integer" in str(error.value) and len(str(error.value)) < 300
