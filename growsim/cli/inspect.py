"""growsim inspect: what a run file holds, in one screen."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer

from growsim.cli.common import UserError, console

EXAMPLES = """Examples:

  growsim inspect runs/add_conn_distance.h5

  growsim inspect runs/fix_random_s3.h5
"""

_SPARK = "▁▂▃▄▅▆▇█"


def inspect(
    run_file: Annotated[Path, typer.Argument(help="A run's HDF5 file.", show_default=False, metavar="RUN")],
) -> None:
    """Summarise a run: spec highlights, status, final performance per task, growth, and contents."""
    from rich.text import Text

    run = open_or_fail(run_file)
    chain = run.network_kind == "chain"
    series = run.series()
    events = run.events()
    contents = run.contents()
    snapshots = run.snapshot_steps()
    analyses = run.analyses()
    spec = run.spec

    # Plain lines, not a table: the console soft-wraps, so each line stays whole for grep.
    size = run.path.stat().st_size
    took = _duration(run.duration_s)
    when = run.attrs.get("created", "?") + (f" to {run.finished}" if run.finished else "")
    if run.status == "running" and run.duration_s is not None:  # the training time up to the last commit
        took += " so far"
        when = f"started {run.attrs.get('created', '?')}, last commit {run.attrs.get('heartbeat', '?')}"
    head = [
        ("file", Text(f"{run.path}  ({_bytes(size)}, growsim-run schema {run.schema_version})")),
        ("status", _status(run)),
        ("time", Text(f"{took}  ({when})")),
        ("spec", Text(_spec_line(run))),
        *((label, Text(text)) for label, text in (_chain_highlights(run, spec) if chain else _spec_highlights(run, spec))),
    ]
    for label, text in head:
        console.print(Text(f"{label:<10}", style="bold") + text, highlight=False)

    if chain:
        _print_chain_metrics(run, series)
        _print_chain_growth(events, series)
    else:
        _print_metrics(run, series)
        _print_growth(events, series)

    console.print(Text("\nContents", style="bold"))
    console.print(Text(f"  {'group':<12} {'datasets':>8} {'stored':>9}   what", style="bold"))
    names = {row["name"] for row in contents}
    groups: dict[str, list[int]] = {}
    for row in contents:
        groups.setdefault(row["name"].split("/")[0], []).append(row["stored_bytes"])
    known = ("spec", "geometry", "tasks", "train", "series", "events", "snapshots", "final", "checkpoint", "analysis")
    always = ("snapshots", "analysis", "geometry") if chain else ("snapshots", "analysis")  # a chain's /geometry is empty
    shown = [t for t in known if t in groups or t in always] + sorted(set(groups) - set(known))
    for top in shown:
        sizes = groups.get(top, [])
        what = _what(top, run, series, events, snapshots, analyses, names)
        console.print(Text(f"  /{top:<11} {len(sizes):>8} {_bytes(sum(sizes)):>9}   {what}"), highlight=False)


def open_or_fail(path: Path):
    """The run at ``path``; a file that cannot be read is a user error (exit 2)."""
    from growsim.log.hdf5 import working_path
    from growsim.reader import RunFileError, open_run

    try:
        return open_run(path)
    except RunFileError as exc:
        message = str(exc)
        if not path.exists() and working_path(path).exists():
            message += (f" (only {working_path(path).name} is there: the unfinished first commit of a run killed while "
                        "writing it, or of one writing it now; it holds nothing to read)")
        raise UserError(message) from None


def _status(run) -> Any:
    from rich.text import Text

    colour = {"completed": "green", "failed": "red", "interrupted": "yellow", "running": "cyan"}.get(run.status, "white")
    text = Text(run.status, style=f"bold {colour}")
    if run.status == "completed":
        text.append(f" at step {run.last_step} of {run.batches}")
    elif run.status == "running":
        alive = run.writer_alive()
        text.append(f": last step logged {run.last_step} of {run.batches}" if run.last_step >= 0 else f": no step logged yet of {run.batches}")
        pid = run.attrs.get("writer_pid")
        if alive:
            text.append(f" (being written by process {pid})")
        elif alive is False and run.checkpoint_step is None:
            text.append(f" (killed before its first checkpoint: its writer, process {pid}, is gone; it cannot be "
                        f"resumed: run its spec again with --out {run.path} --overwrite)")
        elif alive is False:
            text.append(f" (killed: its writer, process {pid}, is gone; growsim run --resume {run.path} continues it "
                        f"from its checkpoint at step {run.checkpoint_step})")
        else:
            text.append(" (still being written, or killed: a killed run never closes its file)")
    else:
        text.append(f" at step {run.last_step} of {run.batches}")
    if run.status_reason:
        text.append(f": {run.status_reason}")
    return text


def _spec_line(run) -> str:
    parts = [run.name]
    if run.spec_path:
        parts.append(f"({run.spec_path})")
    parts.append(f"seed {run.seed}")
    text = " ".join(parts[:-1]) + ", " + parts[-1]
    if run.overrides:
        text += ", --set " + " ".join(run.overrides)
    return text


def _params(d: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    return ", ".join(f"{k}={_short(v)}" for k, v in d.items() if k not in skip and v is not None)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list) and len(value) > 6:
        return f"[{', '.join(map(str, value[:3]))}, ... ({len(value)})]"
    return str(value)


def _tau_text(net: dict[str, Any]) -> str:
    """The leaky RNN's time constant: one for all, or one per neuron (drawn, trained, bounded)."""
    tau = net.get("tau")
    if not tau:
        return f"tau {_short(net.get('tau_ms', '?'))} ms"
    if tau.get("init") == "uniform":
        start = f"from U({_short(tau.get('low'))}, {_short(tau.get('high'))}) ms"
    else:
        start = f"all {_short(net.get('tau_ms', '?'))} ms at the start"
    if not tau.get("trainable"):
        return f"tau per neuron {start}, fixed"
    low, high = tau.get("min_ms"), tau.get("max_ms")
    bounds = f" within [{_short(low) if low is not None else 'dt'}, {_short(high) if high is not None else 'inf'}] ms"
    return f"tau per neuron {start}, trained{bounds}"


def _dale_text(net: dict[str, Any]) -> str:
    dale = net.get("dale")
    if not dale:
        return ""
    balance = ", balanced" if dale.get("balance") else ""
    return f"; Dale's law: {_short(dale.get('excitatory'))} excitatory ({dale.get('assign', '?')}{balance})"


def _spec_highlights(run, spec: dict[str, Any]) -> list[tuple[str, str]]:
    net = spec.get("network", {})
    geo = dict(net.get("geometry", {}))
    kind = geo.pop("kind", "?")
    n = run.n_neurons
    rows = [("network", (f"{n} neurons; geometry {kind} ({_params(geo)}); {net.get('activation', '?')}, "
                         f"{_tau_text(net)}, sigma_rec {_short(net.get('sigma_rec', '?'))}{_dale_text(net)}"))]
    wiring = spec.get("wiring", {})
    params = _params(wiring.get("params", {}))
    rows.append(("wiring", f"{wiring.get('rule', '?')}" + (f" ({params})" if params else "")))
    growth = spec.get("growth", {})
    program = [f"{growth.get('initial_connections', 0)} synapses at the start"]
    for ev in growth.get("events", []):
        when = f"at {_short(ev['at'])}" if ev.get("at") else f"every {ev.get('every')}"
        if ev.get("start") is not None:
            when += f" from {ev['start']}"
        if ev.get("stop") is not None:
            when += f" to {ev['stop']}"
        extra = _params(ev, skip=("op", "every", "at", "start", "stop", "reset_optimizer"))
        program.append(f"{ev.get('op')} {when} ({extra}{', reset optimizer' if ev.get('reset_optimizer') else ''})")
    rows.append(("growth", "; then ".join(program)))
    if spec.get("init_from"):  # a warm start: the stored network and its synapses are where it began
        rows[0] = ("network", f"{_warm_start(run, spec['init_from'])}; {rows[0][1]}")
        rows[-1] = ("growth", rows[-1][1].replace(f"{growth.get('initial_connections', 0)} synapses at the start",
                                                  "the stored synapses at the start", 1))
    task = spec.get("task", {})
    names = run.tasks
    shown = ", ".join(names) if len(names) <= 6 else f"{', '.join(names[:4])}, ... {names[-1]}"
    drawn = f" ({run.task_selection})" if run.task_selection.startswith("drawn") else ""
    rows.append(("tasks", f"{len(names)} from {task.get('suite', '?')}{drawn}: {shown}"))
    log = spec.get("log", {})
    loss = f"{spec.get('train', {}).get('loss', '?')} loss"
    tests = f"{log.get('eval_batch_size')} test trials per task, Q by {log.get('modularity')}"
    return rows + _training_and_logging(run, spec, loss=loss, tests=tests)


def _training_and_logging(run, spec: dict[str, Any], *, loss: str, tests: str) -> list[tuple[str, str]]:
    """The training and logging lines of a run's highlights; `loss` and `tests` say what differs by kind."""
    train = spec.get("train", {})
    opt = train.get("optimizer", {})
    log = spec.get("log", {})
    snaps = "no snapshots" if not log.get("snapshots", True) else f"snapshots every {log.get('snapshot_every') or log.get('every')}"
    schedule = dict(train.get("lr_schedule") or {})
    lr_kind = schedule.pop("kind", "constant")
    lr = f"{opt.get('kind', '?')} lr {_short(opt.get('lr'))}"
    if lr_kind != "constant":
        keys = {"step": ("gamma", "every"), "milestones": ("gamma", "at"), "exponential": ("gamma",),
                "cosine": ("min_factor",)}.get(lr_kind, tuple(schedule))
        shown = {k: schedule.get(k) for k in keys} | ({"warmup": schedule["warmup"]} if schedule.get("warmup") else {})
        lr += f" on a {lr_kind} schedule ({_params(shown)})"
    terms = [f"{r.get('name') or r.get('kind')} {_short(r.get('strength'))}" for r in spec.get("regularisers") or []]
    loss += f" + {', '.join(terms)}" if terms else ""
    analyses = [f"{a.get('name') or a.get('kind')} every {a.get('every')}" for a in log.get("analyses") or []]
    return [
        ("training", f"{train.get('batches', run.batches)} batches of {train.get('batch_size', '?')}; {lr}; {loss}"),
        ("logging", (f"metrics every {log.get('every')} batches ({tests}); {snaps}"
                     + (f"; analyses: {', '.join(analyses)}" if analyses else ""))),
    ]


def _warm_start(run, init: dict[str, Any]) -> str:
    """Which stored network a warm-started run began with: the file, its step and digest as recorded."""
    source = run.versions.get("init_from", init.get("run", "?"))
    digest = run.versions.get("init_from_sha256", "")[:12]
    return (f"started from {source} at step {run.versions.get('init_from_step', '?')} "
            f"(sha256 {digest or '?'}..., heads: {init.get('heads', '?')})")


def _chain_highlights(run, spec: dict[str, Any]) -> list[tuple[str, str]]:
    """The spec lines of a chain run (Hamidi et al.): modules, curriculum, growth program."""
    net = spec.get("network", {})
    m = net.get("module_size", "?")
    k = net.get("n_modules", 1)
    diag = "no autapses" if net.get("zero_diagonal", True) else "autapses allowed"
    rows = [("network", (f"chain of modules, {m} neurons each, {k} module{'s' * (k != 1)} at the start; leaky ReLU (slope "
                         f"{_short(net.get('negative_slope', '?'))}), trained tau from U{tuple(net.get('tau_init', ()))}, "
                         f"{diag}, r(0) = {_short(net.get('h0_scale', '?'))} U(0, 1)"))]
    if spec.get("init_from"):  # a warm start: the stored network it began with (not the spec's n_modules)
        text = rows[0][1].replace(f"{k} module{'s' * (k != 1)} at the start", "modules as stored")
        rows[0] = ("network", f"{_warm_start(run, spec['init_from'])}; {text}")
    growth = spec.get("growth", {})
    program = []
    for ev in growth.get("events", []):
        when = f"when {ev['when']}" if ev.get("when") else (f"at {_short(ev['at'])}" if ev.get("at") else f"every {ev.get('every')}")
        extra = _params({k: v for k, v in ev.items() if v not in (False, 0, 0.0)}, skip=("op", "when", "every", "at"))
        program.append(f"{ev.get('op')} {when}" + (f" ({extra})" if extra else ""))
    rows.append(("growth", "; ".join(program) if program else "none"))
    task = spec.get("task", {})
    crit = task.get("criterion", {})
    rows.append(("tasks", (f"N-parity curriculum, levels {task.get('n_start', '?')} to {task.get('n_max', '?')} "
                           f"({len(run.tasks)} possible heads); sequence lengths: {task.get('length', '?')}; solved when "
                           f"the newest level > {_short(crit.get('newest', '?'))} and the mean of the "
                           f"{crit.get('mean_over', 'previous')} > {_short(crit.get('mean', '?'))}")))
    tests = f"8 x {spec.get('log', {}).get('eval_batch_size')} test sequences"
    return rows + _training_and_logging(run, spec, loss="cross-entropy summed over heads", tests=tests)


def _print_chain_metrics(run, series) -> None:
    """N_solved, the level in training, modules and the accuracy of every level reached."""
    from rich.table import Table
    from rich.text import Text

    last = _print_final_line(series, (
        ("n_solved", "N_solved", ".0f"), ("n_current", "level in training", ".0f"),
        ("n_modules", "modules", ".0f"), ("n_parameters", "parameters", ".0f"),
        ("n_trainable", "trainable parameters", ".0f"),
        ("perf_newest", "accuracy of the newest level", ".3f"), ("perf_mean", "mean accuracy", ".3f")))
    if last is None:
        return
    step = int(last["step"])
    perf = {t: float(last[f"perf/{t}"]) for t in run.tasks if f"perf/{t}" in series}
    perf = {t: v for t, v in perf.items() if not math.isnan(v)}
    if not perf:
        return
    names = list(perf)
    console.print(Text(f"Accuracy of the {len(names)} levels trained at step {step}:"))
    halves = min(4, max(1, math.ceil(len(names) / 10)))
    rows = math.ceil(len(names) / halves)
    table = Table(box=None, padding=(0, 2), header_style="bold")
    for _ in range(halves):
        table.add_column("level")
        table.add_column("accuracy", justify="right")
    for r in range(rows):
        cells: list[Any] = []
        for h in range(halves):
            i = h * rows + r
            cells += [names[i].replace("parity_", "N = "), f"{perf[names[i]]:.3f}"] if i < len(names) else ["", ""]
        table.add_row(*cells)
    console.print(table)


def _print_chain_growth(events, series) -> None:
    from rich.text import Text

    console.print(Text("\nGrowth", style="bold"))
    lines = []
    if len(events):
        ops = ", ".join(f"{n} {op}" for op, n in events["op"].value_counts().items())
        lines.append(f"  {len(events)} events ({ops}), from step {int(events['step'].iloc[0])} to {int(events['step'].iloc[-1])}")
        shown = list(range(len(events))) if len(events) <= 6 else [0, 1, 2, None, len(events) - 2, len(events) - 1]
        for i in shown:
            if i is None:
                lines.append(f"    ... {len(events) - 5} more")
                continue
            ev = events.iloc[i]
            if ev["op"] == "duplicate_module":
                copied = ev.get("copied")
                copied = ", ".join(copied) if isinstance(copied, list) and copied else "nothing"
                what = f"module {_int(ev.get('module'))} ({_int(ev.get('n_modules'))} modules; copied {copied}; froze {ev.get('freeze')})"
            elif ev["op"] == "add_readout":
                what = f"head {_int(ev.get('head'))} on module {_int(ev.get('module'))}"
            else:
                what = f"+{int(ev['count'])}"
            lines.append(f"    step {int(ev['step']):>8}: {ev['op']} {what}")
    else:
        lines.append("  no growth events")
    for key, label in (("n_solved", "N_solved over training:"), ("n_modules", "modules over training: ")):
        if key in series and series[key].notna().any():
            v = series[key]
            lines.append(f"  {label} {_sparkline(v)}  {v.iloc[0]:.0f} at step {int(series['step'].iloc[0])} -> "
                         f"{v.iloc[-1]:.0f} at step {int(series['step'].iloc[-1])}")
    for line in lines:
        console.print(Text(line))


def _int(value: Any) -> str:
    try:
        return str(int(value))
    except (TypeError, ValueError):
        return "?"


def _print_final_line(series, fields) -> Any:
    """Print the last logged row's `fields` ((column, label, format), those present); return
    that row, or None when nothing is logged yet."""
    from rich.text import Text

    if not len(series):
        console.print(Text("\nNo metrics logged yet.", style="bold"))
        return None
    last = series.iloc[-1]
    parts = [f"{label} {float(last[key]):{fmt}}" for key, label, fmt in fields
             if key in series and not math.isnan(float(last[key]))]
    console.print(Text(f"\nFinal metrics (step {int(last['step'])}): " + ", ".join(parts), style="bold"))
    return last


def _print_metrics(run, series) -> None:
    from rich.table import Table

    last = _print_final_line(series, (
        ("perf_mean", "mean performance", ".3f"), ("loss", "test loss", ".4f"), ("modularity_q", "Q", ".3f"),
        ("n_communities", "communities", ".0f"), ("connections", "synapses", ".0f")))
    if last is None:
        return
    perf = {t: float(last[f"perf/{t}"]) for t in run.tasks if f"perf/{t}" in series}
    loss = {t: float(last[f"task_loss/{t}"]) for t in run.tasks if f"task_loss/{t}" in series}
    if not perf:
        return
    names = list(perf)
    # Two side-by-side halves keep 20 tasks on one screen.
    halves = 2 if len(names) > 10 else 1
    rows = math.ceil(len(names) / halves)
    table = Table(box=None, padding=(0, 2), header_style="bold")
    for _ in range(halves):
        table.add_column("task")
        table.add_column("perf", justify="right")
        table.add_column("test loss", justify="right")
    for r in range(rows):
        cells: list[Any] = []
        for h in range(halves):
            i = h * rows + r
            if i < len(names):
                t = names[i]
                cells += [t, _bar(perf[t]), f"{loss[t]:.4f}" if t in loss else ""]
            else:
                cells += ["", "", ""]
        table.add_row(*cells)
    console.print(table)


def _bar(value: float) -> str:
    if math.isnan(value):
        return "nan"
    return f"{value:.3f}"


def _sparkline(values) -> str:
    import numpy as np

    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if not len(v):
        return ""
    if len(v) > 40:  # one character per bin of steps
        v = np.array([b.max() for b in np.array_split(v, 40)])
    lo, hi = v.min(), v.max()
    if hi == lo:
        return _SPARK[0] * len(v)
    return "".join(_SPARK[round((x - lo) / (hi - lo) * (len(_SPARK) - 1))] for x in v)


def _print_growth(events, series) -> None:
    from rich.text import Text

    console.print(Text("\nGrowth", style="bold"))
    initial = events[events["step"] == 0] if len(events) else events
    grown = events[events["step"] > 0] if len(events) else events
    lines = []
    if len(initial):
        lines.append(f"  step 0: {int(initial['count'].sum())} initial synapses")
    if len(grown):
        ops = ", ".join(f"{n} {op}" for op, n in grown["op"].value_counts().items())
        lines.append(f"  {len(grown)} events ({ops}), from step {int(grown['step'].iloc[0])} to {int(grown['step'].iloc[-1])}, "
                     f"{int(grown['count'].sum())} synapses added")
        shown = list(range(min(2, len(grown))))
        if len(grown) > 4:
            shown += [None, len(grown) - 2, len(grown) - 1]
        else:
            shown = list(range(len(grown)))
        for i in shown:
            if i is None:
                lines.append(f"    ... {len(grown) - 4} more")
                continue
            ev = grown.iloc[i]
            lines.append(f"    step {int(ev['step']):>8}: {ev['op']} +{int(ev['count'])} -> {int(ev['connections'])} synapses")
    elif not len(initial):
        lines.append("  no growth events")
    else:
        lines.append("  no growth events after the start")
    if "connections" in series and len(series):
        c = series["connections"]
        lines.append(f"  synapses over training: {_sparkline(c)}  {c.iloc[0]:.0f} at step {int(series['step'].iloc[0])}"
                     f" -> {c.iloc[-1]:.0f} at step {int(series['step'].iloc[-1])}")
    if "modularity_q" in series and series["modularity_q"].notna().any():
        q = series["modularity_q"]
        lines.append(f"  Q over training:        {_sparkline(q)}  {q.iloc[0]:.3f} -> {q.iloc[-1]:.3f} (max {q.max():.3f})")
    for line in lines:
        console.print(Text(line))


def _what(top: str, run, series, events, snapshots, analyses, names: set[str]) -> str:
    from growsim.reader._run import _compact

    if top == "spec":
        return f"verbatim and resolved spec, {len(run.overrides)} override(s)"
    if top == "geometry":
        if run.network_kind == "chain":
            return "none (a chain of modules has no geometry)"
        geo = run.spec.get("network", {}).get("geometry", {}).get("kind", "")
        have = [k for k in ("distances", "positions", "labels") if f"geometry/{k}" in names]
        return f"{', '.join(have)} ({geo})"
    if top == "tasks":
        if run.network_kind == "chain" and run.tasks:
            return f"{len(run.tasks)} curriculum levels ({run.tasks[0]} to {run.tasks[-1]})"
        return f"{len(run.tasks)} task names"
    if top == "train":
        return f"loss of {len(run.train())} batches"
    if top == "series":
        return f"{len(series)} logged steps" + (f" ({_compact([int(s) for s in series['step']], count=False)})" if len(series) else "")
    if top == "events":
        return f"{len(events)} growth events"
    if top == "snapshots":
        off = " (log.snapshots: false)" if not run.spec.get("log", {}).get("snapshots", True) else ""
        return f"{len(snapshots)} snapshots" + (f" (steps {_compact(snapshots, count=False)})" if snapshots else off)
    if top == "snapshots" and run.network_kind == "chain" and snapshots:
        return f"{len(snapshots)} snapshots (steps {_compact(snapshots, count=False)}), each module's weights and tau"
    if top == "final":
        return "weights at the end" if run.finished else "weights at the end (none: the run has not ended)"
    if top == "checkpoint":
        return "the state to resume from (growsim run --resume)"
    if top == "analysis":
        if not analyses:
            return "none (growsim analyze RUN robustness|timescales)" if run.network_kind == "chain" else "none (growsim analyze RUN modularity)"
        return ", ".join(f"{name} ({metric})" for name, metric in analyses.items())
    return ""


def _bytes(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not finished"
    s = round(seconds)
    if s < 60:
        return f"{seconds:.1f} s"
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"
