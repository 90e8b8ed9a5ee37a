"""Run files for the analysis tests (reader, plots, examples, inspect/plot/compare/analyze).

Made once per test session and cached by folder: the conftest of each test package that
needs them loads this module by path (tests are not packages here) and asks for them.

- shipped: a 6-batch run of every shipped spec (overrides as in tests/test_shipped_specs.py).
- tiny: tests/data/tiny.yaml as it is (16 neurons on a 4x4 grid, 2 tasks, 40 batches).
- no_snapshots: tiny with log.snapshots=false.
- killed: tiny, then edited as a SIGKILL leaves a file: status running, no /final, the last
  series row half written, a writer process that no longer exists.
- growing: written by hand with h5py: snapshots of 4, 6 and 9 neurons (a network that
  adds neurons), 1-D positions.
- no_positions: like growing, with a distance matrix only (a distance_file geometry).
- chain: specs/modular_growth_parity.yaml with modules of 6 neurons, 120 batches of 32
  (it grows to 2 modules); chain_nonmodular: specs/nonmodular_parity.yaml with 8 neurons,
  60 batches.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).parents[2]
SPECS = sorted((ROOT / "specs").glob("*.yaml"))
SHORT = ["train.batches=6", "log.every=3", "log.eval_batch_size=8", "train.batch_size=8"]
# Larger than Linux's largest pid_max (2**22): no process can have it.
DEAD_PID = 2**22 + 17

_made: dict[str, dict[str, Path]] = {}


def _run(spec: Path, out: Path, overrides: list[str]) -> Path:
    from growsim.cli import main

    args = ["run", str(spec), "--out", str(out), "-q"]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 0, f"growsim run {spec.name} failed"
    return out


def shipped_runs(folder: Path) -> dict[str, Path]:
    """A short run of every shipped spec, by spec name, in ``folder`` (made once)."""
    key = str(folder)
    if key not in _made:
        folder.mkdir(parents=True, exist_ok=True)
        runs = {}
        for spec in SPECS:
            extra = ["growth.events[0].every=2"] if spec.stem.startswith("add_conn") else []
            if "functional:" in spec.read_text():  # Liu et al.'s report, kept quick
                extra += ["log.functional.every=3", "log.functional.n_shuffles=50", "log.functional.trials_per_task=8",
                          "log.functional.k_range=[2, 4]"]
            runs[spec.stem] = _run(spec, folder / f"{spec.stem}.h5", SHORT + extra)
        _made[key] = runs
    return _made[key]


def small_runs(folder: Path) -> dict[str, Path]:
    """tiny, no_snapshots, killed, growing and no_positions, in ``folder`` (made once)."""
    key = str(folder)
    if key not in _made:
        folder.mkdir(parents=True, exist_ok=True)
        tiny = ROOT / "tests" / "data" / "tiny.yaml"
        runs = {
            "tiny": _run(tiny, folder / "tiny.h5", []),
            "no_snapshots": _run(tiny, folder / "no_snapshots.h5", ["log.snapshots=false"]),
        }
        runs["killed"] = make_killed(runs["tiny"], folder / "killed.h5")
        runs["growing"] = make_growing(folder / "growing.h5", positions_dim=1)
        runs["no_positions"] = make_growing(folder / "no_positions.h5", positions_dim=None)
        _made[key] = runs
    return _made[key]


CHAIN_SHORT = ["train.batch_size=32", "log.every=20", "log.eval_batch_size=32"]


def chain_runs(folder: Path) -> dict[str, Path]:
    """Two short chain runs (Hamidi et al.), modular and non-modular, in ``folder`` (made once)."""
    key = str(folder)
    if key not in _made:
        folder.mkdir(parents=True, exist_ok=True)
        specs = ROOT / "specs"
        _made[key] = {
            "chain": _run(specs / "modular_growth_parity.yaml", folder / "chain.h5",
                          CHAIN_SHORT + ["network.module_size=6", "train.batches=120"]),
            "chain_nonmodular": _run(specs / "nonmodular_parity.yaml", folder / "chain_nonmodular.h5",
                                     CHAIN_SHORT + ["network.module_size=8", "train.batches=60"]),
        }
    return _made[key]


def fresh_copy(path: Path, folder: Path) -> Path:
    """A copy a test may change (analyze writes into files)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / path.name
    shutil.copyfile(path, out)
    return out


def make_killed(source: Path, out: Path) -> Path:
    """``source`` turned into what a run killed while writing step 30's metrics leaves."""
    shutil.copyfile(source, out)
    with h5py.File(out, "a") as f:
        f.attrs["status"] = "running"
        f.attrs["last_step"] = 30
        f.attrs["writer_pid"] = DEAD_PID
        import socket

        f.attrs["writer_host"] = socket.gethostname()
        for name in ("finished", "duration_s"):
            if name in f.attrs:
                del f.attrs[name]
        for name in list(f["final"]):
            del f["final"][name]
        del f["snapshots"]["000000040"]
        series = f["series"]
        for name, ds in series.items():
            if ds.maxshape[0] is not None:
                continue  # the coordinate of another axis (the tasks, the neurons): no row per step
            # Rows of steps 0-30 stay; step 30's row of perf/task_loss/communities is lost.
            keep = 4 if name in ("step", "wall_time", "loss", "perf_mean", "connections", "lr") else 3
            if name in ("train_loss", "train_loss_step"):
                keep = 3
            ds.resize(keep, axis=0)
    return out


def make_growing(out: Path, *, positions_dim: int | None = 1) -> Path:
    """A run file written by hand whose network grows from 4 to 9 neurons (schema 1.0 layout).

    Snapshots at steps 0, 10, 20 with N = 4, 6, 9; /final at 20 with N = 9; 2 tasks, 7
    inputs, 3 outputs. Weights are a fixed pattern: two blocks of opposite sign.
    """
    rng = np.random.default_rng(7)
    sizes = {0: 4, 10: 6, 20: 9}
    tasks = ["fdgo", "reactgo"]
    n_max = max(sizes.values())
    spec = {
        "seed": 0,
        "network": {"geometry": {"kind": "grid" if positions_dim else "distance_file", "shape": [n_max]},
                    "activation": "relu", "tau_ms": 100.0},
        "wiring": {"rule": "distance", "params": {"eta": -3.0}},
        "growth": {"initial_connections": 0, "events": []},
        "task": {"suite": "yang20", "tasks": tasks, "n_eachring": 2, "dt_ms": 20.0},
        "train": {"batches": 20, "batch_size": 4},
        "log": {"every": 10, "snapshots": True, "modularity": "spectral"},
    }
    s = h5py.string_dtype("utf-8")
    with h5py.File(out, "w") as f:
        f.attrs.update({"format": "growsim-run", "schema_version": "1.0", "status": "completed",
                        "status_reason": "", "last_step": 20, "batches": 20, "seed": 0, "name": "growing",
                        "n_neurons": 4, "created": "2026-01-01T00:00:00+00:00", "finished": "2026-01-01T00:00:01+00:00",
                        "duration_s": 1.0, "version_growsim": "0.1.0"})
        g = f.create_group("spec")
        g.create_dataset("verbatim", data="# written by hand\nseed: 0\n", dtype=s)
        g.create_dataset("resolved_yaml", data="seed: 0\n", dtype=s)
        g.create_dataset("resolved_json", data=json.dumps(spec), dtype=s)
        g.create_dataset("overrides", data=np.array([], dtype=object), dtype=s)
        x = np.arange(n_max, dtype=float)
        geo = f.create_group("geometry")
        geo.create_dataset("distances", data=np.abs(x[:, None] - x[None, :]))
        geo["distances"].attrs["units"] = "grid units"
        if positions_dim:
            geo.create_dataset("positions", data=np.column_stack([x] + [x * 0] * (positions_dim - 1)))
        t = f.create_group("tasks")
        t.create_dataset("names", data=np.array(tasks, dtype=object), dtype=s)
        t.attrs.update({"n_input": 7, "n_output": 3})
        ser = f.create_group("series")
        ser.create_dataset("step", data=np.array([0, 10, 20]))
        ser.create_dataset("loss", data=np.array([1.0, 0.8, 0.6]))
        ser.create_dataset("train_loss", data=np.array([0.9, 0.7]))
        ser.create_dataset("perf", data=np.array([[0.0, 0.1], [0.3, 0.5], [0.6, 0.9]], np.float32))
        ser.create_dataset("perf_mean", data=np.array([0.05, 0.4, 0.75]))
        ser.create_dataset("connections", data=np.array([0.0, 8.0, 20.0]))
        ser.create_dataset("modularity_q", data=np.array([0.0, 0.3, 0.4]))
        ev = f.create_group("events")
        ev.create_dataset("step", data=np.array([10, 20]))
        ev.create_dataset("op", data=np.array(["add_connections"] * 2, dtype=object), dtype=s)
        ev.create_dataset("count", data=np.array([8, 12]))
        ev.create_dataset("connections", data=np.array([8, 20]))
        ev.create_dataset("details", data=np.array(['{"event": 0}', '{"event": 0}'], dtype=object), dtype=s)
        f.create_group("train").create_dataset("loss", data=rng.random(20).astype(np.float32))
        f["train"].create_dataset("step", data=np.arange(20))
        snaps = f.create_group("snapshots")
        for step, n in sizes.items():
            grp = snaps.create_group(f"{step:09d}")
            grp.attrs["step"] = step
            _weights(grp, n, rng)
        final = f.create_group("final")
        final.attrs["step"] = 20
        _weights(final, n_max, rng)
    return out


def _weights(group: h5py.Group, n: int, rng: np.random.Generator) -> None:
    """Two blocks (first half positive, second half negative) without autapses."""
    half = n // 2
    w = np.zeros((n, n), np.float32)
    w[:half, :half] = 0.5
    w[half:, half:] = -0.4
    np.fill_diagonal(w, 0.0)
    group.create_dataset("w_rec", data=w)
    group.create_dataset("mask", data=(w != 0).astype(np.uint8))
    group.create_dataset("w_in", data=rng.normal(size=(n, 7)).astype(np.float32))
    group.create_dataset("w_out", data=rng.normal(size=(3, n)).astype(np.float32))
    group.create_dataset("b_rec", data=np.zeros(n, np.float32))
    group.create_dataset("b_out", data=np.zeros(3, np.float32))
