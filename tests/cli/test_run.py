"""`growsim run` end to end on a tiny spec, checked through the HDF5 file it writes."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.cli import main
from growsim.metrics import modularity_q

ROOT = Path(__file__).parents[2]
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "tiny.h5"
    code = main(["run", str(DATA / "tiny.yaml"), "--out", str(out), "--set", "seed=3", "-q"])
    assert code == 0
    return out


def test_status_and_metadata(tiny_run):
    with h5py.File(tiny_run, "r") as f:
        assert f.attrs["status"] == "completed"
        assert f.attrs["format"] == "growsim-run" and f.attrs["schema_version"] == "1.0"
        assert f.attrs["last_step"] == 40 and f.attrs["seed"] == 3
        assert "version_torch" in f.attrs
        assert "growth:" in f["spec/verbatim"][()].decode()
        resolved = json.loads(f["spec/resolved_json"][()])
        assert resolved["seed"] == 3 and resolved["network"]["tau_ms"] == 100.0
        assert [o.decode() for o in f["spec/overrides"][()]] == ["seed=3"]
        assert [t.decode() for t in f["tasks/names"][()]] == ["fdgo", "reactgo"]
        assert f["geometry/distances"].shape == (16, 16)
        assert f["geometry/positions"].shape == (16, 2)


def test_connections_grow_on_schedule(tiny_run):
    with h5py.File(tiny_run, "r") as f:
        assert list(f["events/step"][()]) == [10, 20, 30]
        assert list(f["events/count"][()]) == [5, 5, 2]  # capped at until = 12
        assert list(f["events/connections"][()]) == [5, 10, 12]
        assert [o.decode() for o in f["events/op"][()]] == ["add_connections"] * 3
        series_steps = list(f["series/step"][()])
        assert series_steps == [0, 10, 20, 30, 40]
        assert list(f["series/connections"][()]) == [0, 5, 10, 12, 12]
        syn = f["events/synapses"][()]
        assert syn.shape == (12, 3)
        assert np.all(syn[:, 1] != syn[:, 2]), "no autapses"
        mask = f["final/mask"][()]
        assert mask.sum() == 12 and np.trace(mask) == 0
        assert np.all(mask[syn[:, 1], syn[:, 2]] == 1)


def test_masked_weights_and_snapshots(tiny_run):
    with h5py.File(tiny_run, "r") as f:
        w, mask = f["final/w_rec"][()], f["final/mask"][()]
        assert np.all(w[mask == 0] == 0)
        assert np.count_nonzero(w) == 12
        snaps = sorted(f["snapshots"])
        assert [int(s) for s in snaps] == [0, 10, 20, 30, 40]
        assert f["snapshots"][snaps[2]]["mask"][()].sum() == 10
        assert f["snapshots"][snaps[0]]["w_rec"].attrs["description"]


def test_modularity_is_logged_and_matches_an_independent_computation(tiny_run):
    with h5py.File(tiny_run, "r") as f:
        q = f["series/modularity_q"][()]
        labels = f["series/communities"][()]
        assert q[0] == 0.0  # no synapses yet: Q of an empty graph is 0
        w = f["snapshots"]["000000040"]["w_rec"][()]
        assert q[-1] == pytest.approx(modularity_q(np.abs(w), labels[-1]), abs=1e-6)
        assert labels.shape == (5, 16)


def test_losses_and_performance_recorded(tiny_run):
    with h5py.File(tiny_run, "r") as f:
        assert f["train/loss"].shape == (40,)
        assert list(f["train/step"][()]) == list(range(40))
        assert np.all(np.isfinite(f["train/loss"][()]))
        perf = f["series/perf"][()]
        assert perf.shape == (5, 2) and np.all((perf >= 0) & (perf <= 1))
        assert f["series/perf"].attrs["units"] == "1"


def test_same_seed_same_file_content(tiny_run, tmp_path, h5_contents, assert_same_h5):
    again = tmp_path / "again.h5"
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(again), "--set", "seed=3", "-q"]) == 0
    other = tmp_path / "other.h5"
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(other), "--set", "seed=4", "-q"]) == 0
    assert_same_h5(h5_contents(tiny_run), h5_contents(again))  # every dataset, bit for bit
    with h5py.File(tiny_run, "r") as a, h5py.File(other, "r") as c:
        assert not np.array_equal(a["events/synapses"][()], c["events/synapses"][()])
        assert not np.array_equal(a["train/loss"][()], c["train/loss"][()])


def test_existing_output_is_refused(tiny_run, capsys):
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(tiny_run), "-q"]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err


def test_validate_exit_codes(capsys):
    assert main(["validate", str(DATA / "tiny.yaml")]) == 0
    assert "ok (16 neurons" in capsys.readouterr().out
    bad = ROOT / "tests" / "spec" / "invalid" / "negative_every.yaml"
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "growth.events[0].every: must be > 0 (line 6)" in err
    assert "Traceback" not in err


def _spec_with_failing_rule(folder: Path, rule: str, message: str, initial_connections: int = 0) -> Path:
    """tiny.yaml with a plugin rule that raises RuntimeError(message) whenever it is asked."""
    (folder / f"{rule}.py").write_text(
        "from growsim.wiring import wiring_rule\n"
        f"@wiring_rule('{rule}')\n"
        "def rule(request, params):\n"
        f"    raise RuntimeError('{message}')\n"
    )
    text = (DATA / "tiny.yaml").read_text()
    text = text.replace("rule: distance", f"rule: {rule}").replace("  eta: -3.0\n", "")
    text = text.replace("initial_connections: 0", f"initial_connections: {initial_connections}")
    spec = folder / "spec.yaml"
    spec.write_text(text + f"plugins: [{rule}.py]\n")
    return spec


def test_failing_plugin_rule_leaves_a_file_that_says_why(tmp_path, capsys):
    spec = _spec_with_failing_rule(tmp_path, "always_fails_in_test", "no candidates I like")
    out = tmp_path / "fail.h5"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "run failed at batch 10" in err and "no candidates I like" in err and "Traceback" not in err
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "failed"
        assert "batch 10" in f.attrs["status_reason"] and "no candidates I like" in f.attrs["status_reason"]
        assert list(f["series/step"][()]) == [0]
        assert f["train/loss"].shape == (10,)


def test_version_names_the_installed_package(capsys):
    from importlib.metadata import version

    assert main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"growsim {version('growsim')} (")
    assert "source sha256 " in out


def test_summary_leaves_out_q_when_it_is_not_logged(tmp_path, capsys):
    out = tmp_path / "noq.h5"
    assert main(["run", str(DATA / "tiny.yaml"), "--out", str(out), "-q", "--set", "log.modularity=none"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("completed:") and "synapses" in line and "Q " not in line


def test_a_rule_that_fails_on_the_initial_synapses_leaves_a_failed_file(tmp_path, capsys):
    spec = _spec_with_failing_rule(tmp_path, "fails_at_start_in_test", "no place for the first synapses", 5)
    out = tmp_path / "fail.h5"
    assert main(["run", str(spec), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert "no place for the first synapses" in err and "Traceback" not in err
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "failed"
        assert "no place for the first synapses" in f.attrs["status_reason"]
    assert not list(tmp_path.glob("*.writing"))


def _undescribed(path) -> list[str]:
    missing = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not name.startswith("checkpoint/"):
            if "units" not in obj.attrs or not obj.attrs.get("description"):
                missing.append(name)

    with h5py.File(path, "r") as f:
        f.visititems(visit)
    return missing


def test_every_dataset_outside_the_checkpoint_has_units_and_a_description(tiny_run):
    """docs/hdf5.md promises it."""
    with h5py.File(tiny_run, "r") as f:
        assert len(f["spec"]) == 4  # the spec's datasets are among those checked
    assert _undescribed(tiny_run) == []


@pytest.mark.parametrize(
    "spec, overrides",
    [
        # A chain network: its series, snapshots and final weights have names of their own.
        ("modular_growth_parity.yaml", ["train.batches=20", "log.every=10"]),
        # Regulariser terms and the functional report (series named after what made them).
        (
            "bimt_grid2d.yaml",
            [
                "network.geometry.shape=[5, 5]", "growth.initial_connections=600", "train.batches=10",
                "log.every=5", "log.functional.every=5", "log.functional.n_shuffles=50",
                "log.functional.k_range=[2, 4]", "growth.events[0].every=5", "log.snapshot_every=5",
            ],
        ),
    ],
)
def test_every_kind_of_run_describes_every_dataset(tmp_path, spec, overrides):
    out = tmp_path / "run.h5"
    sets = [arg for o in overrides for arg in ("--set", o)]
    assert main(["run", str(ROOT / "specs" / spec), "--out", str(out), "-q", *sets]) == 0
    assert _undescribed(out) == []
