"""`growth.initial_connections: all`: every synapse the network's autapse policy allows."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.build import prepare
from growsim.cli import main
from growsim.spec import SpecError, load_spec, load_spec_text

DATA = Path(__file__).parents[1] / "data"
TINY = DATA / "tiny.yaml"  # 16 neurons on a 4 x 4 grid, no autapses


@pytest.mark.parametrize(
    ("growth", "match"),
    [
        ("{initial_connections: alll}", r"growth\.initial_connections: must be one of 'all' \(got 'alll'\); did you mean 'all'\?"),
        ("{initial_connections: -1}", r"growth\.initial_connections: must be >= 0 \(line 3\)"),
        ("{initial_connections: [1]}", r"growth\.initial_connections: must be a number of synapses \(an integer >= 0\), all, or \{file: PATH\}"),
        (
            "{initial_connections: all, events: [{op: add_connections, every: 5, count: 2}]}",
            r"growth\.events\[0\]\.op: the network starts with every synapse .* would never add one",
        ),
    ],
)
def test_a_bad_initial_connections_is_named_by_its_yaml_path(growth, match):
    with pytest.raises(SpecError, match=match):
        load_spec_text(f"network:\n  geometry: {{kind: grid, shape: [4]}}\ngrowth: {growth}\n")


def test_all_is_refused_for_a_chain_as_a_number_is():
    for value in ("all", "3"):
        with pytest.raises(SpecError, match=r"growth\.initial_connections: a chain of modules has no synapses to place"):
            load_spec(DATA / "tiny_chain.yaml", [f"growth.initial_connections={value}"])


@pytest.mark.parametrize(("autapses", "expected"), [(False, 16 * 15), (True, 16 * 16)])
def test_all_is_the_capacity_and_integers_keep_their_meaning(autapses, expected):
    sets = ["growth.initial_connections=all", "growth.events=[]", f"network.autapses={str(autapses).lower()}"]
    prepared = prepare(load_spec(TINY, sets))
    assert prepared.initial_connections == prepared.capacity == expected
    assert prepare(load_spec(TINY, ["growth.initial_connections=7"])).initial_connections == 7


@pytest.mark.parametrize("autapses", [False, True])
def test_a_run_with_all_has_every_synapse(tmp_path, autapses):
    out = tmp_path / "full.h5"
    sets = ["growth.initial_connections=all", "growth.events=[]", f"network.autapses={str(autapses).lower()}",
            "train.batches=4", "log.every=2"]
    assert main(["run", str(TINY), "--out", str(out), "-q", *[a for o in sets for a in ("--set", o)]]) == 0
    with h5py.File(out, "r") as f:
        n = f["geometry/distances"].shape[0]
        mask = f["final/mask"][()].astype(bool)
        first = f[f"snapshots/{sorted(f['snapshots'])[0]}/mask"][()].astype(bool)
        connections = f["series/connections"][()]
        count = int(f["events/count"][0])
    # An independent count: every off-diagonal entry (and the diagonal with autapses).
    off_diagonal = ~np.eye(n, dtype=bool)
    assert n == 16
    assert np.array_equal(first, mask)
    if autapses:
        assert mask.all()
    else:
        assert np.array_equal(mask, off_diagonal)
        assert int(mask.sum()) == n * (n - 1) == 240
    assert list(connections) == [int(mask.sum())] * 3 and count == int(mask.sum())
