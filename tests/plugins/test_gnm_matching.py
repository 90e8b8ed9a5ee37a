"""The worked plugin example: loaded from its file by a spec, validated, and correct."""

from __future__ import annotations

import hashlib

import importlib.util
from pathlib import Path

import h5py
import numpy as np
import pytest

from growsim.cli import main
from growsim.spec import SpecError, load_spec
from growsim.wiring import WiringRequest, candidate_mask, choose_synapses, get_rule

ROOT = Path(__file__).parents[2]
SPEC = ROOT / "specs" / "add_conn_gnm.yaml"


def _plugin():
    load_spec(SPEC)  # loads the plugin file the spec names
    spec = importlib.util.spec_from_file_location("gnm_for_test", ROOT / "plugins" / "gnm_matching.py")
    return spec


def test_spec_loads_the_plugin_and_validates_its_parameters():
    loaded = load_spec(SPEC)
    assert loaded.spec.wiring.rule == "gnm_matching"
    assert loaded.spec.wiring.params == {"eta": -3.0, "gamma": 0.3, "eps": 1e-5, "k_offset": 1e-3}
    assert get_rule("gnm_matching").origin.endswith("plugins/gnm_matching.py")
    with pytest.raises(SpecError, match=r"wiring.gamma: must be >= 0 \(--set wiring.gamma=-1\)"):
        load_spec(SPEC, ["wiring.gamma=-1"])


def test_matching_index_by_hand():
    load_spec(SPEC)
    matching_index = get_rule("gnm_matching").func.__globals__["matching_index"]
    # A path 0-1-2 plus 3-2: N(0)={1}, N(1)={0,2}, N(2)={1,3}, N(3)={2}.
    a = np.zeros((4, 4), bool)
    for i, j in [(0, 1), (1, 2), (2, 3)]:
        a[i, j] = a[j, i] = True
    m = matching_index(a)
    # 0 and 2 share {1}; union of N(0)\{2} and N(2)\{0} is {1, 3}: 1/2.
    assert m[0, 2] == pytest.approx(0.5)
    # 1 and 3 share {2}; union {0, 2} (3 and 1 left out): 1/2.
    assert m[1, 3] == pytest.approx(0.5)
    # 0 and 1 share nothing; union of N(0)\{1} = {} and N(1)\{0} = {2}: 0.
    assert m[0, 1] == 0
    assert np.allclose(m, m.T) and np.all(np.diag(m) == 0)


def test_gamma_zero_is_the_distance_rule():
    load_spec(SPEC)
    rule = get_rule("gnm_matching")
    x = np.arange(30.0)
    d = np.abs(x[:, None] - x[None, :])
    mask = np.zeros((30, 30), bool)
    req = WiringRequest(d, mask, candidate_mask(mask, allow_autapses=False), 10, np.random.default_rng(0), np.zeros((30, 30)))
    pairs = choose_synapses(rule, rule.params(gamma=0.0, eta=-25.0), req)
    assert np.all(np.abs(pairs[:, 0] - pairs[:, 1]) == 1)


def test_matching_attracts_partners_of_partners():
    load_spec(SPEC)
    rule = get_rule("gnm_matching")
    n = 12
    d = np.ones((n, n)) - np.eye(n)  # all equidistant: only matching matters
    mask = np.zeros((n, n), bool)
    mask[0, 1] = mask[2, 1] = True  # 0 and 2 share partner 1
    req = WiringRequest(d, mask, candidate_mask(mask, allow_autapses=False), 1, np.random.default_rng(0), np.zeros((n, n)))
    hits = 0
    for seed in range(200):
        req = WiringRequest(**{**req.__dict__, "rng": np.random.default_rng(seed)})
        post, pre = choose_synapses(rule, rule.params(gamma=3.0), req)[0]
        hits += {int(post), int(pre)} == {0, 2}
    assert hits > 100  # with gamma 3, (0, 2) and (2, 0) outweigh every other pair


def test_spec_runs(tmp_path):
    out = tmp_path / "gnm.h5"
    args = ["run", str(SPEC), "--out", str(out), "-q", "--set", "train.batches=5", "--set", "log.every=2",
            "--set", "growth.events[0].every=2", "--set", "log.eval_batch_size=8", "--set", "train.batch_size=8"]
    assert main(args) == 0
    with h5py.File(out, "r") as f:
        assert list(f["series/connections"][()]) == [0, 10, 20, 20]  # growth at 2 and 4; logs at 0, 2, 4 and the end
        # provenance: the rule's origin, and the plugin file with the hash of its code
        plugin = (SPEC.parent / "../plugins/gnm_matching.py").resolve()
        assert f.attrs["version_wiring_rule"] == f"gnm_matching: file {plugin}"
        digest = hashlib.sha256(plugin.read_bytes()).hexdigest()
        assert f.attrs["version_plugin_0"] == f"../plugins/gnm_matching.py: {plugin} sha256 {digest}"
