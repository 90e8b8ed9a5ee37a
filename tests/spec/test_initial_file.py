"""growth.initial_connections: {file: ...}: the initial synapses of a connectivity matrix,
in either orientation, at the file's weights or the initial draw; bad files named by path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from growsim.build import prepare
from growsim.cli import main
from growsim.reader import open_run
from growsim.spec import SpecError, load_spec

TINY = Path(__file__).parents[1] / "data" / "tiny.yaml"


def _spec(tmp_path: Path, initial: dict, events=()) -> Path:
    data = yaml.safe_load(TINY.read_text())
    data["growth"] = {"initial_connections": initial, "events": list(events)}
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _matrix() -> np.ndarray:
    m = np.zeros((16, 16))
    m[1, 0], m[2, 1], m[0, 3] = 0.5, -0.25, 1.0
    return m


def test_pre_post_file_with_weights_starts_at_the_files_values(tmp_path):
    np.save(tmp_path / "c.npy", _matrix())
    out = tmp_path / "run.h5"
    spec = _spec(tmp_path, {"file": "c.npy", "orientation": "pre_post", "weights": True})
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    run = open_run(out)
    first = run.snapshot(0)
    # pre_post: [1, 0] is the synapse 1 -> 0, so W_rec[post 0, pre 1].
    expected = np.zeros((16, 16), np.float32)
    expected[0, 1], expected[1, 2], expected[3, 0] = 0.5, -0.25, 1.0
    np.testing.assert_array_equal(first.w_rec, expected)
    np.testing.assert_array_equal(first.mask, expected != 0)
    events = run.events()
    assert events.iloc[0][["step", "op", "count", "source"]].tolist() == [0, "add_connections", 3, "file"]


def test_post_pre_text_file_starts_at_the_initial_draw_and_growth_adds_on_top(tmp_path):
    np.savetxt(tmp_path / "c.csv", _matrix(), delimiter=",")
    out = tmp_path / "run.h5"
    spec = _spec(tmp_path, {"file": "c.csv"}, [{"op": "add_connections", "every": 10, "count": 2}])
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 0
    run = open_run(out)
    first = run.snapshot(0)
    assert {tuple(p) for p in np.argwhere(first.mask).tolist()} == {(1, 0), (2, 1), (0, 3)}
    initial = run.final().extra["w_rec_initial"]
    assert first.w_rec[1, 0] == initial[1, 0] and first.w_rec[0, 3] == initial[0, 3]
    assert list(run.series()["connections"]) == [3, 5, 7, 9, 9]


def test_bad_files_are_named_with_the_yaml_path(tmp_path):
    np.save(tmp_path / "small.npy", np.ones((4, 4)))
    with pytest.raises(SpecError, match=r"growth.initial_connections.file: .*small.npy: connectivity must be 16 x 16.*got 4 rows x 4 columns \(line \d+\)"):
        prepare(load_spec(_spec(tmp_path, {"file": "small.npy"})))
    with pytest.raises(SpecError, match=r"growth.initial_connections.file: file .*missing.npy does not exist"):
        load_spec(_spec(tmp_path, {"file": "missing.npy"}))
    diag = _matrix()
    diag[5, 5] = 1
    np.save(tmp_path / "diag.npy", diag)
    with pytest.raises(SpecError, match=r"entry \[5, 5\] is a synapse from neuron 5 onto itself"):
        prepare(load_spec(_spec(tmp_path, {"file": "diag.npy"})))
    np.save(tmp_path / "zero.npy", np.zeros((16, 16)))
    with pytest.raises(SpecError, match="has no non-zero entry"):
        prepare(load_spec(_spec(tmp_path, {"file": "zero.npy"})))
    nan = _matrix()
    nan[2, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    with pytest.raises(SpecError, match=r"entry nan at entry \[2, 3\] is not finite"):
        prepare(load_spec(_spec(tmp_path, {"file": "nan.npy"})))
    with pytest.raises(SpecError, match=r"growth.initial_connections.orientation: "):
        load_spec(_spec(tmp_path, {"file": "small.npy", "orientation": "rows"}))
