"""Write docs/spec.md from the spec models, so the reference cannot drift from the code.

Usage: python tools/make_spec_docs.py [--check]

With --check, exit 1 if docs/spec.md differs from what the models give (the test
suite runs this).
"""

from __future__ import annotations

import sys
import types
import typing
from pathlib import Path

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from growsim.spec import models
from growsim.growth import available_operations
from growsim.metrics.analyses import available_analyses
from growsim.tasks import builtin as task_builtins
from growsim.tasks.registry import available_tasks
from growsim.train.regularisers import available_terms
from growsim.wiring import available_rules

DOC = Path(__file__).parents[1] / "docs" / "spec.md"

HEADER = """# Spec reference

A growsim spec is a YAML file with the sections below. Every key is checked: unknown
keys, wrong types and values out of range are errors that name their YAML path and
line (`growsim validate SPEC`). Defaults follow the papers (Yang et al. 2019; Wu & Gu).
`growsim schema` prints the same reference as a JSON Schema for editors (see
[Editor support](#editor-support)).

*This page is generated from the spec models by `python tools/make_spec_docs.py`; do
not edit it by hand.*

Paths such as `growth.events[0].every` are how errors and `--set` name a field:

    growsim run specs/add_conn_distance.yaml --set 'growth.events[0].every=250' --set seed=3   # quoted: zsh expands [0]

## Editor support

Editors that use the YAML language server (VS Code's YAML extension, Neovim, Helix, Emacs,
...) complete and check a spec as you type it, from growsim's JSON Schema. Write the schema
to a file, and name it in a comment at the top of the spec (a path relative to the spec):

    growsim schema -o growsim.schema.json

```yaml
# yaml-language-server: $schema=../growsim.schema.json
```

The schema knows the built-in and installed wiring rules, growth operations, loss terms,
analyses and task suites. A spec that uses plugins needs theirs too: `--spec SPEC` loads
the plugins a spec names (as `growsim validate` does, and nothing else of it), `--plugin`
loads a plugin file or module; both may be repeated:

    growsim schema --spec specs/add_conn_gnm.yaml -o growsim.schema.json
    growsim schema --plugin plugins/gnm_matching.py --plugin my_package.rules -o growsim.schema.json

Write the schema again when growsim or a plugin changes. The schema checks keys, types and
ranges; `growsim validate` also runs the checks across fields and reads the files a spec
names. In VS Code, `"yaml.schemas": {"./growsim.schema.json": "specs/*.yaml"}` in the
settings applies the schema to every spec without the comment.
"""


def type_name(ann: typing.Any) -> str:
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin is typing.Literal:
        return " \\| ".join(f"`{a!r}`".replace("'", "") for a in args)
    if origin in (typing.Union, types.UnionType):
        names = [type_name(a) for a in args if a is not type(None)]
        text = " or ".join(names)
        return text + (" or null" if type(None) in args else "")
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if origin is dict:
        return "mapping"
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return f"[{ann.__name__}](#{ann.__name__.lower()})"
    return getattr(ann, "__name__", str(ann))


def constraints(field: FieldInfo) -> str:
    out = []
    for meta in field.metadata:
        for attr, sym in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="), ("min_length", "min items"), ("max_length", "max items")):
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{sym} {value}")
        if getattr(meta, "pattern", None):
            out.append(f"matches `{meta.pattern}`")
    return ", ".join(out)


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
    else:
        value = field.default
    if isinstance(value, BaseModel):
        dumped = value.flat() if isinstance(value, models.WiringSpec) else value.model_dump(mode="json")
        return "`" + ", ".join(f"{k}: {v}" for k, v in dumped.items()) + "`" if len(str(dumped)) < 60 else "see below"
    if value is None:
        return "null"
    return f"`{value}`"


def model_section(model: type[BaseModel], path: str, seen: set) -> list[str]:
    if model in seen:
        return []
    seen.add(model)
    doc = (model.__doc__ or "").strip()
    lines = [f"### {model.__name__}", "", f"At `{path}`." if path else "", ""]
    if doc:
        lines += [doc, ""]
    lines += ["| key | type | default | constraints | meaning |", "|---|---|---|---|---|"]
    nested = []
    for name, field in model.model_fields.items():
        if (model, name) in (
            (models.WiringSpec, "params"), (models.GrowthEvent, "params"), (models.RegulariserSpec, "args"),
            (models.AnalysisSpec, "args"), (models.TaskEntry, "params"),
        ):
            continue
        lines.append(
            f"| `{field.alias or name}` | {type_name(field.annotation)} | {default_text(field)} | {constraints(field)} | "
            f"{(field.description or '').replace('|', '/')} |"
        )
        for sub in _models_in(field.annotation):
            nested.append((sub, f"{path}.{name}" if path else name))
    lines.append("")
    for sub, sub_path in nested:
        lines += model_section(sub, sub_path, seen)
    return lines


def _models_in(ann) -> list[type[BaseModel]]:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return [ann]
    out = []
    for arg in typing.get_args(ann):
        out += _models_in(arg)
    return out


GUIDE = """## Choosing the tasks

`task.tasks` says which of a suite's tasks a run trains on (Yang et al.'s 20 here; Mod-Cog's
82 with `suite: modcog` take the same forms), in one of three forms:

```yaml
task: {tasks: all}                          # the 20 (the default)
task: {tasks: [fdgo, reactgo, dm1]}         # these (Yang's names; neurogym's as aliases)
task: {tasks: {draw: 3}}                    # 3 drawn for each seed from the 20
task: {tasks: {draw: 2, from: [fdgo, reactgo, delaygo, dm1, dm2]}}   # 2 drawn from these 5
```

A draw picks K distinct tasks without replacement from the pool (`from`, default all 20)
with the run's own random stream `task_selection`, derived from its seed like every other
stream (`growsim.streams`): the same seed draws the same tasks, another seed (almost
always) others, and no other stream moves, so the rest of the run (weights, trials,
noise) is what a run of that seed with those tasks listed in Yang's order would get. An
ensemble (`seed: [0, 1, 2]`, `seed: {count: 5}`) draws for each member, with its own seed.
The drawn tasks are trained in the suite's order (Yang's: that of `growsim.tasks.TASK_NAMES`, whatever
order `from` lists them in), so `{draw: 20}` is exactly `all`. The run file lists them in
`/tasks/names` and says how they were chosen in the attribute `selection` of `/tasks`
(`drawn 3 of the 20 Yang tasks from random stream task_selection, seed 4`; the pool in the
attribute `pool`): see [hdf5.md](hdf5.md). `growsim inspect RUN` shows both.

A draw takes no `task_probs`: which tasks the probabilities would go with is not known
until the seed is, so the spec is refused with the path `task.task_probs`. K must be at
least 1 and at most the size of the pool; the pool's names must be known tasks, each
once. A sweep varies K as `task.tasks.draw` (Wu & Gu's Fig. 2, `sweeps/wu_gu_fig2.yaml`):

```yaml
grid:
  task.tasks.draw: [1, 3, 5, 10, 15, 20]
seeds: 5
```

## Starting from another run

`init_from` starts a network from the network another run stored (a warm start). A chain
network: Hamidi et al.'s Fig. 2c trains networks to N_solved = 10 and then gives them 10
epochs on N = 10 + K. For K = 3:

```yaml
network: {kind: chain, module_size: 15}
task: {suite: parity, n_start: 13, n_max: 13}
init_from:
  run: ../runs/hamidi_fig2/modular_seed0.h5   # relative to the spec file
  step: {n_solved: 10}                        # the first logged step with 10 levels solved
  heads: solved                               # level 10's module and head, trained on N = 13
train: {batches: 6000}                        # 10 epochs of 600 batches
```

The run keeps the stored modules up to the one that reads the largest level solved at that
step (modules grown for levels not yet solved are dropped), with their weights and frozen
flags as stored, and one head for its own first level: the stored head of that level
(`heads: solved`) or a fresh one on the same module (`heads: new`, a non-modular network's
new read-out head). The source must be a chain run with the same module size, logged at
that step; anything else is an error at `init_from.run` (`growsim validate` checks it).
The run file records the source's path, sha256 and step (`version_init_from*`,
[hdf5.md](hdf5.md)).

A leaky RNN (`network.kind: leaky_rnn`, the default) starts from a leaky RNN run's weights
at `step` (`final`, or a step with a snapshot): its recurrent weights and mask (which
synapses exist), its input weights and both biases, and its neuron signs (`network.dale`)
and time constants (`network.tau`) when it has them. The weights of the run's first
snapshot are the stored ones exactly. Growth then adds synapses to the stored mask (an
`add_connections` event's `until` counts them too), and the optimizer starts afresh.
`heads: solved` keeps the stored readout (`w_out`, `b_out`); `heads: new` draws a fresh
one from the run's own init stream (with a zero bias), so the task suite may have another
number of outputs. Grow a network with distance-dependent wiring for 2,000 batches, then
go on growing it with random wiring (`run` is relative to the spec file):

    growsim run specs/add_conn_distance.yaml -o runs/grown.h5 --set train.batches=2000
    growsim run specs/add_conn_random.yaml -o runs/warm.h5 --set 'init_from={run: ../runs/grown.h5, step: final}'

The source must be a leaky RNN run with as many neurons as this spec's geometry and as
many inputs as its task suite (and outputs, with `heads: solved`), with Dale's law (the
same number of excitatory neurons) and per-neuron time constants in both or neither, and
no autapses unless `network.autapses` allows them; `step: {n_solved: K}` is for chains
only. Anything else is an error at `init_from.run`, and `growth.initial_connections` must
stay 0 (the stored synapses are the initial ones). Neurons are matched by index: the
geometry is this spec's. A synapse the run adds later with `growth.new_synapse: {init:
initial}` starts at this run's own draw, as in a run of the same seed without `init_from`
(under Dale's law, with the sign of its stored presynaptic neuron).

## Fully connected networks

`growth.initial_connections: all` starts the network with every synapse it can have:
N(N-1) without autapses (`network.autapses: false`, the default), N^2 with them; the same
number that bounds an integer `initial_connections` and an event's `until`
(`growsim validate` prints it). It saves typing N(N-1) and follows N when a sweep changes
the network's size:

```yaml
network:
  geometry: {kind: random_points, n: 64}
growth:
  initial_connections: all    # 64 x 63 = 4032 synapses
  events: []
```

Which rule places them does not matter (all are placed; each starts at the weight
`network.w_rec` drew for it), though the rule still runs once, and the run file's
`/events` records them as the initial `add_connections` row (`requested` is the count).
An `add_connections` event then has nothing to add, and is refused; a chain of modules has
no synapses to place, so `all` is refused there as any number is. Integers keep their
meaning.

## Initial connectivity from a file

`growth.initial_connections: {file: PATH}` starts the network with the synapses of a
connectivity matrix: an adjacency or weight matrix, N x N (N the geometry's neurons), a
`.npy` array or a text table (read as a distance-matrix file is: a header line and row
labels are allowed). Every non-zero entry is a synapse:

```yaml
growth:
  initial_connections:
    file: data/desikan_knn8.csv   # relative to the spec file
    orientation: post_pre         # [i, j] is j -> i; pre_post: [i, j] is i -> j (rows are sources)
    weights: false                # true: each synapse starts at the file's value
  events: []
```

With `weights: false` a synapse starts at the initial draw of `network.w_rec`, as synapses
placed by a wiring rule do. The file is read and checked when the run is prepared
(`growsim validate` does it too): its size must be the network's, every entry finite, the
diagonal zero unless `network.autapses: true`, and at least one entry non-zero; a problem
is reported at `growth.initial_connections.file`. The run file's `/events` records the
synapses as the initial `add_connections` row, `source: file`. Growth events then add
(or prune) synapses as usual. `specs/connectome_file.yaml` is an example.

"""


def wiring_section() -> list[str]:
    intro = [
        "## Wiring rules",
        "",
        "`wiring.rule` chooses the rule; the rule's parameters sit beside it:",
        "",
        "```yaml",
        "wiring:",
        "  rule: distance",
        "  eta: -3.0",
        "```",
        "",
        "This is the one form, as it is beside `op`, `kind` and `suite`: parameters gathered under",
        "`params:` (`{rule: distance, params: {eta: -3.0}}`) are refused by `growsim validate` and the",
        "JSON Schema alike.",
        "",
        "Built-in rules (a plugin's rules are listed by `growsim plugins --spec SPEC`):",
        "",
    ]
    return intro + entries_section(available_rules())


def growth_section() -> list[str]:
    intro = [
        "## Growth operations",
        "",
        "Each event of `growth.events` names an operation (`op`) and says when it fires (the keys of",
        "[GrowthEvent](#growthevent): `every`, `start`, `stop`, `at` or `when`); the operation's",
        "parameters sit beside them:",
        "",
        "```yaml",
        "growth:",
        "  events:",
        "    - {op: add_connections, every: 500, count: 10, until: 800}",
        "```",
        "",
        "Built-in operations (a plugin's operations are listed by `growsim plugins --spec SPEC`;",
        "[plugins.md](plugins.md) shows how to write one):",
        "",
    ]
    return intro + entries_section(available_operations(), networks=True)


def loss_terms_section() -> list[str]:
    intro = [
        "## Loss terms",
        "",
        "Each entry of `regularisers` names a loss term (`kind`) with the keys every term shares",
        "([RegulariserSpec](#regulariserspec): `strength`, `schedule`, `name`); the term's own",
        "parameters sit beside them:",
        "",
        "```yaml",
        "regularisers:",
        "  - {kind: l1, strength: 1.0e-5}",
        "  - {kind: wiring, strength: 1.0e-5, A: 1.0}",
        "```",
        "",
        "Built-in loss terms (a plugin's are listed by `growsim plugins --spec SPEC`;",
        "[plugins.md](plugins.md) shows how to write one):",
        "",
    ]
    return intro + entries_section(available_terms())


def analyses_section() -> list[str]:
    intro = [
        "## Analyses",
        "",
        "Each entry of `log.analyses` names an analysis (`kind`) the run computes on its network",
        "every `every` batches (a multiple of `log.every`, and at the end), with its own",
        "parameters beside; its results are series named `<name>_<key>` (`name` defaults to the",
        "kind), NaN at the log steps where it did not run:",
        "",
        "```yaml",
        "log:",
        "  every: 500",
        "  analyses:",
        "    - {kind: wiring_length, every: 1000, threshold: 0.01}",
        "```",
        "",
        "Built-in analyses (a plugin's are listed by `growsim plugins --spec SPEC`;",
        "[plugins.md](plugins.md) shows how to write one):",
        "",
    ]
    return intro + entries_section(available_analyses())


def entries_section(entries, networks: bool = False) -> list[str]:
    """One subsection per built-in entry of a registry: its summary and parameters."""
    lines: list[str] = []
    for name, info in entries.items():
        if info.origin != "built-in":
            continue
        lines += [f"### `{name}`", "", info.summary, ""]
        if networks:
            kinds = info.meta.get("networks")
            lines += [f"Applies to: {', '.join(f'`{k}`' for k in kinds) if kinds else 'any network'}.", ""]
        fields = info.params.model_fields
        if not fields:
            lines += ["No parameters.", ""]
            continue
        lines += ["| key | type | default | constraints | meaning |", "|---|---|---|---|---|"]
        for pname, field in fields.items():
            lines.append(
                f"| `{field.alias or pname}` | {type_name(field.annotation)} | {default_text(field)} | "
                f"{constraints(field)} | {(field.description or '').replace('|', '/')} |"
            )
        lines.append("")
    return lines


def tasks_section() -> list[str]:
    intro = [
        "## Task suites",
        "",
        "`task.suite` chooses the suite (default `yang20`); the suite's parameters sit beside it:",
        "",
        "```yaml",
        "task:",
        "  suite: modcog",
        "  tasks: {draw: 20}",
        "  n_eachring: 16",
        "```",
        "",
        "Built-in suites (a plugin's suites are listed by `growsim plugins --spec SPEC`;",
        "[tasks.md](tasks.md) describes each and shows how to write one):",
        "",
    ]
    seen: set = set()
    nested = model_section(task_builtins.TaskDraw, "task.tasks", seen)
    nested += model_section(task_builtins.CriterionSpec, "task.criterion", seen)
    return intro + entries_section(available_tasks()) + nested


def render() -> str:
    lines = [HEADER, "## Sections", ""]
    lines += model_section(models.Spec, "", set())
    lines += GUIDE.splitlines()
    lines += tasks_section()
    lines += wiring_section()
    lines += growth_section()
    lines += loss_terms_section()
    lines += analyses_section()
    text = "\n".join(lines)
    while "\n\n\n" in text:
        text = text.replace("\n\n\n", "\n\n")
    return text.rstrip() + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print(f"{DOC} is out of date: run python tools/make_spec_docs.py", file=sys.stderr)
            return 1
        return 0
    DOC.parent.mkdir(exist_ok=True)
    DOC.write_text(text)
    print(f"wrote {DOC}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
