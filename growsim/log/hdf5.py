"""The HDF5 writer: one self-describing file per run (layout in docs/hdf5.md).

Writes are transactions. The writer keeps the run's file in memory (HDF5's core driver)
and commits it at each log step: it writes the whole file to a hidden working copy beside
the run file and renames the copy over the run file, which the operating system does
atomically. So the run file on disk is always a complete HDF5 file: a run killed at any
moment leaves the last commit, readable by h5py and h5dump, whose root attributes say how
far it got; and readers can open it while the run goes on. No pickles: numbers, strings
and JSON text only.

HDF5 itself never writes to the disk: a full disk is a plain OSError of the writer's own
write, after which the file in memory is intact. (When HDF5 writes a file itself and a
flush fails, the file's handle is left broken, and touching it again can crash the
process.) A run that cannot commit records how it ended in its last committed file, in
place if there is no room for a new copy (`_mark_ended`).
"""

from __future__ import annotations

import concurrent.futures
import errno
import functools
import hashlib
import itertools
import json
import os
import queue
import re
import socket
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from growsim._process import process_alive
from growsim.log.base import RunInfo

try:
    import fcntl
except ImportError:  # not POSIX: no locks, so any working copy found is taken for a stale one
    fcntl = None  # type: ignore[assignment]

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
    """The hidden working copy a commit writes before renaming it over the run file."""
    return path.with_name(f".{path.name}.writing")


class RunFileWriteError(OSError):
    """The run file could not be written (a full disk, say). The message says what is left
    on disk and what to do; `reason` is what the file's `status_reason` records."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


class _OwnThread:
    """Runs a writer's calls on a thread of its own, one at a time, the caller waiting for
    each: the calls keep their order, and their results and exceptions reach the caller.

    Why a thread: HDF5 keeps a file's metadata (object headers, B-tree nodes, its cache) in
    many small blocks that live long and are made anew at every log step (a snapshot adds a
    dozen objects). Made on the training thread, they land in the C heap that the batches'
    and evaluations' large tensors reuse, inside the regions those tensors free, and split
    them: the next evaluation's tensors no longer fit there and take new memory. A full Wu &
    Gu run so grew to 1 to 1.5 GB. glibc gives another thread a heap (arena) of its own, so
    HDF5's blocks stay out of the training's (benchmarks/RESULTS.md).

    The thread starts with the first call and ends with `stop` (a later call starts a new
    one) or when its owner is garbage-collected; it is a daemon, so it never holds up the
    interpreter's exit.
    """

    def __init__(self, name: str):
        self._name = name
        self._calls: queue.SimpleQueue | None = None
        self._thread: threading.Thread | None = None

    def call(self, fn, *args, **kwargs):
        if self._thread is not None and threading.current_thread() is self._thread:
            return fn(*args, **kwargs)  # a call the writer makes itself
        if self._thread is None:
            calls: queue.SimpleQueue = queue.SimpleQueue()
            self._calls = calls
            self._thread = threading.Thread(target=_serve, args=(calls,), name=self._name, daemon=True)
            self._thread.start()
            weakref.finalize(self, calls.put, None)  # no call can come any more: let the thread end
        done: concurrent.futures.Future = concurrent.futures.Future()
        self._calls.put((done, fn, args, kwargs))
        return done.result()

    def stop(self) -> None:
        if self._thread is not None and self._calls is not None:
            self._calls.put(None)
        self._thread = self._calls = None


def _serve(calls: queue.SimpleQueue) -> None:
    while (item := calls.get()) is not None:
        done, fn, args, kwargs = item
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # the caller's to handle, as if it had made the call itself
            done.set_exception(exc)
        del done, fn, args, kwargs, item  # hold nothing of a finished call while waiting


def _on_writer_thread(method):
    """Run a method of HDF5Logger on the logger's own thread (see `_OwnThread`)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return self._writer.call(method, self, *args, **kwargs)

    return call


class HDF5Logger:
    """Writes a run to `path`. Creates the parent folder; refuses an existing file unless `overwrite`.

    The file is kept in memory while the run goes on. `atomic=False` commits by writing
    only the pages that changed into the run file itself, instead of a whole new copy (for
    very large files, where writing all of it at every commit costs too much); a kill or a
    full disk during that write can damage the file. `resume` continues a run from its
    checkpoint (see `read_checkpoint`).

    When a commit fails (a full disk), the run's end is recorded in the last committed
    file (`status: failed`, and a reason that names the batch) and `close` raises
    `RunFileWriteError`, whose message says what was left.
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
        self._write_error: OSError | None = None  # the failed commit that stopped the writes
        self._committed: tuple[int, int | None] | None = None  # last_step and checkpoint step on disk
        self._on_disk: _Pages | None = None  # what the run file holds (written in place: the pages to compare)
        self._writer = _OwnThread(f"growsim-writer {self.path.name}")  # every HDF5 call runs there

    # --- transactions -----------------------------------------------------------------

    @property
    def file(self) -> h5py.File:
        """The run's file, in memory (read from the run file on first use when resumed)."""
        if self._file is None:
            if not self._started:
                raise RuntimeError("the HDF5 logger has not started")
            image = self.path.read_bytes()
            self._file = _memory_file(image)
            end = len(self._file.id.get_file_image())  # where its HDF5 data ends; the slack follows
            self._on_disk = _Pages.of(memoryview(image)[:end], len(image))
        return self._file

    @_on_writer_thread
    def commit(self, step: int | None = None) -> None:
        """Make everything written so far durable and visible in the run file."""
        if self._write_error is not None:
            raise self._write_error
        if self._file is None:
            return
        f = self._file
        f.attrs["heartbeat"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        f.attrs["duration_s"] = self._elapsed()
        f.flush()
        image = f.id.get_file_image()
        try:
            if self.atomic or self._on_disk is None:  # the first commit of a new run writes it whole
                _write_atomically(self.path, image)
                self._on_disk = None if self.atomic else _Pages.of(image, len(image) + SLACK_BYTES)
            else:
                self._on_disk = _write_in_place(self.path, image, self._on_disk)
        except OSError as exc:
            self._write_error = exc
            raise
        self._committed = (int(f.attrs["last_step"]), int(f["checkpoint"].attrs["step"]) if "checkpoint" in f else None)

    def _drop(self) -> None:
        """Close the file in memory (what it held past the last commit is lost)."""
        f, self._file = self._file, None
        if f is not None:
            f.close()

    def _first_commit(self, doing: str, write) -> None:
        """`write` the start of a run (`doing`: create or resume), then commit it. If the
        disk has no room for it, raise `RunFileWriteError`, saying that nothing was written."""
        try:
            write()
            self.commit()
        except BaseException:
            self._drop()
            self._started = False
            if self._write_error is None:
                raise
            what, words = _why(self._write_error)
            if isinstance(self._write_error, PartlyWrittenError):
                left = "the failed write had changed part of the file in place: it may be damaged"
            elif doing == "resume":
                left = "the file is left as it was"
            else:
                left = "nothing was written" + (" (the existing file is left as it was)" if self.path.exists() else "")
            raise RunFileWriteError(f"cannot {doing} {self.path}: {what} ({words}); {left}", f"{what} at the start ({words})") from None

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

    @_on_writer_thread
    def start(self, info: RunInfo) -> None:
        if self.resume is not None:
            self._started = True
            self._first_commit("resume", self._start_resumed)
            return
        if self.path.exists() and not self.overwrite:
            raise FileExistsError(f"{self.path} exists; pass --overwrite to replace it")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._started = True
        self._first_commit("create", lambda: self._create(info))

    def _create(self, info: RunInfo) -> None:
        # The default (oldest) file format on purpose: newer formats mark a file "open for
        # write" in its superblock, and a killed run would leave a file that readers refuse.
        self._file = _memory_file()
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

    def _mark_writer(self, f: h5py.File) -> None:
        # Lets a reader tell a run in progress from one whose process died.
        f.attrs["writer_pid"] = os.getpid()
        f.attrs["writer_host"] = socket.gethostname()

    def _start_resumed(self) -> None:
        """Cut the record back to the checkpoint, so the rest is written as if never interrupted."""
        ckpt = self.resume
        remove_stale_working_copy(self.path)  # a commit a kill cut short
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
        if "finished" in f.attrs:  # the stop it resumes from: the run is not finished now
            del f.attrs["finished"]
        self._mark_writer(f)

    @_on_writer_thread
    def log_train_losses(self, steps: np.ndarray, losses: np.ndarray) -> None:
        self._append("train/step", steps, np.int64)
        if self._append("train/loss", losses, np.float32):
            self._label(self.file["train/loss"], ("step",))

    @_on_writer_thread
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

    @_on_writer_thread
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

    @_on_writer_thread
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

    @_on_writer_thread
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

    @_on_writer_thread
    def close(self, status: str, reason: str | None, step: int, final: Mapping[str, np.ndarray] | None) -> None:
        if not self._started:
            self._writer.stop()
            return
        try:
            if self._write_error is None:
                try:
                    self._write_end(self.file, status, reason, step, final)
                    self.commit(step)
                    return
                except BaseException:
                    if self._write_error is None:
                        # Not the disk's fault (a bug, say): the last commit records how the
                        # run ended, without the final weights, and the error goes on.
                        self._drop()
                        _mark_ended(self.path, status, reason or "")
                        raise
            self._drop()
            raise self._failed_writing(step) from None
        finally:
            self._drop()
            self._started = False
            self._writer.stop()  # ends once this call is done; a later call starts another

    def _failed_writing(self, step: int) -> RunFileWriteError:
        """After a failed commit at batch `step`: record the end in the last committed file
        (which needs no new disk space when done in place), and the error that says what is left."""
        what, words = _why(self._write_error)
        last, checkpoint = self._committed if self._committed is not None else (-1, None)
        holds = f"the run up to step {last}" if last >= 0 else "the run's set-up only"
        reason = f"{what} at batch {step} ({words}); the file holds {holds}, its last commit"
        recorded = _mark_ended(self.path, "failed", reason)
        path = self.path
        if checkpoint is not None:
            then = f"free some space, then continue it from its checkpoint at step {checkpoint}: growsim run --resume {path}"
        else:
            then = "it holds no checkpoint to resume from: free some space and run it again (--overwrite replaces it)"
        if recorded:
            left = f"{path} keeps {holds} (its last commit), marked failed with the reason"
        else:
            left = (f"not even the failure could be recorded: {path} keeps {holds} (its last commit) and still says "
                    f"running; growsim inspect reports it as killed")
        if isinstance(self._write_error, PartlyWrittenError):
            left += " (but the failed write had changed part of it in place: it may be damaged)"
        return RunFileWriteError(f"run failed at batch {step}: {what} writing {path} ({words}).\n{left}; {then}.", reason)

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


# --- the file in memory, and its way to the disk -----------------------------------------

# Zero bytes written after each committed file (HDF5 ignores what lies past the end of its
# data): disk space already held, in which `_mark_ended` can record a run's end in place.
SLACK_BYTES = 16384
_CORE_BLOCK = 1 << 20  # the in-memory file grows by this many bytes at a time
_memory_names = itertools.count()


def _memory_file(image: bytes | None = None) -> h5py.File:
    """A new HDF5 file in memory, or one opened from `image` (the bytes of a file).

    HDF5 never touches the disk for it: its bytes reach the disk only through
    `_write_atomically` or `_write_in_place`."""
    # HDF5 wants a name, never opened; unique, since it takes two files of one name for one.
    name = f"growsim-in-memory-{os.getpid()}-{next(_memory_names)}"
    if image is None:
        return h5py.File(name, "w", driver="core", backing_store=False, block_size=_CORE_BLOCK)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_libver_bounds(h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_LATEST)  # h5py.File's default
    fapl.set_fapl_core(_CORE_BLOCK, False)
    fapl.set_file_image(image)
    return h5py.File(h5py.h5f.open(name.encode(), h5py.h5f.ACC_RDWR, fapl=fapl))


def _write_all(fd: int, data, offset: int) -> None:
    view = memoryview(data)
    while view:
        n = os.pwrite(fd, view, offset)
        view, offset = view[n:], offset + n


def _write_atomically(path: Path, image: bytes) -> None:
    """Write `image` (and the slack) to `path`'s working copy, flush it to disk and rename
    it over `path`. If anything fails, the working copy is removed and `path` is unchanged."""
    work = working_path(path)
    fd = os.open(work, os.O_WRONLY | os.O_CREAT, 0o666)
    try:
        if fcntl is not None:
            # Held while the working copy exists, so that a later run can tell a live
            # writer's copy from one a killed writer left (remove_stale_working_copy).
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        _write_all(fd, image, 0)
        _write_all(fd, bytes(SLACK_BYTES), len(image))
        os.fsync(fd)
        os.replace(work, path)
    except BaseException:
        work.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    _fsync_dir(path.parent)


def remove_stale_working_copy(path: str | Path) -> bool | None:
    """Remove the working copy beside the run file `path` if no live process writes it.

    A writer holds a lock on its working copy for as long as the copy exists (a few
    milliseconds per commit), so one that nobody holds was left by a writer killed while
    committing. True: such a copy was removed; False: a live process is writing it now;
    None: there is none."""
    work = working_path(Path(path))
    try:
        fd = os.open(work, os.O_RDONLY)
    except (FileNotFoundError, NotADirectoryError):
        return None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
        try:
            if not os.path.samestat(os.fstat(fd), os.stat(work)):
                return False  # replaced meanwhile: a live writer's new copy
        except FileNotFoundError:
            return None  # renamed into place meanwhile
        work.unlink()
        return True
    finally:
        os.close(fd)


class PartlyWrittenError(OSError):
    """A write in place failed after it had changed bytes of the file's HDF5 data."""


@dataclass(frozen=True)
class _Pages:
    """What a file on disk holds, to compare a new image with: a digest of each page of its
    HDF5 data, where that data ends (`end`), and the file's length (`size`, with the slack)."""

    digests: tuple[bytes, ...]
    end: int
    size: int

    PAGE = 65536

    @classmethod
    def of(cls, data, size: int | None = None) -> "_Pages":
        view = memoryview(data)
        digests = tuple(hashlib.blake2b(view[i : i + cls.PAGE], digest_size=16).digest() for i in range(0, len(view), cls.PAGE))
        return cls(digests, len(view), len(view) if size is None else size)


def _write_in_place(path: Path, image: bytes, disk: _Pages, *, slack: bool = True) -> _Pages:
    """Change the run file at `path`, which holds `disk`, into `image` by writing only the
    pages that differ; what it then holds.

    The bytes at or past the old data's end go first, with the slack after the new end
    (unless `slack` is false: no commit will follow), and are flushed: until then the old file is intact, and if that part fails (a full
    disk) the file is cut back to its old length. Only then are the changed pages within
    the old data overwritten, which needs no new disk space (on file systems that overwrite
    in place, unlike btrfs or ZFS); a failure there raises `PartlyWrittenError`."""
    view = memoryview(image)
    page = _Pages.PAGE
    new = _Pages.of(view, max(disk.size, len(view) + (SLACK_BYTES if slack else 0)))
    changed = [i * page for i, d in enumerate(new.digests) if i >= len(disk.digests) or d != disk.digests[i]]
    within = [(a, min(a + page, len(view), disk.end)) for a in changed if a < disk.end]
    fd = os.open(path, os.O_WRONLY)
    try:
        try:
            if len(view) > disk.end:
                _write_all(fd, view[disk.end :], disk.end)
            if new.size > disk.size:
                _write_all(fd, bytes(new.size - max(disk.size, len(view))), max(disk.size, len(view)))
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, disk.size)  # give back what the growth took: the old file is intact
            raise
        try:
            for a, b in within:
                _write_all(fd, view[a:b], a)
            os.fsync(fd)
        except OSError as exc:
            raise PartlyWrittenError(exc.errno, exc.strerror, str(path)) from None
    finally:
        os.close(fd)
    return new


def _mark_ended(path: Path, status: str, reason: str) -> bool:
    """Record in the committed run file at `path` that the run ended with `status` and
    `reason`: through a new copy renamed over it when the disk has room, else in place.
    False when neither can be done (no file, or no room even for that)."""
    try:
        old = path.read_bytes()
        f = _memory_file(old)
    except (OSError, ValueError):
        return False
    try:
        disk = _Pages.of(memoryview(old)[: len(f.id.get_file_image())], len(old))
        f.attrs["status"] = status
        f.attrs["status_reason"] = reason
        f.attrs["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        f.flush()
        new = f.id.get_file_image()
    finally:
        f.close()
    for write in (lambda: _write_atomically(path, new), lambda: _write_in_place(path, new, disk, slack=False)):
        try:
            write()
            return True
        except OSError:
            pass
    return False


def _why(exc: OSError) -> tuple[str, str]:
    """What a failed write means (`disk full`, or `write failed`), and the system's words."""
    what = "disk full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else "write failed"
    return what, exc.strerror or str(exc)


# --- reading a checkpoint back ----------------------------------------------------------


def _writing(status: str, pid: int, host: str) -> bool:
    """Whether another process, alive on this machine, writes the run file now."""
    return status == "running" and pid != os.getpid() and bool(process_alive(pid, host))


class NoCheckpointError(ValueError):
    """A run file that holds no checkpoint: its run stopped (or has not yet come) before the
    first one. `status` and `reason` are the file's; `writer_alive`: whether its writer runs."""

    def __init__(self, path: Path, status: str, reason: str, writer_pid: int, writer_host: str):
        super().__init__(f"{path} has no checkpoint to resume from")
        self.status, self.reason = status, reason
        self.writer_pid, self.writer_host = writer_pid, writer_host

    @property
    def writer_alive(self) -> bool:
        return _writing(self.status, self.writer_pid, self.writer_host)


class Checkpoint:
    """A run's saved state, read from its file. Raises `NoCheckpointError` if it holds none."""

    def __init__(self, path: Path):
        with h5py.File(path, "r", locking=False) as f:
            self.status = str(f.attrs["status"])
            self.writer_pid = int(f.attrs.get("writer_pid", -1))
            self.writer_host = str(f.attrs.get("writer_host", ""))
            if "checkpoint" not in f:
                reason = str(f.attrs.get("status_reason", ""))
                raise NoCheckpointError(path, self.status, reason, self.writer_pid, self.writer_host)
            group = f["checkpoint"]
            self.step = int(group.attrs["step"])
            self.elapsed = float(group.attrs.get("elapsed_s", 0.0))
            self.positions: dict[str, int] = json.loads(group.attrs["positions"])
            self.snapshots: set[str] = set(json.loads(group.attrs["snapshots"]))
            self.texts: dict[str, str] = json.loads(group.attrs["texts"])
            self.arrays: dict[str, np.ndarray] = {name: group[name][()] for name in _walk_datasets(group)}
            spec = f["spec"]
            self.spec_text = spec["verbatim"][()].decode()
            self.overrides = tuple(o.decode() for o in spec["overrides"][()])
            self.spec_path = spec.attrs.get("path")
            self.base_dir = spec.attrs.get("base_dir")

    @property
    def writer_alive(self) -> bool:
        """Whether another live process writes the file now (then it must not be resumed)."""
        return _writing(self.status, self.writer_pid, self.writer_host)


def read_checkpoint(path: str | Path) -> Checkpoint:
    return Checkpoint(Path(path))
