"""init_from for a leaky RNN: a run that starts from another leaky RNN run's stored
network (its synapses, weights, neuron signs and time constants), grows on from it,
records where it came from, and refuses a source that does not fit at init_from.run."""

from __future__ import annotations

import hashlib
import re
import shlex
import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.cli import main
from growsim.reader import open_run

ROOT = Path(__file__).parents[2]
TINY = ROOT / "tests" / "data" / "tiny.yaml"  # 16 neurons; 5 synapses every 10 batches, up to 12
CHAIN = ROOT / "tests" / "data" / "tiny_chain.yaml"
ARRAYS = ("w_rec", "mask", "w_in", "w_out", "b_rec", "b_out")
DALE_TAU = ("--set", "network.dale={excitatory: 0.75}",
            "--set", "network.tau={init: uniform, low: 50, high: 200, trainable: true}")


def _run(out: Path, *sets: str, spec: Path = TINY) -> Path:
    assert main(["run", str(spec), "--out", str(out), "-q", *sets]) == 0
    return out


@pytest.fixture(scope="module")
def sources(tmp_path_factory) -> dict[str, Path]:
    """Tiny leaky runs of 30 batches (snapshots at 0, 10, 20, 30; 5 synapses at 10, 10 from 20): a
    plain one, one with Dale's law and trained per-neuron time constants, and a chain run."""
    folder = tmp_path_factory.mktemp("sources")
    return {
        "plain": _run(folder / "plain.h5", "--set", "train.batches=30"),
        "dale_tau": _run(folder / "dale_tau.h5", "--set", "train.batches=30", *DALE_TAU),
        "chain": _run(folder / "chain.h5", "--set", "train.batches=5", spec=CHAIN),
    }


def _warm(tmp_path: Path, source: Path, step: str = "final", heads: str = "solved", *sets: str) -> Path:
    return _run(tmp_path / f"warm_{step}_{heads}.h5", "--set", f"init_from={{run: {source}, step: {step}, heads: {heads}}}",
                "--set", "seed=7", "--set", "train.batches=10", *sets)


@pytest.mark.parametrize(("kind", "step", "sets"), [("plain", "final", ()), ("plain", "10", ()),
                                                    ("dale_tau", "final", DALE_TAU), ("dale_tau", "10", DALE_TAU)])
def test_the_first_snapshot_is_the_stored_network(tmp_path, sources, kind, step, sets):
    src = open_run(sources[kind])
    stored = src.weights(None if step == "final" else int(step))
    start = open_run(_warm(tmp_path, sources[kind], step, "solved", *sets)).weights(0)
    assert int(stored.mask.sum()) == (10 if step == "final" else 5)
    for name in ARRAYS:
        a, b = getattr(stored, name), getattr(start, name)
        assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes(), name
    extra = ("neuron_sign", "tau") if kind == "dale_tau" else ()
    assert sorted(k for k in start.extra if k in ("neuron_sign", "tau")) == sorted(extra)
    for name in extra:
        assert stored.extra[name].tobytes() == start.extra[name].tobytes(), name


def test_a_run_of_the_same_seed_without_init_from_starts_elsewhere(tmp_path, sources):
    """The check above can fail: a cold run of the warm runs' seed has none of the source's weights."""
    stored = open_run(sources["plain"]).weights(None)
    cold = open_run(_run(tmp_path / "cold.h5", "--set", "seed=7", "--set", "train.batches=10")).weights(0)
    assert int(cold.mask.sum()) == 0 and not np.array_equal(cold.w_in, stored.w_in)


def test_growth_goes_on_from_the_stored_synapses(tmp_path, sources):
    warm = open_run(_warm(tmp_path, sources["plain"], "final", "solved", "--set", "train.batches=30",
                          "--set", "growth.events[0].until=17"))
    series = warm.series()
    assert series["connections"].tolist() == [10, 15, 17, 17]  # steps 0, 10, 20, 30: 5 more, then up to 17
    assert series["step"].tolist() == [0, 10, 20, 30]
    start, end = warm.weights(0).mask.astype(bool), warm.weights(30).mask.astype(bool)
    assert (end & start).sum() == start.sum()  # every stored synapse kept


def test_new_synapses_start_at_the_draw_of_a_run_of_the_same_seed(tmp_path, sources):
    warm = open_run(_warm(tmp_path, sources["plain"])).final()
    cold = open_run(_run(tmp_path / "cold.h5", "--set", "seed=7", "--set", "train.batches=10")).final()
    assert np.array_equal(warm.extra["w_rec_initial"], cold.extra["w_rec_initial"])


def test_the_source_file_and_step_are_recorded(tmp_path, sources):
    source = sources["plain"]
    out = _warm(tmp_path, source, "10")
    with h5py.File(out, "r") as f:
        assert f.attrs["status"] == "completed"
        assert f.attrs["version_init_from"] == str(source.resolve())
        assert f.attrs["version_init_from_sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        assert f.attrs["version_init_from_step"] == "10"
    with h5py.File(_warm(tmp_path, source, "final"), "r") as f:
        assert f.attrs["version_init_from_step"] == "30"


def test_inspect_says_where_a_warm_start_began(tmp_path, sources, capsys):
    source = sources["plain"]
    out = _warm(tmp_path, source, "10", "new")
    capsys.readouterr()
    assert main(["inspect", str(out)]) == 0
    text = " ".join(capsys.readouterr().out.split())  # the table wraps long lines
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
    assert f"started from {source.resolve()} at step 10 (sha256 {digest}..., heads: new)" in " ".join(text.split("│"))
    assert "the stored synapses at the start" in text and "0 synapses at the start" not in text


def test_new_heads_draw_a_fresh_readout_on_the_stored_network(tmp_path, sources):
    stored = open_run(sources["plain"]).weights(None)
    start = open_run(_warm(tmp_path, sources["plain"], "final", "new")).weights(0)
    assert np.array_equal(start.w_rec, stored.w_rec) and np.array_equal(start.mask, stored.mask)
    assert np.array_equal(start.w_in, stored.w_in) and np.array_equal(start.b_rec, stored.b_rec)
    assert start.w_out.shape == stored.w_out.shape and not np.allclose(start.w_out, stored.w_out)
    assert np.all(start.b_out == 0) and np.any(stored.b_out != 0)


def test_a_warm_started_run_stopped_and_resumed_writes_what_an_uninterrupted_one_does(
        tmp_path, sources, h5_contents, assert_same_h5, stop_and_resume):
    overrides = [f"init_from={{run: {sources['plain']}, step: 10}}", "train.batches=20", "seed=5"]
    ref, resumed, step = stop_and_resume(tmp_path, TINY, overrides, 7)
    assert_same_h5(h5_contents(ref), h5_contents(resumed))


@pytest.fixture(scope="module")
def autapse_source(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("autapses") / "autapses.h5"
    return _run(out, "--set", "train.batches=2", "--set", "log.every=1", "--set", "network.autapses=true",
                "--set", "growth.initial_connections=all", "--set", "growth.events=[]")


@pytest.mark.parametrize(
    ("source", "init", "sets", "match"),
    [
        ("plain", "{run: SRC}", ("--set", "network.geometry={kind: grid, shape: [5, 5]}"),
         r"init_from\.run: \S+plain\.h5 has 16 neurons; this spec's network\.geometry has 25"),
        ("chain", "{run: SRC}", (), r"init_from\.run: \S+chain\.h5 is a chain run; a leaky_rnn network starts "
                                    r"from a leaky_rnn run"),
        ("plain", "{run: SRC, step: {n_solved: 2}}", (), r"init_from\.run: step \{n_solved: K\} names a level of a "
                                                         r"curriculum, which a leaky RNN run does not have"),
        ("plain", "{run: SRC, heads: new}", ("--set", "task.n_eachring=4"),
         r"init_from\.run: \S+plain\.h5 takes 37 inputs; this spec's task suite gives 29"),
        ("plain", "{run: SRC}", ("--set", "task.n_eachring=4"),
         r"init_from\.run: \S+plain\.h5 has 9 outputs; this spec's task suite has 5"),
        ("plain", "{run: SRC, step: 5}", (), r"init_from\.run: cannot start from \S+plain\.h5: .*no snapshot at step 5"),
        ("plain", "{run: SRC}", ("--set", "network.dale={excitatory: 0.75}"),
         r"init_from\.run: network\.dale is set but \S+plain\.h5 stores no neuron signs"),
        ("dale_tau", "{run: SRC}", ("--set", "network.tau={init: uniform, low: 50, high: 200}"),
         r"init_from\.run: \S+dale_tau\.h5 was trained under Dale's law \(it stores neuron signs\) and this spec "
         r"has no network\.dale"),
        ("dale_tau", "{run: SRC}", ("--set", "network.dale={excitatory: 0.5}"),
         r"init_from\.run: \S+dale_tau\.h5 has 12 excitatory neurons; network\.dale\.excitatory gives 8"),
        ("dale_tau", "{run: SRC}", ("--set", "network.dale={excitatory: 0.75}"),
         r"init_from\.run: \S+dale_tau\.h5 has per-neuron time constants \(tau\) and this spec has no network\.tau"),
        ("plain", "{run: SRC}", ("--set", "growth.initial_connections=3"),
         r"growth\.initial_connections: a warm start \(init_from\) begins with the stored network's synapses"),
        ("autapses", "{run: SRC}", (), r"init_from\.run: \S+autapses\.h5 at step 2 has autapses"),
    ],
)
def test_a_source_that_does_not_fit_is_a_spec_error(tmp_path, sources, autapse_source, capsys, source, init, sets,
                                                    match):
    path = autapse_source if source == "autapses" else sources[source]
    args = [str(TINY), "--set", f"init_from={init.replace('SRC', str(path))}", *sets]
    out = tmp_path / "never.h5"
    for command in (["validate", *args], ["run", *args, "--out", str(out)]):
        code = main(command)
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, err
        assert re.search(match, err), err
        assert re.search(r"tiny\.yaml: \d+ problems? in the spec", err), err
    assert not out.exists()  # refused before a run file was made


def test_each_misfit_is_its_own_line(sources, capsys):
    code = main(["validate", str(TINY), "--set", f"init_from={{run: {sources['dale_tau']}}}",
                 "--set", "network.geometry={kind: grid, shape: [5, 5]}"])
    err = capsys.readouterr().err
    assert code == 2 and "3 problems in the spec" in err
    assert len(re.findall(r"^  init_from\.run: ", err, re.M)) == 3


def test_validate_counts_the_stored_synapses_as_the_initial_ones(sources, capsys):
    assert main(["validate", str(TINY), "--set", f"init_from={{run: {sources['plain']}, step: 10}}"]) == 0
    assert "16 neurons, wiring distance, 5 initial synapses" in capsys.readouterr().out


def test_the_documented_example_runs(tmp_path, monkeypatch):
    """The two commands of docs/spec.md's leaky warm start, shortened to 3 batches with a
    growth event at each: the second run starts from the first's final network."""
    text = (ROOT / "docs" / "spec.md").read_text()
    section = text[text.index("A leaky RNN (`network.kind: leaky_rnn`"):]
    commands = [line.strip() for line in section.splitlines() if line.startswith("    growsim run ")][:2]
    assert len(commands) == 2
    (tmp_path / "specs").mkdir()
    (tmp_path / "runs").mkdir()
    monkeypatch.chdir(tmp_path)
    short = ["--set", "train.batches=3", "--set", "log.every=1", "--set", "growth.events[0].every=1",
             "--set", "train.batch_size=4", "--set", "log.eval_batch_size=4", "--set", "log.progress=false"]
    for command in commands:
        args = shlex.split(command)
        assert args[:2] == ["growsim", "run"]
        shutil.copy(ROOT / args[2], tmp_path / args[2])
        assert main([*args[1:], *short]) == 0
    grown, warm = open_run(tmp_path / "runs" / "grown.h5"), open_run(tmp_path / "runs" / "warm.h5")
    stored, start = grown.weights(None), warm.weights(0)
    assert int(start.mask.sum()) == 20 and warm.series()["connections"].tolist() == [20, 30, 40, 40]
    for name in ARRAYS:
        assert np.array_equal(getattr(stored, name), getattr(start, name)), name
