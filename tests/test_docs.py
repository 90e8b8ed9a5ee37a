"""The docs say what the code does: generated reference up to date, layout complete, examples run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np

from growsim.cli import main

ROOT = Path(__file__).parents[1]


def test_spec_reference_is_generated_from_the_models():
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "make_spec_docs.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def test_every_dataset_of_a_run_is_documented(tmp_path):
    out = tmp_path / "run.h5"
    assert main(["run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out), "-q"]) == 0
    doc = (ROOT / "docs" / "hdf5.md").read_text()
    names: set[str] = set()
    with h5py.File(out, "r") as f:
        f.visit(names.add)
        attrs = set(f.attrs)
    for name in names:
        parts = name.split("/")
        assert f"`/{parts[0]}" in doc, f"group /{parts[0]} has no section in docs/hdf5.md"
        if parts[0] == "snapshots":
            parts = parts[:1] + parts[2:]  # snapshot groups are named by their step
        if parts[0] == "checkpoint" and len(parts) > 1 and parts[1] in ("network", "optimizer", "rng", "engine"):
            assert f"| `{parts[1]}/" in doc, f"{name} is not in a table of docs/hdf5.md"
            continue
        if len(parts) > 1:
            assert f"| `{parts[-1]}` |" in doc, f"{name} is not in a table of docs/hdf5.md"
    for attr in attrs:
        assert f"`{attr}`" in doc or attr.startswith("version_"), f"root attribute {attr} is not in docs/hdf5.md"


def test_plugin_guide_example_runs():
    from growsim.wiring import WiringRequest, candidate_mask, choose_synapses, get_rule
    from growsim.wiring.registry import unregister

    text = (ROOT / "docs" / "plugins.md").read_text()
    code = re.search(r"```python\n(.*?)```", text, re.S).group(1)
    try:
        exec(compile(code, "docs/plugins.md", "exec"), {"__name__": "docs_plugins_example"})
        rule = get_rule("nearest_k")
        x = np.arange(10.0)
        d = np.abs(x[:, None] - x[None, :])
        mask = np.zeros((10, 10), bool)
        req = WiringRequest(d, mask, candidate_mask(mask, allow_autapses=False), 8, np.random.default_rng(0), np.zeros((10, 10)))
        pairs = choose_synapses(rule, rule.params(k=2), req)
        assert np.all(np.abs(pairs[:, 0] - pairs[:, 1]) <= 2)
    finally:
        unregister("nearest_k")


def test_growth_operation_guide_example_runs():
    """The guide's growth operation registers, validates its parameters and does what it says."""
    import torch

    from growsim.growth import GrowthContext, get_operation, registry

    text = (ROOT / "docs" / "plugins.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    code = next(b for b in blocks if "@growth_operation" in b)
    try:
        exec(compile(code, "docs/plugins.md", "exec"), {"__name__": "docs_growth_example"})
        op = get_operation("jitter_synapses")
        assert op.meta["networks"] == ("leaky_rnn",)
        w = torch.tensor([[0.0, 0.5], [0.25, 0.0]])
        mask = (w != 0).float()
        net = type("Net", (), {"w_rec": w, "mask": mask, "n_connections": 2})()
        outcome = op.func(GrowthContext(0, net, None, np.random.default_rng(0)), **op.params(sigma=0.1).model_dump())
        assert outcome.details == {"synapses": 2}
        assert float(w[0, 0]) == 0 and float(w[1, 1]) == 0  # absent synapses stay zero
        assert float(w[0, 1]) != 0.5 and float(w[1, 0]) != 0.25
    finally:
        registry.OPERATIONS.unregister("jitter_synapses")


def test_loss_term_guide_example_runs():
    import torch

    from growsim.train.regularisers import LOSS_TERMS, Regularisers, Term

    text = (ROOT / "docs" / "plugins.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "@loss_term" in b)
    try:
        exec(compile(code, "docs/plugins.md", "exec"), {"__name__": "docs_loss_term_example"})
        reg = Regularisers([Term("r", "ridge", strength=0.5, args={"params": ["w_rec", "b_out"]})])
        named = {"w_rec": torch.tensor([[1.0, -2.0], [0.0, 3.0]]), "b_out": torch.tensor([0.5])}
        total, values = reg(named, 0, 10)
        assert float(values["r"]) == 14.25 and float(total) == 0.5 * 14.25  # 1 + 4 + 9 + 0.25
    finally:
        LOSS_TERMS.unregister("ridge")


def test_analysis_guide_example_runs():
    from growsim.metrics.analyses import ANALYSES, AnalysisContext, get_analysis

    text = (ROOT / "docs" / "plugins.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "@analysis" in b)
    try:
        exec(compile(code, "docs/plugins.md", "exec"), {"__name__": "docs_analysis_example"})
        w = np.array([[0.0, 0.5, 0.005], [0.2, 0.0, 0.0], [0.0, 0.0, 0.0]])
        ctx = AnalysisContext(step=0, weights={"w_rec": w, "mask": (w != 0).astype(np.uint8)}, distances=None,
                              positions=None, seed=0)
        out = get_analysis("in_degree").func(ctx, threshold=0.01)
        assert out["per_neuron"].tolist() == [1.0, 1.0, 0.0] and out["mean"] == 2 / 3
    finally:
        ANALYSES.unregister("in_degree")


def test_readme_commands_name_real_files():
    readme = (ROOT / "README.md").read_text()
    for path in re.findall(r"specs/[a-z_]+\.yaml", readme):
        assert (ROOT / path).exists(), path
    assert "-c constraints.txt" in readme


def test_the_readmes_spec_table_names_every_shipped_spec():
    """The tour's table of specs/: every row names real files, and every shipped spec has a row."""
    import itertools

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| spec | what |"):]
    table = table[: table.index("\n\n")]
    named: set[str] = set()
    for row in table.splitlines()[2:]:
        for name in re.findall(r"`([^`]+\.yaml)`", row.split(" | ")[0]):
            parts = re.split(r"\{([^}]*)\}", name)  # text, choices, text, choices, ..., text
            options = [p.split(",") if k % 2 else [p] for k, p in enumerate(parts)]
            named |= {"".join(choice) for choice in itertools.product(*options)}
    shipped = {p.name for p in (ROOT / "specs").glob("*.yaml")}
    assert named - shipped == set()
    assert shipped - named == set()


def test_task_guide_example_runs(tmp_path):
    """The task suite of docs/tasks.md registers, makes trials, and trains from a spec."""
    from growsim.spec import load_spec
    from growsim.tasks import make_suite
    from growsim.tasks.registry import TASKS

    text = (ROOT / "docs" / "tasks.md").read_text()
    code = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "@task_suite" in b)
    try:
        exec(compile(code, "docs/tasks.md", "exec"), {"__name__": "docs_task_example"})
        suite = make_suite("delayed_sign", {"steps": 5})
        b = suite.sample(np.random.default_rng(0), 6)
        assert b.x.shape == (5, 6, 1) and set(b.target_class[-1].tolist()) <= {1, 2}
        assert np.array_equal(np.where(b.x[0, :, 0] > 0, 1, 2), b.target_class[-1])
        assert suite.score(b.last("y"), b).tolist() == [1.0] * 6
        out = tmp_path / "sign.h5"
        spec = load_spec(ROOT / "tests" / "data" / "tiny.yaml", ["task={suite: delayed_sign, steps: 5}"])
        assert spec.spec.task.settings.steps == 5
        from growsim.cli import main

        args = ["run", str(ROOT / "tests" / "data" / "tiny.yaml"), "--out", str(out), "-q",
                "--set", "task={suite: delayed_sign, steps: 5}", "--set", "train.batches=4", "--set", "log.every=2"]
        assert main(args) == 0
    finally:
        TASKS.unregister("delayed_sign")


def test_every_shipped_sweep_is_in_the_sweeps_table_with_its_ledger():
    """docs/sweeps.md lists every file of sweeps/, and every ledger folder it names exists."""
    text = (ROOT / "docs" / "sweeps.md").read_text()
    table = text[text.index("## The shipped sweeps"):]
    table = table[:table.index("\n## ")]
    listed = set(re.findall(r"^\| `([a-z0-9_]+\.yaml)` \|", table, flags=re.M))
    assert listed == {p.name for p in (ROOT / "sweeps").glob("*.yaml")}
    for folder in re.findall(r"`(results/[a-z_0-9/]+)`", table):
        assert (ROOT / folder / "ledger.yaml").exists(), folder
