"""A record: what the results ledger keeps of one run, made from its run file by growsim.

A record is a small JSON file (kilobytes): the run's identity (its key, a hash of the
resolved spec without the fields that only say how it was executed), the code that wrote
it, its protocol, its final metrics and its logged series (subsampled past
``MAX_SERIES_POINTS`` rows). Its ``digest`` covers everything else in it, so a record
typed or edited by hand does not load.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path, PureWindowsPath
from typing import Any

import h5py
import numpy as np

FORMAT = "growsim-record"
RECORD_VERSION = 1
MAX_SERIES_POINTS = 200

# Spec fields that say how or where a run executed, not what it computed: two runs that
# differ only in these are the same run (the same draws; bit for bit on a CPU at the same number
# of threads, which may round sums otherwise).
EXECUTION_FIELDS = (
    ("train", "device"),
    ("train", "threads"),
    ("train", "stack"),
    ("log", "path"),
    ("log", "progress"),
    ("log", "snapshots"),
    ("log", "snapshot_every"),
    ("log", "compression"),
    ("log", "checkpoint_every"),
    ("log", "atomic_writes"),
)

# Series kept in a record: per-row scalars of /series (per-task and per-neuron arrays are
# summarised by their final row instead).
_SKIPPED_SERIES = {"communities"}
# Arrays of /series whose last row a record keeps (in ``final_arrays``) when a row holds at
# most this many values: per-task, per-neuron and per-bin results (a functional report's
# labels, the shuffles' quantile function, strength against distance), not the 10,000
# shuffles themselves nor a task-variance matrix.
MAX_ARRAY_VALUES = 1024


class RecordError(ValueError):
    """A run that cannot be recorded, or a record that is not what growsim wrote."""


class MissingAnalysis(RecordError):
    """A run file without an analysis that the ledger's figure needs; the message names the
    `growsim analyze` command that stores it, ``command`` gives it with RUN for the file."""

    def __init__(self, message: str, command: str):
        super().__init__(message)
        self.command = command


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def run_key(resolved_spec: dict[str, Any]) -> str:
    """The run's identity: sha256 of its resolved spec (seed included) without the
    execution-only fields. The same key twice in a ledger is the same run counted twice.

    The spec is first resolved again by this version of growsim, so that a field added
    since the run (at a default that keeps what the run did) does not make the same run
    look like another; a spec this version cannot read is hashed as it was written."""
    return _key(_resolved_now(json.loads(json.dumps(resolved_spec))))


# Top-level spec fields added after records were first written, with the value that does
# what runs did before them: left out of the key at that value, so that a record written
# before the field existed keeps its key (every field a spec resolves to is in the key).
NEUTRAL_FIELDS = (("init_from", None),)


def _key(spec: dict[str, Any]) -> str:
    for section, field in EXECUTION_FIELDS:
        if isinstance(spec.get(section), dict):
            spec[section].pop(field, None)
    for field, neutral in NEUTRAL_FIELDS:
        if field in spec and spec[field] == neutral:
            del spec[field]
    return sha256_text(canonical_json(spec))


def _resolved_now(spec: dict[str, Any]) -> dict[str, Any]:
    from pydantic import ValidationError

    from growsim.spec.models import Spec

    try:
        return Spec.model_validate(spec).model_dump(mode="json")
    except (ValidationError, TypeError, ValueError):
        return spec


def record_key(record: dict[str, Any]) -> str:
    """The identity of a recorded run, from its spec (see run_key), whichever version wrote it."""
    return run_key(record["spec"])


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _number(value: Any) -> float | int | None:
    """A JSON number; None for NaN and infinities (JSON has none)."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    value = float(value)
    return value if math.isfinite(value) else None


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def subsample_rows(n: int, limit: int = MAX_SERIES_POINTS) -> np.ndarray:
    """Row indices kept of ``n``: all when ``n <= limit``, else ``limit`` evenly spaced ones
    with the first and the last (the same rows for every run of the same length)."""
    if n <= limit:
        return np.arange(n)
    return np.unique(np.round(np.linspace(0, n - 1, limit)).astype(np.int64))


def _final_arrays(f: h5py.File) -> dict[str, Any]:
    """The last row of every small array of /series, as nested lists (None for NaN).

    A functional report's arrays are stored only at the steps it was taken: their last
    row is the last report (the run's last step)."""
    out: dict[str, Any] = {}
    group = f.get("series")
    if group is None:
        return out
    for name in sorted(group):
        ds = group[name]
        if not isinstance(ds, h5py.Dataset) or ds.ndim < 2 or ds.shape[0] == 0:
            continue
        if int(np.prod(ds.shape[1:])) > MAX_ARRAY_VALUES:
            continue
        row = np.asarray(ds[-1])
        if row.dtype == np.float32:  # the shortest decimal that reads back as the stored float32
            row = np.array([float(str(v)) for v in row.ravel()], dtype=np.float64).reshape(row.shape)
        out[name] = np.array([_number(v) for v in row.ravel()], dtype=object).reshape(row.shape).tolist()
    return out


def make_record(path: str | Path, protocol: str) -> dict[str, Any]:
    """The record of the completed run file ``path``, counted under ``protocol``."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise RecordError(f"{path}: not a readable HDF5 file ({exc})") from None
    with f:
        attrs = dict(f.attrs)
        if _text(attrs.get("format", "")) != "growsim-run":
            raise RecordError(f"{path}: not a growsim run file")
        status = _text(attrs.get("status", ""))
        if status != "completed":
            reason = _text(attrs.get("status_reason", ""))
            raise RecordError(f"{path}: the run is {status}{f' ({reason})' if reason else ''}; only completed runs count")
        try:
            spec = json.loads(_text(f["spec/resolved_json"][()]))
        except (KeyError, ValueError) as exc:  # ValueError: JSONDecodeError
            raise RecordError(f"{path}: no readable resolved spec in /spec/resolved_json ({exc})") from None
        tasks = [_text(t) for t in f["tasks/names"][()]] if "tasks/names" in f else []
        overrides = [_text(o) for o in f["spec/overrides"][()]] if "spec/overrides" in f else []
        final_arrays = _final_arrays(f)
    # The reader aligns every series to its steps (columns that miss rows get NaN).
    from growsim.reader import open_run

    table = open_run(path).series()
    rows = subsample_rows(len(table))
    series: dict[str, list] = {}
    final: dict[str, Any] = {}
    for name in table.columns:
        if "/" in name or name in _SKIPPED_SERIES:
            continue
        column = table[name].to_numpy()
        series[name] = [_number(v) for v in column[rows]]
        final[name] = _number(column[-1]) if len(column) else None
    per_task = {t: table[f"perf/{t}"].to_numpy() for t in tasks if f"perf/{t}" in table.columns}
    if per_task and len(table):
        final["perf_by_task"] = {t: _number(v[-1]) for t, v in per_task.items()}
    if final_arrays:
        final["arrays"] = final_arrays
    record = {
        "format": FORMAT,
        "record_version": RECORD_VERSION,
        "protocol": protocol,
        "key": run_key(spec),
        "run": {
            "file": path.name,
            "file_sha256": file_sha256(path),
            "name": _text(attrs.get("name", path.stem)),
            "seed": _number(attrs.get("seed", -1)),
            "network_kind": _text(attrs.get("network_kind", "leaky_rnn")),
            "n_neurons": _number(attrs.get("n_neurons", -1)),
            "batches": _number(attrs.get("batches", -1)),
            "last_step": _number(attrs.get("last_step", -1)),
            "created": _text(attrs.get("created", "")),
            "finished": _text(attrs.get("finished", "")),
            "duration_s": _number(attrs.get("duration_s", float("nan"))),
            "host": _text(attrs.get("writer_host", "")),
            "overrides": overrides,
        },
        "versions": _versions(attrs),
        "spec": spec,
        "tasks": tasks,
        "final": final,
        "series": series,
    }
    record["digest"] = record_digest(record)
    return record


def _versions(attrs) -> dict[str, str]:
    """The run's ``version_*`` attributes. A warm start's source (``init_from``) by its file
    name only: the path it had on the machine that ran it means nothing elsewhere, and the
    file itself is named by ``init_from_sha256`` beside it."""
    out = {k[len("version_"):]: _text(v) for k, v in sorted(attrs.items()) if k.startswith("version_")}
    if out.get("init_from"):
        out["init_from"] = PureWindowsPath(out["init_from"]).name  # either separator
    return out


def with_analyses(record: dict[str, Any], analyses: dict[str, Any]) -> dict[str, Any]:
    """``record`` with an ``analyses`` section (what a figure needs of the run's stored
    /analysis groups, as its builder extracted it; NaN as None) and its digest made again."""
    out = {k: v for k, v in record.items() if k != "digest"}
    out["analyses"] = json.loads(json.dumps(_json_numbers(analyses), allow_nan=False))
    out["digest"] = record_digest(out)
    return out


def _json_numbers(value: Any) -> Any:
    """Nested dicts, lists and arrays with numpy scalars as JSON numbers, NaN as None."""
    if isinstance(value, dict):
        return {str(k): _json_numbers(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return _json_numbers(value.tolist())
    if isinstance(value, (list, tuple)):
        return [_json_numbers(v) for v in value]
    if isinstance(value, (str, type(None))):
        return value
    return _number(value)


def record_digest(record: dict[str, Any]) -> str:
    return sha256_text(canonical_json({k: v for k, v in record.items() if k != "digest"}))


def check_record(record: Any, where: str) -> dict[str, Any]:
    """``record`` as loaded from ``where``, if growsim wrote it and nobody changed it since."""
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise RecordError(f"{where}: not a growsim record")
    if record.get("record_version") != RECORD_VERSION:
        raise RecordError(f"{where}: record version {record.get('record_version')!r}; this growsim reads {RECORD_VERSION}")
    if record.get("digest") != record_digest(record):
        raise RecordError(f"{where}: the record's contents do not match its digest: it was changed after growsim wrote it")
    spec = record.get("spec", {})
    # The key as the version that wrote the record computed it: from the spec as resolved then.
    if record.get("key") not in (run_key(spec), _key(json.loads(json.dumps(spec)) if isinstance(spec, dict) else {})):
        raise RecordError(f"{where}: the record's key does not match its spec")
    return record


def record_file_name(record: dict[str, Any]) -> str:
    run = record["run"]
    return f"{run['name']}__seed={run['seed']}__{record['key'][:12]}.json"
