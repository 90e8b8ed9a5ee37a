"""growsim validate: check specs without running them."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import console, err_console

EXAMPLES = """Examples:

  growsim validate specs/add_conn_distance.yaml

  growsim validate specs/*.yaml

  growsim validate specs/add_conn_random.yaml --set 'growth.events[0].every=100'    # quoted: zsh expands [0]
"""


def validate(
    specs: Annotated[list[Path], typer.Argument(help="Spec files (YAML).", show_default=False, metavar="SPEC")],
    set_: Annotated[list[str], typer.Option("--set", metavar="PATH=VALUE", help="Override a field: dotted.path=value (repeatable).")] = [],
) -> None:
    """Find every mistake in each spec at once, each named by its YAML path and line."""
    from growsim.build import prepare
    from growsim.spec import SpecError, load_spec
    from growsim.tasks.builtin import TaskDraw

    failed = 0
    for path in specs:
        try:
            prepared = prepare(load_spec(path, set_))
        except SpecError as exc:
            failed += 1
            err_console.print(str(exc), markup=False, highlight=False)
            continue
        spec = prepared.spec
        if spec.network.kind == "chain":
            net = spec.network
            what = f"{net.n_modules} module(s) of {net.module_size} neurons, curriculum N = {spec.task.setting('n_start')}..{spec.task.setting('n_max')}"
        else:
            initial = prepared.initial_connections
            every = " (all)" if spec.growth.initial_connections == "all" else ""
            if prepared.connectivity is not None:
                every = f" (from {spec.growth.initial_connections.file})"
            what = f"{prepared.n_neurons} neurons, wiring {spec.wiring.rule}, {initial} initial synapses{every}"
            what += f", task suite {spec.task.suite}"
            tasks = spec.task.setting("tasks")
            if isinstance(tasks, TaskDraw):
                what += f", {tasks.draw} tasks drawn per seed"
        seeds, ensemble = spec.seeds, ""
        if spec.is_ensemble:
            listed = ", ".join(map(str, seeds)) if len(seeds) <= 6 else f"{seeds[0]}..{seeds[-1]}"
            ensemble = f"; {len(seeds)} seeds ({listed}), one run file each"
        console.print(
            f"{path}: ok ({what}, {len(spec.growth.events)} growth events, {spec.train.batches} batches{ensemble})",
            markup=False,
            highlight=False,
        )
    if failed:
        raise typer.Exit(2)
