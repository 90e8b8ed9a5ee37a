"""One run file, read back (layout: docs/hdf5.md, schema 1.0; /analysis: docs/analysis.md).

Every read opens the file anew with ``locking=False`` and closes it at once, so a run that
is still being written (its writer holds the lock) can be read, nothing stays open, and a
second read sees what the writer added since. Only what the methods ask for is read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import h5py
import numpy as np

from growsim._process import process_alive

if TYPE_CHECKING:  # pandas is imported only by the methods that return tables
    import pandas as pd

__all__ = ["Analysis", "Geometry", "Run", "RunFileError", "Snapshot", "open_run"]

T = TypeVar("T")

# Per-neuron (not per-task) 2-D series: kept out of the tidy table.
_PER_NEURON_SERIES = {"communities"}
# Series taken at some log steps only (log.functional.every): Liu et al.'s functional report.
_SPARSE_PREFIX = "fn_"
# Column order of the tidy table; other scalars follow, sorted.
_SCALAR_ORDER = ("wall_time", "loss", "train_loss", "perf_mean", "connections", "modularity_q", "n_communities", "lr")
# A run still being written can be caught between two writes: retry a failed read this often.
_READ_TRIES = 5
_RETRY_S = 0.1
SNAPSHOT_ARRAYS = ("w_rec", "mask", "w_in", "w_out", "b_rec", "b_out")


class RunFileError(ValueError):
    """A file that is not a readable growsim run, or lacks what was asked of it. The message names the file."""


def architecture(network_kind: str, spec: dict[str, Any]) -> str:
    """What kind of network a run grows, from its network kind and resolved spec: a chain
    that grows by duplicating modules is ``modular``, any other chain (one module)
    ``non-modular``; a leaky RNN is ``leaky rnn``. `growsim compare` and the ledger's
    Hamidi figures both split runs by it."""
    if network_kind != "chain":
        return network_kind.replace("_", " ")
    ops = {event.get("op") for event in spec.get("growth", {}).get("events", [])}
    return "modular" if "duplicate_module" in ops else "non-modular"


def _py(value: Any) -> Any:
    """An HDF5 attribute as a plain Python value (str, int, float, list)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, np.ndarray):
        return [_py(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _strings(ds: h5py.Dataset) -> list[str]:
    """A string dataset (scalar or 1-D) as a list of str."""
    values = ds.asstr()[()]
    return [values] if isinstance(values, str) else [str(v) for v in values]


@dataclass(frozen=True)
class Snapshot:
    """The weights at one step. ``N`` is this snapshot's own number of neurons.

    Leaky RNN: ``w_rec`` (N, N) float32 with ``w_rec[post, pre]``; ``mask`` (N, N) uint8;
    ``w_in`` (N, n_input); ``w_out`` (n_output, N); ``b_rec`` (N,); ``b_out`` (n_output,).
    An array the file lacks is ``None``; datasets beyond these (``w_rec_initial`` in
    /final) are in ``extra``.

    Chain of modules (``network.kind: chain``): ``w_rec`` (K, M, M), ``w_in`` (K, M,
    n_input), and in ``extra`` ``w_ff`` (K, M, M; module 0's zeros), ``bias`` and ``tau``
    (K, M), ``head_w`` (H, 2, M), ``head_b`` (H, 2), ``head_module`` (H,), ``trainable``
    (K, 5); ``N`` is K * M. :meth:`dense_w_rec` gives the (N, N) matrix of either kind.
    """

    step: int
    w_rec: np.ndarray | None = None
    mask: np.ndarray | None = None
    w_in: np.ndarray | None = None
    w_out: np.ndarray | None = None
    b_rec: np.ndarray | None = None
    b_out: np.ndarray | None = None
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def is_chain(self) -> bool:
        """Whether these are a chain of modules' weights (``w_rec`` (K, M, M))."""
        return self.w_rec is not None and self.w_rec.ndim == 3

    @property
    def n_modules(self) -> int:
        """K for a chain of modules; 1 for a leaky RNN (one population)."""
        return int(self.w_rec.shape[0]) if self.is_chain else 1

    @property
    def n_neurons(self) -> int:
        """N, from ``w_rec`` (or ``mask``); K * M for a chain of modules."""
        if self.is_chain:
            return int(self.w_rec.shape[0] * self.w_rec.shape[1])
        arr = self.w_rec if self.w_rec is not None else self.mask
        return 0 if arr is None else int(arr.shape[0])

    def dense_w_rec(self, *, zero_diagonal: bool = True) -> np.ndarray:
        """The recurrent weights as one (N, N) matrix ``W[post, pre]``.

        A leaky RNN's ``w_rec`` as it is. A chain of K modules of M neurons as the same
        network written densely (neuron ``m * M + i`` is module m's neuron i): each
        module's ``W_rec`` on the diagonal blocks, its ``W_ff`` (from module m-1) on the
        block below the diagonal, zeros elsewhere; with ``zero_diagonal`` (the chain's
        default, as its forward pass does) the diagonal is 0.
        """
        if not self.is_chain:
            return self.w_rec
        k, m = self.w_rec.shape[:2]
        w = np.zeros((k * m, k * m), dtype=self.w_rec.dtype)
        w_ff = self.extra.get("w_ff")
        for i in range(k):
            rows = slice(i * m, (i + 1) * m)
            w[rows, rows] = self.w_rec[i]
            if i >= 1 and w_ff is not None:
                w[rows, (i - 1) * m : i * m] = w_ff[i]
        if zero_diagonal:
            np.fill_diagonal(w, 0)
        return w

    def __repr__(self) -> str:
        have = [k for k in SNAPSHOT_ARRAYS if getattr(self, k) is not None] + list(self.extra)
        chain = f", n_modules={self.n_modules}" if self.is_chain else ""
        return f"Snapshot(step={self.step}, n_neurons={self.n_neurons}{chain}, arrays={have})"


@dataclass(frozen=True)
class Geometry:
    """Where the neurons are.

    ``distances`` (N, N) float64 in ``units``; ``positions`` (N, d) float64 or ``None``
    (distance-matrix geometries have none); ``labels`` N region names or ``None``;
    ``kind`` the spec's ``network.geometry.kind`` (``atlas``, ``grid``...).
    """

    distances: np.ndarray
    positions: np.ndarray | None
    labels: list[str] | None
    units: str
    kind: str | None

    def __repr__(self) -> str:
        d = "none" if self.positions is None else f"{self.positions.shape[1]}-D"
        return f"Geometry(kind={self.kind!r}, n_neurons={self.distances.shape[0]}, positions={d}, units={self.units!r})"


@dataclass(frozen=True)
class Analysis:
    """One group of /analysis: its attributes and datasets (docs/analysis.md).

    Index it like a dict (``result["q"]``); :meth:`table` gives the per-step datasets as a
    DataFrame.
    """

    name: str
    attrs: dict[str, Any]
    data: dict[str, np.ndarray]

    @property
    def metric(self) -> str:
        return str(self.attrs.get("metric", self.name))

    def __getitem__(self, key: str) -> np.ndarray:
        return self.data[key]

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in self.data.items())
        return f"Analysis({self.name!r}, metric={self.metric!r}, {shapes})"

    def __contains__(self, key: object) -> bool:
        return key in self.data

    def table(self) -> pd.DataFrame:
        """The 1-D datasets as long as ``step`` (one row per analysed step) as columns, ``step`` first."""
        import pandas as pd

        n = len(self.data.get("step", ()))
        names = sorted(self.data, key=lambda k: (k != "step", k))
        cols = {k: self.data[k] for k in names if self.data[k].ndim == 1 and self.data[k].shape[0] == n}
        return pd.DataFrame(cols)


class Run:
    """A growsim run file, opened for reading. Create with :func:`open_run`.

    The attributes below are read when the run is opened (for a run still being written,
    they are as of that moment); the methods read the file each time they are called.

    Attributes
    ----------
    path: the file.
    status: ``running``, ``completed``, ``failed`` or ``interrupted``, as the file says. A
        ``running`` file whose writer has gone is a killed run; ``last_step`` says how far it got.
    status_reason: why it failed or was interrupted ("" otherwise).
    last_step: the last step whose metrics were written (-1: none yet).
    checkpoint_step: the step of the checkpoint `growsim run --resume` continues from;
        ``None`` when the file holds none (its run stopped before its first one).
    batches: training batches planned.
    seed, name, n_neurons: from the root attributes (``n_neurons`` at the start).
    duration_s: wall-clock seconds, or ``None`` while running.
    spec: the resolved spec as a dict (every default filled in, overrides applied).
    spec_text: the spec file verbatim; ``spec_yaml``: the resolved spec as YAML.
    overrides: the ``--set`` arguments; ``tasks``: task names, in column order (a chain
        run's are the curriculum's levels, ``parity_2`` ...).
    task_selection: how Yang's tasks were chosen (``/tasks`` attribute ``selection``):
        ``all``, ``listed``, or ``drawn K of ... seed S`` (``task.tasks: {draw: K}``); ""
        for a chain run or a file written before it existed.
    network_kind: ``leaky_rnn`` (Wu & Gu, Liu et al.) or ``chain`` (Hamidi et al.'s chain
        of modules on the parity curriculum).
    attrs: every root attribute, as plain Python values.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise RunFileError(f"{self.path} is a folder, not a run file (use open_runs for a folder)")
        self._read(self._load_header)

    # --- opening -------------------------------------------------------------------

    def _read(self, fn: Callable[[h5py.File], T]) -> T:
        """Run ``fn`` on the file, opened for this read only.

        A run still being written can be caught between two writes: a failed open or read
        is retried a few times before it becomes a :class:`RunFileError`.
        """
        for attempt in range(_READ_TRIES):
            last = attempt == _READ_TRIES - 1
            try:
                f = h5py.File(self.path, "r", locking=False)
            except FileNotFoundError:
                raise RunFileError(f"{self.path}: no such file") from None
            except OSError as exc:
                if last or not _looks_like_hdf5(self.path):
                    if self.path.exists() and self.path.stat().st_size == 0:
                        raise RunFileError(f"{self.path} is empty, not an HDF5 file") from None
                    raise RunFileError(f"{self.path} cannot be opened as an HDF5 file ({exc})") from None
                time.sleep(_RETRY_S)
                continue
            try:
                return fn(f)
            except (OSError, RuntimeError) as exc:  # h5py's errors when the writer moved things
                if last:
                    raise RunFileError(f"{self.path}: read failed ({exc})") from None
            finally:
                f.close()
            time.sleep(_RETRY_S)
        raise AssertionError("unreachable")

    def _load_header(self, f: h5py.File) -> None:
        attrs = {k: _py(v) for k, v in f.attrs.items()}
        if attrs.get("format") != "growsim-run":
            raise RunFileError(f"{self.path} is an HDF5 file but not a growsim run (no root attribute format=growsim-run)")
        self.attrs: dict[str, Any] = attrs
        self.schema_version: str = str(attrs.get("schema_version", ""))
        self.status: str = str(attrs.get("status", "unknown"))
        self.status_reason: str = str(attrs.get("status_reason", ""))
        self.last_step: int = int(attrs.get("last_step", -1))
        ckpt = f.get("checkpoint")
        self.checkpoint_step: int | None = int(ckpt.attrs["step"]) if ckpt is not None and "step" in ckpt.attrs else None
        self.batches: int = int(attrs.get("batches", 0))
        self.seed: int | None = attrs.get("seed")
        self.name: str = str(attrs.get("name", self.path.stem))
        self.n_neurons: int | None = attrs.get("n_neurons")
        self.created: str | None = attrs.get("created")
        self.finished: str | None = attrs.get("finished")
        self.duration_s: float | None = attrs.get("duration_s")
        self.versions: dict[str, str] = {k[len("version_"):]: str(v) for k, v in attrs.items() if k.startswith("version_")}
        spec = f.get("spec")
        if spec is None:
            raise RunFileError(f"{self.path} has no /spec group; it is not a complete growsim run file")
        self.spec_text: str = _strings(spec["verbatim"])[0] if "verbatim" in spec else ""
        self.spec_yaml: str = _strings(spec["resolved_yaml"])[0] if "resolved_yaml" in spec else ""
        self.spec: dict[str, Any] = json.loads(_strings(spec["resolved_json"])[0]) if "resolved_json" in spec else {}
        self.overrides: list[str] = _strings(spec["overrides"]) if "overrides" in spec else []
        self.spec_path: str | None = _py(spec.attrs["path"]) if "path" in spec.attrs else None
        self.tasks: list[str] = _strings(f["tasks/names"]) if "tasks/names" in f else []
        self.task_selection: str = str(_py(f["tasks"].attrs.get("selection", ""))) if "tasks" in f else ""
        # Files written before the attribute existed are leaky-RNN runs (or say so in their spec).
        kind = attrs.get("network_kind") or self.spec.get("network", {}).get("kind") or "leaky_rnn"
        self.network_kind: str = str(kind)

    def __repr__(self) -> str:
        return f"<growsim run {self.path} ({self.status}, step {self.last_step} of {self.batches})>"

    def writer_alive(self) -> bool | None:
        """For a file whose status is ``running``: whether its writer still runs.

        ``True`` or ``False`` when the file names its writer (root attributes ``writer_pid``,
        ``writer_host``) and that is this machine; ``None`` when it cannot be told (another
        machine, or an older file). ``False`` for a run that has ended. A ``running`` file
        whose writer is gone is a killed run.
        """
        if self.status != "running":
            return False
        host = self.attrs.get("writer_host")
        if not host:
            return None
        return process_alive(self.attrs.get("writer_pid"), host)

    @property
    def spec_fields(self) -> dict[str, Any]:
        """The resolved spec flattened to dotted names (``wiring.rule``, ``growth.events[0].every``)."""
        from growsim.reader._runs import flatten_spec

        return flatten_spec(self.spec)

    # --- time series -----------------------------------------------------------------

    def series(self, *, long: bool = False) -> pd.DataFrame:
        """Metrics at every logged step: one row per step.

        Wide (default): ``step``, ``wall_time`` (s), ``loss``, ``train_loss``, ``perf_mean``,
        ``connections``, ``modularity_q``, ``n_communities``, ``lr`` (those the run logged),
        then one column per task and per-task metric, named ``perf/<task>`` and
        ``task_loss/<task>``. ``train_loss`` is NaN in the first row (nothing trained yet).
        A row the writer had not finished (a killed run) has NaN where values are missing.

        ``long=True``: columns ``step``, ``metric``, ``task`` (``None`` for metrics that are
        not per task), ``value``; one row per step, metric and task.
        """
        import pandas as pd

        columns = self._read(self._series_columns)
        wide = pd.DataFrame(columns)
        if not long:
            return wide
        rows = []
        for col in wide.columns.drop("step"):
            metric, _, task = col.partition("/")
            part = pd.DataFrame({"step": wide["step"], "metric": metric, "task": task or None, "value": wide[col]})
            rows.append(part)
        if not rows:
            return pd.DataFrame({"step": [], "metric": [], "task": [], "value": []})
        return pd.concat(rows, ignore_index=True)

    def _series_columns(self, f: h5py.File) -> dict[str, np.ndarray]:
        group = f.get("series")
        if group is None or "step" not in group:
            return {"step": np.zeros(0, np.int64)}
        steps = group["step"][()]
        n = steps.shape[0]
        cols: dict[str, np.ndarray] = {"step": steps}
        # Dimension scales other than `step` are the coordinates of other axes, not series.
        names = [k for k in group if k != "step" and isinstance(group[k], h5py.Dataset) and not _is_scale(group[k])]
        scalars = [k for k in _SCALAR_ORDER if k in names] + sorted(k for k in names if k not in _SCALAR_ORDER)
        per_task: list[str] = []
        for name in scalars:
            ds = group[name]
            if ds.ndim == 1:
                cols[name] = self._aligned(name, ds[()], steps)
            elif (ds.ndim == 2 and name not in _PER_NEURON_SERIES and not name.startswith(_SPARSE_PREFIX)
                  and ds.shape[1] == len(self.tasks)):
                per_task.append(name)
        for name in sorted(per_task, key=lambda k: (k != "perf", k)):
            values = _aligned(name, group[name][()], n)
            for i, task in enumerate(self.tasks):
                cols[f"{name}/{task}"] = values[:, i]
        return cols

    def series_array(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A /series dataset as it is stored, with its steps: ``(step (k,), values (k, ...))``.

        For the per-neuron ``communities`` (k, N) and anything the tidy table leaves out.
        Rows are aligned to ``step`` as in :meth:`series` (NaN or -1 where missing).
        """

        def read(f: h5py.File) -> tuple[np.ndarray, np.ndarray]:
            if f"series/{name}" not in f:
                have = ", ".join(sorted(f["series"])) if "series" in f else "nothing"
                raise RunFileError(f"{self.path} has no series/{name} (series has: {have})")
            steps = f["series/step"][()]
            return steps, self._aligned(name, f[f"series/{name}"][()], steps)

        return self._read(read)

    def _aligned(self, name: str, values: np.ndarray, steps: np.ndarray) -> np.ndarray:
        """:func:`_aligned`, with the rows of the functional series (``fn_*``) placed on the steps
        they were taken at: those of ``log.functional.every``, and the last step."""
        if name.startswith(_SPARSE_PREFIX):
            every = (self.spec.get("log", {}).get("functional") or {}).get("every")
            if every:
                taken = np.flatnonzero((steps % int(every) == 0) | (steps == self.batches))
                if values.shape[0] <= taken.size and values.shape[0] != steps.shape[0]:
                    return _aligned(name, values, steps.shape[0], rows=taken[: values.shape[0]])
        return _aligned(name, values, steps.shape[0])

    def communities(self) -> tuple[np.ndarray, np.ndarray]:
        """Community labels logged during training: ``(step (k,), labels (k, N) int)``; -1 where missing."""
        return self.series_array("communities")

    def train(self) -> pd.DataFrame:
        """Training loss of every batch: columns ``step`` (0-based batch index) and ``loss``."""
        import pandas as pd

        def read(f: h5py.File) -> dict[str, np.ndarray]:
            if "train/step" not in f or "train/loss" not in f:
                return {"step": np.zeros(0, np.int64), "loss": np.zeros(0, np.float32)}
            step, loss = f["train/step"][()], f["train/loss"][()]
            n = min(len(step), len(loss))  # a killed run may have one longer than the other
            return {"step": step[:n], "loss": loss[:n]}

        return pd.DataFrame(self._read(read))

    # --- growth ------------------------------------------------------------------------

    def events(self) -> pd.DataFrame:
        """The growth timeline: one row per event.

        Columns ``step``, ``op``, ``count`` (synapses added), ``connections`` (after it),
        then the keys of each event's JSON details (``event``, ``requested``,
        ``reset_optimizer``, ``initial``...). Empty (with those four columns) if none.
        """
        import pandas as pd

        def read(f: h5py.File) -> dict[str, Any]:
            g = f.get("events")
            if g is None or "step" not in g:
                return {}
            # Written one dataset after another: a killed run may leave a short one.
            lengths = [g[k].shape[0] for k in ("step", "op", "count", "connections", "details") if k in g]
            n = min(lengths)
            out: dict[str, Any] = {"step": g["step"][:n]}
            out["op"] = _strings(g["op"])[:n] if "op" in g else [""] * n
            out["count"] = g["count"][:n] if "count" in g else np.zeros(n, np.int64)
            out["connections"] = g["connections"][:n] if "connections" in g else np.full(n, -1)
            out["details"] = [json.loads(s) for s in _strings(g["details"])[:n]] if "details" in g else [{}] * n
            return out

        raw = self._read(read)
        base = ["step", "op", "count", "connections"]
        if not raw:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c != "op" else "object") for c in base})
        details = raw.pop("details")
        table = pd.DataFrame(raw)
        extra = pd.DataFrame.from_records(details, index=table.index) if details else pd.DataFrame(index=table.index)
        extra = extra.drop(columns=[c for c in extra.columns if c in base])
        return pd.concat([table, extra], axis=1)

    def synapses(self) -> pd.DataFrame:
        """Every synapse added: columns ``event`` (row of :meth:`events`), ``step``, ``post``, ``pre``."""
        import pandas as pd

        def read(f: h5py.File) -> tuple[np.ndarray, np.ndarray]:
            syn = f["events/synapses"][()] if "events/synapses" in f else np.zeros((0, 3), np.int64)
            steps = f["events/step"][()] if "events/step" in f else np.zeros(0, np.int64)
            return syn, steps

        syn, steps = self._read(read)
        syn = syn[syn[:, 0] < len(steps)]  # rows of an event whose step was not written
        return pd.DataFrame({"event": syn[:, 0], "step": steps[syn[:, 0]], "post": syn[:, 1], "pre": syn[:, 2]})

    # --- weights -----------------------------------------------------------------------

    def snapshot_steps(self) -> list[int]:
        """Steps with a stored snapshot, ascending (reads group names only: fast on large files).

        Empty when the run was made with ``log.snapshots: false``. A snapshot a killed run
        left without its ``w_rec`` is not listed.
        """

        def read(f: h5py.File) -> list[int]:
            g = f.get("snapshots")
            if g is None:
                return []
            return sorted(int(k) for k in g if k.isdigit() and "w_rec" in g[k])

        return self._read(read)

    def snapshot(self, step: int | None = None) -> Snapshot:
        """The weights stored at ``step`` (default: the last snapshot). Only this snapshot is read."""
        steps = self.snapshot_steps()
        if not steps:
            raise RunFileError(
                f"{self.path} has no weight snapshots (made with log.snapshots: false?); "
                "the weights at the end are in /final (Run.final())"
            )
        if step is None:
            step = steps[-1]
        if step not in steps:
            raise RunFileError(f"{self.path} has no snapshot at step {step}; snapshots: {_compact(steps)}")
        return self._read(lambda f: _snapshot(f["snapshots"][f"{step:09d}"], step))

    def final(self) -> Snapshot:
        """The weights when the run ended (/final, with ``extra["w_rec_initial"]``)."""

        def read(f: h5py.File) -> Snapshot:
            g = f.get("final")
            if g is None or "w_rec" not in g:
                raise RunFileError(
                    f"{self.path} has no final weights (status {self.status}: the run did not end cleanly); "
                    "use a snapshot instead"
                )
            return _snapshot(g, int(_py(g.attrs.get("step", self.last_step))))

        return self._read(read)

    def weights(self, step: int | None = None) -> Snapshot:
        """The weights at ``step``; ``None``: at the end (/final, or the last snapshot if a killed run has none)."""
        if step is not None:
            if step == self._final_step():
                return self.final()
            return self.snapshot(step)
        try:
            return self.final()
        except RunFileError:
            return self.snapshot()

    def _final_step(self) -> int | None:
        def read(f: h5py.File) -> int | None:
            g = f.get("final")
            if g is None or "w_rec" not in g or "step" not in g.attrs:
                return None
            return int(_py(g.attrs["step"]))

        return self._read(read)

    # --- chain runs ------------------------------------------------------------------
    # Rebuilding a chain's network, and the analyses that run it, are in growsim.analyses.

    def parity_levels(self, step: int | None = None) -> list[int]:
        """The curriculum levels N the chain network at ``step`` (default: the end) reads out,
        one per readout head, in head order (``[2, 3, ..., n_current]``).

        From the stored heads; they agree with ``series/n_current`` (the level being trained)
        of the next logged step, or of ``step`` itself at the end of the run. Raises
        :class:`RunFileError` for a leaky-RNN run.
        """
        if self.network_kind != "chain":
            raise RunFileError(
                f"{self.path}: parity levels needs a chain run (network.kind: chain, Hamidi et al.'s parity "
                f"curriculum); this is a {self.network_kind} run"
            )
        return self.head_levels(self.weights(step))

    def head_levels(self, snap: Snapshot) -> list[int]:
        """The level N of each readout head of chain weights already read (``snap``), reading
        nothing more: ``task.n_start`` + the head's index. Empty when ``snap`` has no heads."""
        n_start = int(self.spec.get("task", {}).get("n_start", 2))
        heads = snap.extra.get("head_module")
        n = 0 if heads is None else len(heads)
        return list(range(n_start, n_start + n))

    # --- geometry and analyses ------------------------------------------------------

    def geometry(self) -> Geometry:
        """The neurons' distances, positions and labels (/geometry)."""

        def read(f: h5py.File) -> Geometry:
            g = f.get("geometry")
            if g is None or "distances" not in g:
                if self.network_kind == "chain":
                    raise RunFileError(f"{self.path} is a chain run: its neurons have no geometry (no /geometry/distances)")
                raise RunFileError(f"{self.path} has no /geometry/distances")
            return Geometry(
                distances=g["distances"][()],
                positions=g["positions"][()] if "positions" in g else None,
                labels=_strings(g["labels"]) if "labels" in g else None,
                units=str(_py(g["distances"].attrs.get("units", ""))),
                kind=self.spec.get("network", {}).get("geometry", {}).get("kind"),
            )

        return self._read(read)

    def analyses(self) -> dict[str, str]:
        """The groups under /analysis: name -> metric (``modularity``, ``task_variance``...)."""

        def read(f: h5py.File) -> dict[str, str]:
            g = f.get("analysis")
            if g is None:
                return {}
            return {k: str(_py(g[k].attrs.get("metric", k))) for k in sorted(g) if isinstance(g[k], h5py.Group)}

        return self._read(read)

    def analysis(self, name: str) -> Analysis:
        """One analysis result, /analysis/<name>, with all its datasets loaded."""

        def read(f: h5py.File) -> Analysis:
            key = f"analysis/{name}"
            if key not in f:
                have = ", ".join(sorted(f["analysis"])) if "analysis" in f and len(f["analysis"]) else "none"
                raise RunFileError(f"{self.path} has no analysis {name!r} (analyses: {have})")
            g = f[key]
            data = {}
            for k, ds in g.items():
                if isinstance(ds, h5py.Dataset):
                    data[k] = np.array(_strings(ds)) if ds.dtype.kind in "OS" else ds[()]
            return Analysis(name, {k: _py(v) for k, v in g.attrs.items()}, data)

        return self._read(read)

    def contents(self) -> list[dict[str, Any]]:
        """Every dataset: ``name`` (path), ``shape``, ``dtype``, ``stored_bytes`` (on disk, compressed)."""

        def read(f: h5py.File) -> list[dict[str, Any]]:
            rows: list[dict[str, Any]] = []

            def visit(name: str, obj: Any) -> None:
                if isinstance(obj, h5py.Dataset):
                    stored = int(obj.id.get_storage_size())
                    if obj.dtype.kind == "O" and obj.size <= 100_000:
                        # variable-length strings: the storage size counts only their references
                        values = np.asarray(obj[()], dtype=object).ravel()
                        stored += sum(len(v) if isinstance(v, bytes) else len(str(v).encode()) for v in values)
                    rows.append({"name": name, "shape": obj.shape, "dtype": str(obj.dtype), "stored_bytes": stored})

            f.visititems(visit)
            return rows

        return self._read(read)


def _looks_like_hdf5(path: Path) -> bool:
    """Whether the file starts with the HDF5 signature (no user block: what growsim writes)."""
    try:
        with open(path, "rb") as fh:
            return fh.read(8) == b"\x89HDF\r\n\x1a\n"
    except OSError:
        return False


def _aligned(name: str, values: np.ndarray, n: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Rows of a /series dataset placed on the ``n`` logged steps.

    ``train_loss`` has no value at the first step (nothing trained yet), so its rows start
    at the second; a killed run can leave any dataset a row short at the end; ``rows``
    (indices into the logged steps) places a series taken at some log steps only. Missing
    rows are NaN (floats) or -1 (integers).
    """
    offset = 1 if name == "train_loss" and values.shape[0] < n else 0
    if rows is None and offset == 0 and values.shape[0] == n:
        return values
    if np.issubdtype(values.dtype, np.integer):
        out = np.full((n, *values.shape[1:]), -1, dtype=values.dtype)
    else:
        out = np.full((n, *values.shape[1:]), np.nan, dtype=np.result_type(values.dtype, np.float32))
    if rows is not None:
        out[rows] = values[: len(rows)]
        return out
    kept = values[: max(0, n - offset)]
    out[offset : offset + kept.shape[0]] = kept
    return out


def _snapshot(g: h5py.Group, step: int) -> Snapshot:
    known = {k: g[k][()] for k in SNAPSHOT_ARRAYS if k in g}
    extra = {k: ds[()] for k, ds in g.items() if k not in SNAPSHOT_ARRAYS and isinstance(ds, h5py.Dataset) and not _is_scale(ds)}
    return Snapshot(step=step, extra=extra, **known)


def _is_scale(ds: h5py.Dataset) -> bool:
    """Whether ``ds`` is a dimension scale: the coordinate of a named axis (the tasks, the
    index of each neuron, ...) beside the arrays it labels (docs/hdf5.md)."""
    return bool(h5py.h5ds.is_scale(ds.id))


def _compact(steps: list[int], edge: int = 3, *, count: bool = True) -> str:
    """A long list of steps shortened: ``0, 3, 6, ..., 294, 297, 300 (101 steps)``."""
    if len(steps) <= 2 * edge + 1:
        return ", ".join(map(str, steps))
    text = f"{', '.join(map(str, steps[:edge]))}, ..., {', '.join(map(str, steps[-edge:]))}"
    return f"{text} ({len(steps)} steps)" if count else text


def open_run(path: str | Path) -> Run:
    """Open a growsim run file for reading (also one still being written, or killed).

    Raises :class:`RunFileError`, naming the file, when it is missing, not HDF5, or not a
    growsim run.
    """
    return Run(path)
