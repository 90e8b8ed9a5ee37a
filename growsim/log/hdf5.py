"""The HDF5 writer: one self-describing file per run (layout in docs/hdf5.md).

Writes are transactions. Between two commits (one per log step) the writer works on a
hidden copy beside the run file; a commit closes the copy and renames it over the run
file, which the operating system does atomically. So the run file on disk is always a
complete HDF5 file: a run killed at any moment leaves the last commit, readable by h5py
and h5dump, whose root attributes say how far it got; and readers can open it while the
run goes on. No pickles: numbers, strings and JSON text only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from growsim.log.base import RunInfo

SCHEMA_VERSION = "1.0"

# name -> (units, description); every dataset the writer creates carries both.
DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "train/step": ("batches", "Index of the training batch (0-based)."),
    "train/loss": ("1", "Training loss of that batch."),
    "series/step": ("batches", "Batches completed when the metrics were taken."),
    "series/wall_time": ("s", "Seconds since the run started."),
    "series/loss": ("1", "Test loss, mean over tasks."),
    "series/task_loss": ("1", "Test loss per task (columns: /tasks/names)."),
    "series/perf": ("1", "Fraction of test trials correct, per task (columns: /tasks/names)."),
    "series/perf_mean": ("1", "Mean of series/perf over tasks."),
    "series/connections": ("synapses", "Recurrent synapses that exist."),
    "series/modularity_q": ("1", "Directed modularity Q (Leicht & Newman) of abs(W_rec) with its communities."),
    "series/n_communities": ("1", "Number of communities found."),
    "series/communities": ("1", "Community label of each neuron (0-based)."),
    "series/lr": ("1", "Learning rate."),
    "series/train_loss": ("1", "Mean training loss over the batches since the previous log."),
    "events/step": ("batches", "Batches completed when the event fired."),
    "events/op": ("", "Growth operation."),
    "events/count": ("synapses", "Synapses added by the event."),
    "events/connections": ("synapses", "Synapses after the event."),
    "events/details": ("", "The event's parameters, as JSON."),
    "events/synapses": ("", "Synapses added: (event index, post, pre); W_rec[post, pre] is pre -> post."),
    "geometry/distances": ("", "Distance between neurons i and j (units in the attribute)."),
    "geometry/positions": ("", "Neuron positions (units in the attribute)."),
    "geometry/labels": ("", "Region names."),
    "tasks/names": ("", "Task names, in the order of the per-task columns."),
    "w_rec": ("1", "Recurrent weights, W_rec[post, pre]; absent synapses are exactly 0."),
    "mask": ("1", "1 where the synapse pre -> post exists, else 0."),
    "w_in": ("1", "Input weights (neurons, inputs)."),
    "w_out": ("1", "Readout weights (outputs, neurons)."),
    "b_rec": ("1", "Recurrent biases."),
    "b_out": ("1", "Readout biases."),
    "w_rec_initial": ("1", "The initial draw of every recurrent weight, present or not."),
    "tau": ("", "Time constant of each neuron: ms for a leaky RNN (alpha = dt / tau); steps for a chain's modules, as stored."),
    "synapse_born": ("batches", "The step each synapse was made; -1 where absent."),
    "w_ff": ("1", "Each module's feed-forward weights from the module before it; module 0's are zeros."),
    "bias": ("1", "Each module's biases."),
    "head_w": ("1", "Readout weights of each head (head, class, neuron)."),
    "head_b": ("1", "Readout biases of each head."),
    "head_module": ("1", "The module each head reads."),
    "trainable": ("1", "1 where a module's part still learns: recurrent, feedforward, input, bias, tau."),
    "series/perf_newest": ("1", "Accuracy of the newest level (the one being learned)."),
    "series/n_solved": ("level", "N_solved after the evaluation: the largest level solved."),
    "series/n_current": ("level", "The newest level trained up to that evaluation."),
    "series/n_modules": ("modules", "Modules in the chain."),
    "series/n_parameters": ("parameters", "Every parameter of the network, frozen or not."),
    "series/n_trainable": ("parameters", "Parameters that still learn."),
    # Dimension scales: the coordinate of each named axis (see _SERIES_AXES, _SNAPSHOT_AXES).
    "series/task": ("", "The tasks, as /tasks/names: the coordinate of every per-task axis."),
    "series/neuron": ("", "Index of each neuron: the coordinate of every per-neuron axis."),
    "series/quantile_level": ("%", "Percent level of each column of the fn_*_null_quantiles series."),
    "series/percentile_level": ("%", "Percent level of each column of the fn_*_null_percentiles series."),
    "series/shuffle": ("", "Index of each shuffle of the fn_*_null series, in the order drawn."),
    "series/distance_bin": ("", "Index of each distance bin of the fn_w_distance series."),
    "post": ("", "Index of the post-synaptic neuron (rows of W_rec)."),
    "pre": ("", "Index of the pre-synaptic neuron (columns of W_rec)."),
    "neuron": ("", "Index of each neuron."),
    "input": ("", "Index of each input."),
    "output": ("", "Index of each output (a chain's heads: each head's two classes)."),
    "module": ("", "Index of each module of the chain."),
    "readout": ("", "Index of each readout head."),
    "part": ("", "The parts of a module, the columns of trainable."),
}

# Series named after what made them (a regulariser term, the functional report's
# statistics): described by the first pattern that matches, with {0} the matched name.
_PATTERNS: tuple[tuple[str, str, str], ...] = (
    (r"series/reg_(.+)_strength", "1", "Strength lambda of the regulariser term {0} from this step on."),
    (r"series/reg_(.+)", "1", "Unscaled cost of the regulariser term {0}, mean over the batches since the previous row."),
    (r"series/fn_n_neurons", "neurons", "Neurons in the network."),
    (r"series/fn_n_active_neurons", "neurons", "Neurons whose summed task variance exceeds the active threshold."),
    (r"series/fn_n_active_connections", "synapses", "Recurrent synapses with abs(w) above the connection threshold."),
    (r"series/fn_wiring_length", "length", "Summed length of the active connections (units of /geometry/distances)."),
    (r"series/fn_n_clusters", "1", "Functional clusters of the active neurons."),
    (r"series/fn_silhouette", "1", "Silhouette at the chosen number of clusters."),
    (r"series/fn_task_variance", "1", "Task variance of each neuron in each task."),
    (r"series/fn_labels", "1", "Functional cluster of each neuron, -1 if inactive."),
    (r"series/fn_active", "1", "1 for active neurons, 0 otherwise."),
    (r"series/fn_w_distance", "length", "Distance of each bin of the strength-by-distance profile."),
    (r"series/fn_w_distance_mean_abs", "1", "Mean abs(W_rec) over the neuron pairs at that distance."),
    (r"series/fn_w_distance_active_fraction", "1", "Fraction of the pairs at that distance whose synapse is active."),
    (r"series/fn_w_distance_pairs", "pairs", "Ordered neuron pairs at that distance."),
    (r"series/fn_(.+)_percentile", "%", "Percentile of {0} among the shuffles of the active neurons (ties count half)."),
    (r"series/fn_(.+)_null_mean", "", "Mean of {0} over the shuffles."),
    (r"series/fn_(.+)_null_quantiles", "", "The shuffles' 5th, 50th and 95th percentiles of {0}."),
    (r"series/fn_(.+)_null_percentiles", "", "The shuffles' quantile function of {0}: its value at 0, 1, ..., 100 percent."),
    (r"series/fn_(.+)_null", "", "{0} of every shuffle of the active neurons, in the order drawn."),
    (r"series/fn_isolated_fraction", "1", "Fraction of active neurons with no lattice neighbour in their cluster."),
    (r"series/fn_cluster_spread", "lattice steps^2", "Mean over clusters of the within-cluster variance of lattice indices."),
    (r"series/fn_mean_cluster_size", "neurons", "Mean size of the same-cluster lattice patch holding each active neuron."),
)

_STR = h5py.string_dtype("utf-8")

# Dimension scales name the axes of the series and snapshots, so that netCDF readers
# (xarray, netCDF-C) see named dimensions with coordinates instead of phony_dim_*. No name
# is that of an xarray method (quantile, head), so ds.<name> reads the coordinate.
# Series: the axes after the first (which is `step`), by the dataset's name; a series of
# another name and more than one axis stays unlabelled (h5netcdf refuses a dataset with
# only some axes labelled).
_SERIES_AXES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"perf|task_loss", ("task",)),
    (r"communities|fn_labels|fn_active", ("neuron",)),
    (r"fn_task_variance", ("neuron", "task")),
    (r"fn_.+_null_quantiles", ("quantile_level",)),
    (r"fn_.+_null_percentiles", ("percentile_level",)),
    (r"fn_.+_null", ("shuffle",)),
    (r"fn_w_distance(_mean_abs|_active_fraction|_pairs)?", ("distance_bin",)),
)
# Snapshots and /final: every axis, by the array's name and number of axes (a leaky RNN's
# arrays and a chain's; docs/hdf5.md).
_SNAPSHOT_AXES: dict[tuple[str, int], tuple[str, ...]] = {
    ("w_rec", 2): ("post", "pre"),
    ("mask", 2): ("post", "pre"),
    ("w_rec_initial", 2): ("post", "pre"),
    ("w_in", 2): ("neuron", "input"),
    ("w_out", 2): ("output", "neuron"),
    ("b_rec", 1): ("neuron",),
    ("b_out", 1): ("output",),
    ("neuron_sign", 1): ("neuron",),
    ("tau", 1): ("neuron",),
    ("w_rec", 3): ("module", "post", "pre"),
    ("w_ff", 3): ("module", "post", "pre"),
    ("w_in", 3): ("module", "neuron", "input"),
    ("bias", 2): ("module", "neuron"),
    ("tau", 2): ("module", "neuron"),
    ("head_w", 3): ("readout", "output", "neuron"),
    ("head_b", 2): ("readout", "output"),
    ("head_module", 1): ("readout",),
    ("trainable", 2): ("module", "part"),
}
# The columns of a chain's `trainable` (growsim.network.chain.PARTS).
_CHAIN_PARTS = ("recurrent", "feedforward", "input", "bias", "tau")
_NULL_QUANTILES = (5, 50, 95)  # percent levels of fn_*_null_quantiles


def describe(key: str) -> tuple[str, str]:
    """(units, description) of the dataset at ``key`` ('' and '' when none is known)."""
    if key in DESCRIPTIONS:
        return DESCRIPTIONS[key]
    for pattern, units, text in _PATTERNS:
        match = re.fullmatch(pattern, key)
        if match:
            return units, text.format(*match.groups())
    return DESCRIPTIONS.get(key.split("/")[-1], ("", ""))


def _describe(ds: h5py.Dataset, key: str) -> None:
    units, text = describe(key)
    ds.attrs["units"] = units
    ds.attrs["description"] = text


def series_axes(name: str, ndim: int) -> tuple[str, ...] | None:
    """The dimensions of the series `name` with `ndim` axes (the first `step`); None if unknown."""
    if ndim == 1:
        return ("step",)
    for pattern, rest in _SERIES_AXES:
        if re.fullmatch(pattern, name) and len(rest) == ndim - 1:
            return ("step", *rest)
    return None


def snapshot_axes(name: str, ndim: int) -> tuple[str, ...] | None:
    """The dimensions of the snapshot array `name` with `ndim` axes; None if unknown."""
    return _SNAPSHOT_AXES.get((name, ndim))


def is_scale(ds: Any) -> bool:
    """Whether `ds` is an HDF5 dimension scale (the coordinate of a named axis)."""
    return isinstance(ds, h5py.Dataset) and bool(h5py.h5ds.is_scale(ds.id))


def _coordinate(f: h5py.File, dim: str, size: int) -> np.ndarray | None:
    """The values of a new dimension scale `dim` of length `size`; None if it cannot have them."""
    if dim == "task":
        names = f["tasks/names"].asstr()[()] if "tasks/names" in f else ()
        return np.array(names, dtype=object) if len(names) == size else None
    if dim == "part":
        return np.array(_CHAIN_PARTS, dtype=object) if size == len(_CHAIN_PARTS) else None
    if dim == "quantile_level":
        return np.array(_NULL_QUANTILES, dtype=np.int64) if size == len(_NULL_QUANTILES) else None
    if dim == "step" or dim.endswith("_step"):
        return None  # made with their series, never here
    return np.arange(size, dtype=np.int64)


def _delete(group: h5py.Group, name: str) -> None:
    """Delete a dataset, first detaching it from its scales (or its datasets, if it is one),
    so no attribute is left referring to it."""
    ds = group[name]
    if isinstance(ds, h5py.Dataset):
        if is_scale(ds):
            for ref, axis in list(ds.attrs.get("REFERENCE_LIST", [])):
                group.file[ref].dims[int(axis)].detach_scale(ds)
        else:
            for dim in ds.dims:
                for scale in list(dim.values()):
                    dim.detach_scale(scale)
    del group[name]


def working_path(path: Path) -> Path:
    """The hidden copy a run's writes go to between commits."""
    return path.with_name(f".{path.name}.writing")


class HDF5Logger:
    """Writes a run to `path`. Creates the parent folder; refuses an existing file unless `overwrite`.

    `atomic=False` writes in place instead of through a copy (for very large files, where
    copying at every commit costs too much); a kill during a write can then damage the file.
    `resume` continues a run from its checkpoint (see `read_checkpoint`).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        compression: int = 4,
        overwrite: bool = False,
        atomic: bool = True,
        resume: "Checkpoint | None" = None,
    ):
        self.path = Path(path)
        self.compression = compression
        self.overwrite = overwrite
        self.atomic = atomic
        self.resume = resume
        self._file: h5py.File | None = None
        self._started = False
        self._t0 = time.monotonic()
        self._elapsed_before = 0.0  # seconds of earlier sessions of a resumed run

    # --- transactions -----------------------------------------------------------------

    @property
    def file(self) -> h5py.File:
        """The open file of the current transaction (opened on first use after a commit)."""
        if self._file is None:
            if not self._started:
                raise RuntimeError("the HDF5 logger has not started")
            self._begin()
        return self._file

    def _begin(self) -> None:
        if self.atomic:
            work = working_path(self.path)
            shutil.copyfile(self.path, work)
            self._file = h5py.File(work, "a")
        else:
            self._file = h5py.File(self.path, "a")

    def commit(self, step: int | None = None) -> None:
        """Make everything written so far durable and visible in the run file."""
        if self._file is None:
            return
        f = self._file
        f.attrs["heartbeat"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        f.attrs["duration_s"] = self._elapsed()
        name = f.filename
        f.close()
        self._file = None
        if self.atomic:
            with open(name, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(name, self.path)
            _fsync_dir(self.path.parent)

    def _abandon(self) -> None:
        """Drop the current transaction (after a failure inside it)."""
        if self._file is not None:
            name = self._file.filename
            try:
                self._file.close()
            except Exception:
                pass
            self._file = None
            if self.atomic:
                Path(name).unlink(missing_ok=True)

    def _elapsed(self) -> float:
        return self._elapsed_before + time.monotonic() - self._t0

    def _gzip(self, size: int) -> dict[str, Any]:
        if self.compression and size >= 64:
            return {"compression": "gzip", "compression_opts": self.compression, "shuffle": True}
        return {}

    def _array(self, group: h5py.Group, name: str, data: np.ndarray, key: str) -> None:
        data = np.asarray(data)
        if data.dtype == bool:
            data = data.astype(np.uint8)  # plain integers read everywhere (MATLAB, h5dump)
        ds = group.create_dataset(name, data=data, **self._gzip(data.size))
        _describe(ds, key)

    def _append(self, key: str, values: np.ndarray, dtype) -> bool:
        """Append rows to a growable dataset `key`, creating it on first use (then True)."""
        values = np.asarray(values, dtype=dtype)
        f = self.file
        created = key not in f
        if created:
            shape = (0, *values.shape[1:])
            # Per-batch losses come in blocks of hundreds; metrics one row per log step.
            rows = 1024 if key.startswith("train/") else 64
            chunk_rows = max(1, min(rows, 65536 // max(1, int(np.prod(values.shape[1:], dtype=np.int64)))))
            ds = f.create_dataset(
                key, shape=shape, maxshape=(None, *values.shape[1:]), dtype=dtype, chunks=(chunk_rows, *values.shape[1:])
            )
            _describe(ds, key)
        ds = f[key]
        if ds.shape[1:] != values.shape[1:]:
            raise ValueError(f"{key}: rows of shape {values.shape[1:]} do not fit {ds.shape[1:]}")
        n = ds.shape[0]
        ds.resize(n + values.shape[0], axis=0)
        ds[n:] = values
        return created

    def _label(self, ds: h5py.Dataset, dims: tuple[str, ...]) -> None:
        """Attach to each axis i of `ds` the dimension scale `dims[i]` of its group, made there
        where missing. Leaves `ds` unlabelled if any axis cannot be labelled (another
        dataset holds the name, a scale of another length), since readers refuse a dataset
        with only some axes labelled."""
        group = ds.parent
        scales: list[h5py.Dataset | np.ndarray] = []
        for dim, size in zip(dims, ds.shape):
            scale = group.get(dim)
            if scale is None:
                scale = _coordinate(group.file, dim, size)
                if scale is None:
                    return
            # `step` is a series of its own, made a scale when first needed.
            elif not (isinstance(scale, h5py.Dataset) and scale.shape == (size,) and (is_scale(scale) or dim == "step")):
                return
            scales.append(scale)
        for axis, (dim, scale) in enumerate(zip(dims, scales)):
            if not isinstance(scale, h5py.Dataset):
                dtype = _STR if scale.dtype == object else scale.dtype
                scale = group.create_dataset(dim, data=scale, dtype=dtype)
                _describe(scale, f"{group.name.lstrip('/')}/{dim}")
            if not is_scale(scale):
                scale.make_scale(dim)
            ds.dims[axis].attach_scale(scale)

    def _append_series(self, name: str, step: int, values: Any, dtype) -> None:
        """Append a row to `series/<name>`, labelling its axes when it is made.

        A series made after the first logged step (train_loss: nothing is trained at step
        0) has fewer rows than `step`; its first axis gets a step scale of its own,
        `<name>_step`, grown with it."""
        key = f"series/{name}"
        if not self._append(key, values, dtype):
            own = self.file.get(f"{key}_step")
            if own is not None and is_scale(own):
                self._append(f"{key}_step", [step], np.int64)
            return
        ds = self.file[key]
        dims = series_axes(name, ds.ndim)
        if dims is None or name == "step":
            return
        if ds.shape[0] < self.file["series/step"].shape[0]:
            own = f"{name}_step"
            if own in self.file["series"]:
                return
            self._append(f"series/{own}", [step], np.int64)
            scale = self.file[f"series/{own}"]
            scale.attrs["units"] = "batches"
            scale.attrs["description"] = f"Batches completed at each row of {name} (it has no row at the logged steps before)."
            scale.make_scale(own)
            dims = (own, *dims[1:])
        self._label(ds, dims)

    # --- the protocol ---------------------------------------------------------------

    def start(self, info: RunInfo) -> None:
        if self.resume is not None:
            self._start_resumed()
            return
        if self.path.exists() and not self.overwrite:
            raise FileExistsError(f"{self.path} exists; pass --overwrite to replace it")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        target = working_path(self.path) if self.atomic else self.path
        # The default (oldest) file format on purpose: newer formats mark a file "open for
        # write" in its superblock, and a killed run would leave a file that readers refuse.
        self._file = h5py.File(target, "w")
        self._started = True
        self._t0 = time.monotonic()
        f = self._file
        f.attrs["format"] = "growsim-run"
        f.attrs["schema_version"] = SCHEMA_VERSION
        f.attrs["status"] = "running"
        f.attrs["status_reason"] = ""
        f.attrs["last_step"] = -1
        f.attrs["batches"] = info.batches
        f.attrs["seed"] = info.seed
        f.attrs["name"] = info.name
        f.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        f.attrs["n_neurons"] = info.n_neurons
        f.attrs["network_kind"] = info.network_kind
        self._mark_writer(f)
        for key, value in info.versions.items():
            f.attrs[f"version_{key}"] = str(value)

        spec = f.create_group("spec")
        spec.attrs["description"] = "The spec as written, and resolved with every default."
        for name, data, text in (
            ("verbatim", info.spec_text, "The spec file as written."),
            ("resolved_yaml", info.resolved_yaml, "The spec with every default filled in (YAML)."),
            ("resolved_json", info.resolved_json, "The spec with every default filled in (JSON)."),
            ("overrides", np.array(info.overrides, dtype=object), "The --set arguments, in order."),
        ):
            ds = spec.create_dataset(name, data=data, dtype=_STR)
            ds.attrs["units"] = ""
            ds.attrs["description"] = text
        if info.spec_path:
            spec.attrs["path"] = info.spec_path
        if info.base_dir:
            spec.attrs["base_dir"] = info.base_dir

        geo = f.create_group("geometry")
        if info.distances is None:  # a chain of modules has no positions
            geo.attrs["description"] = "This network has no geometry."
        else:
            self._array(geo, "distances", info.distances, "geometry/distances")
            geo["distances"].attrs["units"] = info.distance_units
        if info.positions is not None:
            self._array(geo, "positions", info.positions, "geometry/positions")
            geo["positions"].attrs["units"] = info.distance_units
        if info.labels is not None:
            ds = geo.create_dataset("labels", data=np.array(info.labels, dtype=object), dtype=_STR)
            _describe(ds, "geometry/labels")

        tasks = f.create_group("tasks")
        ds = tasks.create_dataset("names", data=np.array(info.task_names, dtype=object), dtype=_STR)
        _describe(ds, "tasks/names")
        tasks.attrs["n_input"] = info.n_input
        tasks.attrs["n_output"] = info.n_output
        if info.task_selection:  # Yang's tasks: all, listed, or drawn for this seed (from `pool`)
            tasks.attrs["selection"] = info.task_selection
        if info.task_pool:
            tasks.attrs.create("pool", data=np.array(info.task_pool, dtype=object), dtype=_STR)
        for name in ("train", "series", "events", "snapshots", "final"):
            f.require_group(name)
        self.commit()

    def _mark_writer(self, f: h5py.File) -> None:
        # Lets a reader tell a run in progress from one whose process died.
        f.attrs["writer_pid"] = os.getpid()
        f.attrs["writer_host"] = socket.gethostname()

    def _start_resumed(self) -> None:
        """Cut the record back to the checkpoint, so the rest is written as if never interrupted."""
        ckpt = self.resume
        self._started = True
        working_path(self.path).unlink(missing_ok=True)  # a transaction the crash cut short
        f = self.file
        for top in ("train", "series", "events"):
            for name in list(f[top]):
                key = f"{top}/{name}"
                if key not in ckpt.positions:
                    _delete(f[top], name)  # first written after the checkpoint
                elif f[key].shape[0] > ckpt.positions[key]:
                    f[key].resize(ckpt.positions[key], axis=0)
        for name in list(f["snapshots"]):
            if name not in ckpt.snapshots:
                del f["snapshots"][name]
        for name in list(f["final"]):
            del f["final"][name]  # its scales go with it
        for name in list(f.get("analysis", {})):
            # An analysis of snapshots past the checkpoint describes a record that is rewritten.
            steps = f["analysis"][name].get("step")
            if steps is not None and np.any(steps[()] > ckpt.step):
                del f["analysis"][name]
        self._elapsed_before = float(ckpt.elapsed)
        self._t0 = time.monotonic()
        f.attrs["status"] = "running"
        f.attrs["status_reason"] = ""
        f.attrs["last_step"] = ckpt.step
        f.attrs["resumed"] = int(f.attrs.get("resumed", 0)) + 1
        self._mark_writer(f)
        self.commit()

    def log_train_losses(self, steps: np.ndarray, losses: np.ndarray) -> None:
        self._append("train/step", steps, np.int64)
        if self._append("train/loss", losses, np.float32):
            self._label(self.file["train/loss"], ("step",))

    def log_metrics(self, step: int, scalars: Mapping[str, float], arrays: Mapping[str, np.ndarray]) -> None:
        self._append_series("step", step, [step], np.int64)
        self._append_series("wall_time", step, [self._elapsed()], np.float64)
        for name, value in scalars.items():
            self._append_series(name, step, [value], np.float64)
        for name, value in arrays.items():
            value = np.asarray(value)
            dtype = np.int32 if np.issubdtype(value.dtype, np.integer) else np.float32
            self._append_series(name, step, value[None], dtype)
        self.file.attrs["last_step"] = step

    def log_event(self, step: int, op: str, details: Mapping[str, Any], synapses: np.ndarray | None) -> None:
        index = self.file["events/step"].shape[0] if "events/step" in self.file else 0
        self._append("events/step", [step], np.int64)
        self._append("events/op", np.array([op], dtype=object), _STR)
        self._append("events/count", [details.get("count", 0)], np.int64)
        self._append("events/connections", [details.get("connections", -1)], np.int64)
        self._append("events/details", np.array([json.dumps(dict(details), sort_keys=True)], dtype=object), _STR)
        if synapses is not None and len(synapses):
            rows = np.column_stack([np.full(len(synapses), index), np.asarray(synapses)])
            self._append("events/synapses", rows, np.int64)

    def log_snapshot(self, step: int, arrays: Mapping[str, np.ndarray]) -> None:
        group = self.file["snapshots"].create_group(f"{step:09d}")
        group.attrs["step"] = step
        for name, value in arrays.items():
            self._array(group, name, value, name)
        self._label_weights(group, arrays)

    def _label_weights(self, group: h5py.Group, names: Any) -> None:
        """Name the axes of a snapshot's (or /final's) arrays `names`, as far as the layout knows them."""
        for name in names:
            dims = snapshot_axes(name, group[name].ndim)
            if dims is not None:
                self._label(group[name], dims)

    def log_checkpoint(self, step: int, arrays: Mapping[str, np.ndarray], texts: Mapping[str, str]) -> None:
        """The whole state of the run at `step`, replacing the previous checkpoint.

        Same-shaped arrays are overwritten in place, so the file does not grow with every
        checkpoint. The checkpoint also records how long every growing dataset was, so a
        resumed run can cut the record back to this point.
        """
        f = self.file
        group = f.require_group("checkpoint")
        group.attrs["description"] = "The latest state of the run, from which `growsim run --resume` continues."
        for name, value in arrays.items():
            value = np.asarray(value)
            if name in group and (group[name].shape != value.shape or group[name].dtype != value.dtype):
                del group[name]
            if name in group:
                group[name][...] = value
            else:
                group.create_dataset(name, data=value)
        for name in [n for n in _walk_datasets(group) if n not in arrays]:
            del group[name]
        positions = {}
        for top in ("train", "series", "events"):
            for name, obj in f[top].items():
                if isinstance(obj, h5py.Dataset):
                    positions[f"{top}/{name}"] = int(obj.shape[0])
        group.attrs["step"] = step
        group.attrs["elapsed_s"] = self._elapsed()
        group.attrs["positions"] = json.dumps(positions, sort_keys=True)
        group.attrs["snapshots"] = json.dumps(sorted(f["snapshots"]))
        group.attrs["texts"] = json.dumps(dict(texts), sort_keys=True)
        group.attrs["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")

    def progress(self, step: int, values: Mapping[str, float]) -> None:
        pass

    def close(self, status: str, reason: str | None, step: int, final: Mapping[str, np.ndarray] | None) -> None:
        if not self._started:
            return
        try:
            self._write_end(self.file, status, reason, step, final)
            self.commit()
        except BaseException:
            # The transaction itself may be broken (a full disk, say): drop it, and at
            # least mark the last committed file with how the run ended.
            self._abandon()
            try:
                self._begin()
                self._write_end(self._file, status, reason, step, None)
                self.commit()
            except BaseException:
                self._abandon()
            raise
        finally:
            self._started = False

    def _write_end(self, f: h5py.File, status: str, reason: str | None, step: int, final) -> None:
        if final:
            group = f["final"]
            group.attrs["step"] = step
            for name, value in final.items():
                if name in group:
                    _delete(group, name)
                self._array(group, name, value, name)
            self._label_weights(group, final)
        f.attrs["status"] = status
        f.attrs["status_reason"] = reason or ""
        if status == "completed":
            f.attrs["last_step"] = step
        f.attrs["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")


def _walk_datasets(group: h5py.Group) -> list[str]:
    names: list[str] = []
    group.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --- reading a checkpoint back ----------------------------------------------------------


class Checkpoint:
    """A run's saved state, read from its file."""

    def __init__(self, path: Path):
        with h5py.File(path, "r", locking=False) as f:
            if "checkpoint" not in f:
                raise ValueError(f"{path} has no checkpoint to resume from")
            group = f["checkpoint"]
            self.step = int(group.attrs["step"])
            self.elapsed = float(group.attrs.get("elapsed_s", 0.0))
            self.positions: dict[str, int] = json.loads(group.attrs["positions"])
            self.snapshots: set[str] = set(json.loads(group.attrs["snapshots"]))
            self.texts: dict[str, str] = json.loads(group.attrs["texts"])
            self.arrays: dict[str, np.ndarray] = {name: group[name][()] for name in _walk_datasets(group)}
            self.status = str(f.attrs["status"])
            self.writer_pid = int(f.attrs.get("writer_pid", -1))
            self.writer_host = str(f.attrs.get("writer_host", ""))
            spec = f["spec"]
            self.spec_text = spec["verbatim"][()].decode()
            self.overrides = tuple(o.decode() for o in spec["overrides"][()])
            self.spec_path = spec.attrs.get("path")
            self.base_dir = spec.attrs.get("base_dir")


def read_checkpoint(path: str | Path) -> Checkpoint:
    return Checkpoint(Path(path))
