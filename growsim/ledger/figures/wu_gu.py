"""Wu & Gu's figures from ledger records.

- ``wu_gu_fig3``: add_conn against fix_conn under each wiring rule: Q (3A) and mean
  performance (3B) over training, mean and standard error over seeds; final performance
  against final Q across runs (3C) with Pearson and Spearman correlations; the table of
  final Q and performance, their difference, Welch's t and Mann-Whitney U.
- ``wu_gu_fig2``: final Q and mean performance against the number of tasks, one line per
  network size, mean and standard error over seeds; Spearman's rho of Q against the number
  of tasks at each size.

"Final" is the last logged evaluation of a run.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from growsim.ledger._stats import correlation, fmt, fmt_mean_sem, fmt_p, fmt_tests, mean_sem, two_sample
from growsim.ledger.figures import Output, figure, markdown_table

CONDITIONS = ("add_conn", "fix_conn")
COLORS = {"add_conn": "#c0392b", "fix_conn": "#2166ac"}
RULE_ORDER = ("distance", "random", "mixture")


def condition(record: dict[str, Any]) -> str:
    """add_conn when the run grows synapses during training, fix_conn when it has them all from the start."""
    events = record["spec"].get("growth", {}).get("events", [])
    return "add_conn" if any(e.get("op") == "add_connections" for e in events) else "fix_conn"


def rule(record: dict[str, Any]) -> str:
    return str(record["spec"].get("wiring", {}).get("rule", "?"))


def _final(record: dict[str, Any], metric: str) -> float:
    value = record["final"].get(metric)
    return math.nan if value is None else float(value)


def _curves(records: list[dict[str, Any]], metric: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Steps logged by every run of ``records``, and the mean, s.e. and n of ``metric`` there."""
    common = None
    for r in records:
        steps = set(r["series"]["step"])
        common = steps if common is None else common & steps
    steps = np.array(sorted(common or ()), dtype=np.int64)
    values = np.full((len(records), len(steps)), np.nan)
    for i, r in enumerate(records):
        where = {s: j for j, s in enumerate(r["series"]["step"])}
        column = r["series"].get(metric, [])
        for k, s in enumerate(steps):
            v = column[where[s]] if where[s] < len(column) else None
            values[i, k] = np.nan if v is None else v
    stats = [mean_sem(values[:, k]) for k in range(len(steps))]
    return steps, np.array([s[0] for s in stats]), np.array([s[1] for s in stats]), np.array([s[2] for s in stats])


def _rules(records: list[dict[str, Any]]) -> list[str]:
    present = {rule(r) for r in records}
    return [r for r in RULE_ORDER if r in present] + sorted(present - set(RULE_ORDER))


def _save(fig, path: Path, out: Output) -> None:
    from growsim.plots._common import save

    save(fig, path, dpi=120)
    out.files.append(path)


def _rule_panels(groups, rules, height: float, draw):
    """A figure of one panel per wiring rule; ``draw(ax, condition, records)`` for each
    condition that has runs. Call inside the house style."""
    from growsim.plots._common import new_figure

    fig = new_figure(max(6.5, 3.3 * len(rules)), height)
    axes = fig.subplots(1, len(rules), squeeze=False)[0]
    for ax, rl in zip(axes, rules):
        for cond in CONDITIONS:
            records = groups.get((rl, cond), [])
            if records:
                draw(ax, cond, records)
        ax.set_title(rl)
    return fig, axes


def _over_training(groups, rules, metric, ylabel, title, path, out):
    from growsim.plots._common import style

    def draw(ax, cond, records):
        steps, mean, sem, n = _curves(records, metric)
        ns = sorted(set(n.tolist()))
        label = f"{cond} (n = {ns[0]})" if len(ns) == 1 else f"{cond} (n = {ns[0]} to {ns[-1]})"
        ax.plot(steps, mean, color=COLORS[cond], lw=1.4, label=label)
        ax.fill_between(steps, mean - np.nan_to_num(sem), mean + np.nan_to_num(sem), color=COLORS[cond], alpha=0.25, lw=0)
        ax.set_xlabel("training batches")
        ax.legend(loc="best")

    with style():
        fig, axes = _rule_panels(groups, rules, 3.0, draw)
        axes[0].set_ylabel(ylabel)
        fig.suptitle(title)
    _save(fig, path, out)


def _scatter(groups, rules, path, title, out):
    from growsim.plots._common import style

    def draw(ax, cond, records):
        q = [_final(r, "modularity_q") for r in records]
        perf = [_final(r, "perf_mean") for r in records]
        c = correlation(q, perf)
        label = (f"{cond} (n = {len(records)})\nr = {fmt(c['pearson_r'], 2)} (p {fmt_p(c['pearson_p'])}), "
                 f"ρ = {fmt(c['spearman_rho'], 2)} (p {fmt_p(c['spearman_p'])})")
        ax.scatter(q, perf, s=14, color=COLORS[cond], label=label, alpha=0.85)
        ax.set_xlabel("final modularity Q")
        # Below the panel: the correlations' text would hide points inside it.
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), fontsize=6.5, ncol=1)

    with style():
        fig, axes = _rule_panels(groups, rules, 4.0, draw)
        axes[0].set_ylabel("final mean performance")
        fig.suptitle(title)
    _save(fig, path, out)


def _trajectories(groups, rules, path, title, out):
    """Mean performance against mean Q along training, one line per condition (the paper's
    Fig. 3C draws lines of the mean of 10 runs)."""
    from growsim.plots._common import style

    def draw(ax, cond, records):
        steps, q, _, n = _curves(records, "modularity_q")
        _, perf, _, _ = _curves(records, "perf_mean")
        keep = steps > 0  # step 0: no synapse yet under add_conn, Q 0 by definition
        ax.plot(q[keep], perf[keep], "o-", ms=2.5, lw=1.2, color=COLORS[cond], label=f"{cond} (n = {int(n.max())})")
        ax.annotate("end", (q[-1], perf[-1]), fontsize=6.5, color=COLORS[cond], xytext=(3, -8), textcoords="offset points")
        ax.set_xlabel("modularity Q (mean over runs)")
        ax.legend(loc="best")

    with style():
        fig, axes = _rule_panels(groups, rules, 3.0, draw)
        axes[0].set_ylabel("mean performance (mean over runs)")
        fig.suptitle(title)
    _save(fig, path, out)


@figure("wu_gu_fig3")
def build_fig3(ledger, out_dir: Path) -> Output:
    out = Output()
    md = _header(ledger, "Tests are two-sided; Welch's t and Mann-Whitney U compare add_conn with fix_conn under each rule.")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        groups: dict[tuple[str, str], list] = defaultdict(list)
        for r in records:
            groups[(rule(r), condition(r))].append(r)
        for key in groups:
            groups[key].sort(key=lambda r: r["run"]["seed"])
        rules = _rules(records)
        tag = f"{protocol}: Wu & Gu Fig. 3"
        _over_training(groups, rules, "modularity_q", "modularity Q", f"{tag}A, Q over training",
                       out_dir / "figures" / f"{protocol}_fig3a.png", out)
        _over_training(groups, rules, "perf_mean", "mean performance", f"{tag}B, performance over training",
                       out_dir / "figures" / f"{protocol}_fig3b.png", out)
        _scatter(groups, rules, out_dir / "figures" / f"{protocol}_fig3c.png", f"{tag}C, final performance against final Q", out)
        _trajectories(groups, rules, out_dir / "figures" / f"{protocol}_fig3c_training.png",
                      f"{tag}C, performance against Q along training", out)

        table, corr_rows = [], []
        for rl in rules:
            add, fix = groups.get((rl, "add_conn"), []), groups.get((rl, "fix_conn"), [])
            for metric, name in (("modularity_q", "Q"), ("perf_mean", "performance")):
                a = [_final(r, metric) for r in add]
                b = [_final(r, metric) for r in fix]
                t = two_sample(a, b)
                table.append([rl, name, f"{len(add)} / {len(fix)}", fmt_mean_sem(a), fmt_mean_sem(b),
                              *fmt_tests(t)])
                for cond, values in (("add_conn", a), ("fix_conn", b)):
                    m, s, n = mean_sem(values)
                    rows_csv += [dict(protocol=protocol, rule=rl, group=cond, metric=metric, statistic=st, value=v)
                                 for st, v in (("n", n), ("mean", m), ("sem", s))]
                rows_csv += [dict(protocol=protocol, rule=rl, group="add_conn-fix_conn", metric=metric, statistic=k, value=v)
                             for k, v in t.items()]
            for cond, records_c in (("add_conn", add), ("fix_conn", fix)):
                c = correlation([_final(r, "modularity_q") for r in records_c], [_final(r, "perf_mean") for r in records_c])
                corr_rows.append([rl, cond, str(c["n"]), f"{fmt(c['pearson_r'])} ({fmt_p(c['pearson_p'])})",
                                  f"{fmt(c['spearman_rho'])} ({fmt_p(c['spearman_p'])})"])
                rows_csv += [dict(protocol=protocol, rule=rl, group=cond, metric="perf_mean~modularity_q", statistic=k, value=v)
                             for k, v in c.items()]
        md += ["### Fig. 3A/B: final Q and performance, add_conn against fix_conn", "",
               markdown_table(["rule", "metric", "n add / fix", "add_conn", "fix_conn", "add − fix", "Welch t (p)", "Mann-Whitney U (p)"], table),
               "", "### Fig. 3C: final performance against final Q, across runs", "",
               markdown_table(["rule", "condition", "n", "Pearson r (p)", "Spearman ρ (p)"], corr_rows), "",
               "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs, " + ", ".join(
            f"{rl} {len(groups.get((rl, 'add_conn'), []))} add / {len(groups.get((rl, 'fix_conn'), []))} fix" for rl in rules))
    _write_tables(out_dir, md, rows_csv, out)
    return out


def _header(ledger, note: str, spread: str = "the standard error of the mean over seeds") -> list[str]:
    """The opening lines of summary.md; `spread` says what ± is."""
    return [f"# {ledger.folder.name}: statistics", "",
            f"Generated by `growsim ledger build` from the {len(ledger.records)} records in `records/`; do not edit.",
            f"Final = the last logged evaluation of a run. ± is {spread}.", note, ""]


def _protocols(ledger, md: list[str]):
    """Each protocol of the ledger that has records, with its records; adds each protocol's
    heading and description to ``md`` (and says so for a protocol with none yet)."""
    for protocol, records in ledger.by_protocol().items():
        md += [f"## Protocol `{protocol}`", "", ledger.config.protocols[protocol].description.strip(), ""]
        if not records:
            md += ["No runs recorded yet.", ""]
            continue
        yield protocol, records


def _runs_table(records: list[dict[str, Any]]) -> str:
    by_code: dict[str, int] = defaultdict(int)
    hosts: dict[str, int] = defaultdict(int)
    seconds = []
    for r in records:
        v = r["versions"]
        by_code[f"{v.get('growsim', '?')} commit {v.get('growsim_commit') or '?'} source {v.get('growsim_source', '?')}"] += 1
        hosts[r["run"]["host"] or "?"] += 1
        if r["run"]["duration_s"] is not None:
            seconds.append(r["run"]["duration_s"])
    rows = [[code, str(n)] for code, n in sorted(by_code.items())]
    wall = (f"Wall time per run: median {np.median(seconds) / 60:.1f} min (range {min(seconds) / 60:.1f} to {max(seconds) / 60:.1f}); "
            f"{sum(seconds) / 3600:.1f} h of runs in all.") if seconds else ""
    return markdown_table(["growsim", "runs"], rows) + "\n\n" + wall


def _write_tables(out_dir: Path, md: list[str], rows_csv: list[dict[str, Any]], out: Output) -> None:
    path = out_dir / "summary.md"
    path.write_text("\n".join(md).rstrip() + "\n")
    out.files.append(path)
    path = out_dir / "summary.csv"
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows_csv[0]) if rows_csv else ["protocol"], lineterminator="\n")
        writer.writeheader()
        for row in rows_csv:
            writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    out.files.append(path)


@figure("wu_gu_fig2")
def build_fig2(ledger, out_dir: Path) -> Output:
    from growsim.plots._common import new_figure, style

    out = Output()
    md = _header(ledger, "Spearman's rho of final Q against the number of tasks is over every run of a size (two-sided p).")
    rows_csv: list[dict[str, Any]] = []
    for protocol, records in _protocols(ledger, md):
        groups: dict[tuple[int, int], list] = defaultdict(list)
        for r in records:
            groups[(int(r["run"]["n_neurons"]), len(r["tasks"]))].append(r)
        sizes = sorted({s for s, _ in groups}, reverse=True)
        with style():
            fig = new_figure(7.0, 3.0)
            axes = fig.subplots(1, 2)
            cmap = __import__("matplotlib").colormaps["viridis"]
            for i, size in enumerate(sizes):
                ks = sorted(k for s, k in groups if s == size)
                color = cmap(i / max(1, len(sizes) - 1))
                for ax, metric in zip(axes, ("modularity_q", "perf_mean")):
                    stats = [mean_sem([_final(r, metric) for r in groups[(size, k)]]) for k in ks]
                    m = np.array([s[0] for s in stats])
                    e = np.nan_to_num(np.array([s[1] for s in stats]))
                    ns = sorted({s[2] for s in stats})
                    n_label = str(ns[0]) if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
                    ax.plot(ks, m, "o-", color=color, ms=3, lw=1.3, label=f"N = {size} (n = {n_label})")
                    ax.fill_between(ks, m - e, m + e, color=color, alpha=0.2, lw=0)
            axes[0].set_ylabel("final modularity Q")
            axes[1].set_ylabel("final mean performance")
            for ax in axes:
                ax.set_xlabel("number of tasks")
            axes[0].legend(loc="best")
            fig.suptitle(f"{protocol}: Wu & Gu Fig. 2, modularity and performance against the number of tasks")
        _save(fig, out_dir / "figures" / f"{protocol}_fig2.png", out)
        table, trend = [], []
        for size in sizes:
            ks = sorted(k for s, k in groups if s == size)
            for k in ks:
                q = [_final(r, "modularity_q") for r in groups[(size, k)]]
                p = [_final(r, "perf_mean") for r in groups[(size, k)]]
                table.append([str(size), str(k), str(len(q)), fmt_mean_sem(q), fmt_mean_sem(p)])
                for metric, values in (("modularity_q", q), ("perf_mean", p)):
                    m, s, n = mean_sem(values)
                    rows_csv += [dict(protocol=protocol, n_neurons=size, n_tasks=k, statistic=st, metric=metric, value=v)
                                 for st, v in (("n", n), ("mean", m), ("sem", s))]
            runs = [r for k in ks for r in groups[(size, k)]]
            c = correlation([len(r["tasks"]) for r in runs], [_final(r, "modularity_q") for r in runs])
            trend.append([str(size), str(c["n"]), f"{fmt(c['spearman_rho'])} ({fmt_p(c['spearman_p'])})",
                          f"{fmt(c['pearson_r'])} ({fmt_p(c['pearson_p'])})"])
            rows_csv += [dict(protocol=protocol, n_neurons=size, n_tasks="all", statistic=k, metric="modularity_q~n_tasks", value=v)
                         for k, v in c.items()]
        md += [markdown_table(["N", "tasks", "n", "final Q", "final performance"], table), "",
               "### Q against the number of tasks, per size", "",
               markdown_table(["N", "runs", "Spearman ρ (p)", "Pearson r (p)"], trend), "",
               "### Runs", "", _runs_table(records), ""]
        out.lines.append(f"{protocol}: {len(records)} runs over sizes {', '.join(map(str, sizes))}")
    _write_tables(out_dir, md, rows_csv, out)
    return out
