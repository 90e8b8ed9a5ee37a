"""growsim analyze: recompute a metric from a run's stored weights into /analysis/<name>."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from growsim.cli.common import UserError, console

EXAMPLES = """Examples:

  growsim analyze runs/add_conn_distance.h5 modularity --method louvain --seed 1

  growsim analyze runs/add_conn_distance.h5 modularity --name q_gamma2 --resolution 2

  growsim analyze runs/add_conn_distance.h5 task_variance --step 2000

  growsim analyze runs/bimt_grid2d.h5 anatomy --repeats 10      # the anatomy test for 10 clusterings

  growsim analyze robustness runs/modular_growth_parity.h5 --what recurrent --eps 0,0.1,0.2,0.4 --draws 5

  growsim analyze timescales runs/modular_growth_parity.h5 --steps 100000 --max-lag 30

  growsim analyze timescales_at_solves runs/modular_growth_parity.h5 --steps 20000   # Fig. 4: at every solve step

  growsim analyze weight_conservation runs/modular_growth_parity.h5   # Fig. 5c: W_rec and W_ff kept from module to module

  growsim analyze runs/killed.h5 modularity --force      # a run whose writer was killed (status still running)

  growsim analyze runs/add_conn_distance.h5 wiring_length --param threshold=0.01

  growsim analyze runs/x.h5 my_metric --plugin my_metrics.py --param bins=20   # an analysis of one's own

RUN and METRIC may come in either order.
"""

METRIC_HELP = (
    "modularity (Q and communities at every snapshot), task_variance (Yang et al.'s clusters at one step; leaky-RNN "
    "runs), anatomy (a functional report made again for several clustering seeds; runs with log.functional), robustness (accuracy after perturbing W_rec, W_ff, tau or both weights; chain runs), timescales (trained "
    "and effective timescale of every neuron; chain runs), timescales_at_solves (the same at every step where N_solved "
    "rose: Fig. 4), weight_conservation (variance of the normalised change of W_rec and of W_ff between "
    "consecutive modules: Fig. 5c; chain runs); or any registered analysis, as log.analyses names it (wiring_length, "
    "or a plugin's: see --plugin), at every stored step."
)


def _parse_eps(text: str) -> list[float]:
    """``0,0.05,0.1`` or ``0:0.5:0.05`` (start:stop:step, stop included)."""
    try:
        if ":" in text:
            start, stop, step = (float(v) for v in text.split(":"))
            if not step > 0 or stop < start:
                raise ValueError
            n = round((stop - start) / step)
            values = [round(start + i * step, 10) for i in range(n + 1)]
        else:
            values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UserError(f"--eps {text!r}: give numbers separated by commas (0,0.1,0.2) or start:stop:step (0:0.5:0.05)") from None
    if not values or any(not v >= 0 or v == float("inf") for v in values):
        raise UserError(f"--eps {text!r}: every eps must be a finite number >= 0")
    return values


def _registered_analyses(plugins: list[Path]) -> list[str]:
    """The names of registered analyses, after loading the plugin files named."""
    from growsim.metrics.analyses import available_analyses
    from growsim.registry import RegistryError, load_plugin_file

    for path in plugins:
        try:
            load_plugin_file(path)
        except RegistryError as exc:
            raise UserError(f"--plugin {path}: {exc}") from None
    return sorted(available_analyses())


def _parse_params(items: list[str]) -> dict:
    """``KEY=VALUE`` pairs, each value read as YAML (``0.01``, ``[1, 2]``, ``true``)."""
    import yaml

    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--param {item!r}: write KEY=VALUE, e.g. --param threshold=0.01")
        try:
            out[key.strip()] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise UserError(f"--param {item!r}: the value is not valid YAML") from None
    return out


def _run_registered(run, name: str, params: dict, seed: int):
    """A registered analysis at every stored step, its parameters and failures as user errors."""
    from pydantic import ValidationError

    from growsim.analyses import registered_analysis
    from growsim.reader import RunFileError

    try:
        return registered_analysis(run, name, params, seed=seed)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'parameters'}: {e['msg']}" for e in exc.errors())
        raise UserError(f"--param for {name}: {problems}") from None
    except RunFileError as exc:
        raise UserError(str(exc)) from None
    except Exception as exc:  # the analysis's own code (a plugin's) failed on this run
        raise UserError(f"the analysis {name} failed on {run.path}: {type(exc).__name__}: {exc}") from None


def analyze(
    first: Annotated[str, typer.Argument(help="A run's HDF5 file (RUN), or the METRIC.", show_default=False, metavar="RUN")],
    second: Annotated[str, typer.Argument(help=f"The METRIC (or RUN): {METRIC_HELP}", show_default=False, metavar="METRIC")],
    method: Annotated[str, typer.Option(help="modularity: spectral (deterministic) or louvain.")] = "spectral",
    seed: Annotated[int, typer.Option(help="Random seed: louvain's; the test trials' of task_variance; the shuffles' of anatomy; the perturbations' of robustness; the input bits' of timescales.")] = 0,
    resolution: Annotated[float, typer.Option(help="modularity: the resolution gamma (1: standard Q).")] = 1.0,
    step: Annotated[int | None, typer.Option(help="task_variance, robustness, timescales, weight_conservation: the step of the weights; anatomy: of the functional report; default: the end.", show_default=False)] = None,
    repeats: Annotated[int, typer.Option(help="anatomy: clusterings, with seeds 0 to repeats - 1.", min=1, max=1000)] = 10,
    active_threshold: Annotated[float | None, typer.Option(help="anatomy: summed task variance of an active neuron; default: the run's.", min=0.0, show_default=False)] = None,
    trials: Annotated[int | None, typer.Option(help="task_variance: test trials per task (default 64); robustness: test sequences (default: the run's own evaluation set, 8 x log.eval_batch_size); timescales: independent input sequences (default 1).", min=1, show_default=False)] = None,
    what: Annotated[str, typer.Option(help="robustness: recurrent (W_rec), feedforward (W_ff), tau, connections (W_rec and W_ff at once), or all (each in turn).")] = "all",
    eps: Annotated[str, typer.Option(help="robustness: perturbation sizes, 0,0.1,0.2 or start:stop:step.")] = "0:0.5:0.05",
    draws: Annotated[int, typer.Option(help="robustness: random directions per eps.", min=1)] = 10,
    scope: Annotated[str, typer.Option(help="robustness: module (each module's tensor by its own norm) or network (all modules' as one).")] = "module",
    steps: Annotated[int, typer.Option(help="timescales: time steps of random input recorded.", min=2)] = 100_000,
    max_lag: Annotated[int, typer.Option(help="timescales: largest lag of the autocorrelation fits.", min=4)] = 30,
    burn_in: Annotated[int, typer.Option(help="timescales: steps run before recording.", min=0)] = 1000,
    name: Annotated[str | None, typer.Option(help="Name of the /analysis group; default: modularity_<method>, or the metric's name.", show_default=False)] = None,
    force: Annotated[bool, typer.Option(help="Analyse a file whose status is still running (its writer was killed).")] = False,
    param: Annotated[list[str] | None, typer.Option("--param", metavar="KEY=VALUE", help="A registered analysis's parameter, KEY=VALUE (the value read as YAML); repeat for more.", show_default=False)] = None,
    plugin: Annotated[list[Path] | None, typer.Option("--plugin", help="A Python file that registers analyses, loaded before the analysis is looked up (code runs only from files named here, never from the run file); repeat for more.", show_default=False)] = None,
) -> None:
    """Recompute a metric from the stored weights into /analysis/<name>; the training record is not touched."""
    from growsim.analyses import (
        ANALYSIS_METRICS,
        anatomy,
        ROBUSTNESS_TARGETS,
        check_applicable,
        check_name,
        modularity_over_snapshots,
        result_summary,
        robustness,
        task_variance,
        timescales,
        timescales_at_solves,
        weight_conservation,
        write_analysis,
    )
    from growsim.cli.inspect import open_or_fail
    from growsim.metrics import METHODS
    from growsim.reader import RunFileError

    registered = _registered_analyses(plugin or [])
    known = (*ANALYSIS_METRICS, *(n for n in registered if n not in ANALYSIS_METRICS))
    metric, run_file = second, first
    if first in known and second not in known and not Path(first).exists():
        metric, run_file = first, second  # growsim analyze METRIC RUN
    if metric not in known:
        raise UserError(f"unknown metric {metric!r}; choose one of: {', '.join(known)}")
    params = _parse_params(param or [])
    if params and metric in ANALYSIS_METRICS:
        raise UserError(f"--param is for registered analyses ({', '.join(registered)}); {metric} takes its own options")
    if method not in METHODS:
        raise UserError(f"unknown --method {method!r}; choose one of: {', '.join(METHODS)}")
    if not resolution > 0:
        raise UserError(f"--resolution must be positive, got {resolution}")
    if what not in ("all", *ROBUSTNESS_TARGETS):
        raise UserError(f"unknown --what {what!r}; choose one of: {', '.join(ROBUSTNESS_TARGETS)}, all")
    if scope not in ("module", "network"):
        raise UserError(f"unknown --scope {scope!r}; choose one of: module, network")
    if max_lag >= steps:
        raise UserError(f"--max-lag ({max_lag}) must be smaller than --steps ({steps})")
    eps_values = _parse_eps(eps)
    name = name or (f"modularity_{method}" if metric == "modularity" else metric)
    try:
        check_name(name)
    except ValueError as exc:
        raise UserError(f"--name: {exc}") from None
    run = open_or_fail(Path(run_file))
    try:
        if metric in ANALYSIS_METRICS:
            check_applicable(run, metric)
    except RunFileError as exc:
        raise UserError(str(exc)) from None
    if run.status == "running":
        alive = run.writer_alive()
        if alive:
            # Its writer renames a fresh copy over the file at every log step: what we add would be lost.
            raise UserError(f"{run.path} is being written by process {run.attrs.get('writer_pid')}; analyse it when the run has ended")
        if not force:
            gone = " (its writer is gone: it was killed)" if alive is False else ""
            raise UserError(
                f"{run.path} has status running, last step {run.last_step}{gone}; "
                "wait for it to end, or pass --force to analyse a killed run as it is"
            )
    try:
        if metric not in ANALYSIS_METRICS:
            result = _run_registered(run, metric, params, seed)
        elif metric == "modularity":
            result = modularity_over_snapshots(run, method=method, seed=seed, resolution=resolution)
        elif metric == "task_variance":
            result = task_variance(run, step=step, trials=trials or 64, seed=seed)
        elif metric == "anatomy":
            result = anatomy(run, step=step, repeats=repeats, seed=seed, active_threshold=active_threshold)
        else:
            try:  # what does not fit the network (feed-forward weights of a single module...)
                if metric == "robustness":
                    result = robustness(run, what=what, eps=eps_values, draws=draws, trials=trials, seed=seed, step=step,
                                        scope=scope)
                elif metric == "weight_conservation":
                    result = weight_conservation(run, step=step)
                elif metric == "timescales":
                    result = timescales(run, step=step, steps=steps, max_lag=max_lag, burn_in=burn_in, trials=trials or 1,
                                        seed=seed)
                else:
                    if step is not None:
                        raise UserError("timescales_at_solves takes no --step: it analyses every step where N_solved rose")
                    result = timescales_at_solves(run, steps=steps, max_lag=max_lag, burn_in=burn_in, trials=trials or 1,
                                                  seed=seed)
            except ValueError as exc:
                raise UserError(str(exc)) from None
        write_analysis(run.path, name, result)
    except RunFileError as exc:
        raise UserError(str(exc)) from None
    console.print(f"wrote /analysis/{name} in {run.path}: {result_summary(result)}", markup=False, highlight=False)
