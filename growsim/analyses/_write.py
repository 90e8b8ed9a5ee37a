"""Writing an analysis into a run file's /analysis group (reading it back is the reader's)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import h5py
import numpy as np

from growsim import __version__
from growsim.analyses._data import AnalysisData, check_name
from growsim.reader import RunFileError

__all__ = ["write_analysis"]


def write_analysis(path: str | Path, name: str, result: AnalysisData) -> None:
    """Write ``result`` as /analysis/<name>, replacing that group only.

    Opens the file in append mode with HDF5's file locking, so a run whose writer still
    holds the file is refused. Every dataset gets ``units`` and ``description`` attributes.
    The training record (everything outside /analysis) is not touched.
    """
    check_name(name)
    try:
        f = h5py.File(path, "a")
    except OSError as exc:
        raise RunFileError(f"{path} cannot be opened for writing ({exc}); is the run still being written?") from None
    with f:
        root = f.require_group("analysis")
        root.attrs["description"] = "Results computed from the stored run by growsim analyze (docs/analysis.md)."
        if name in root:
            del root[name]  # re-running replaces this result only
        g = root.create_group(name)
        g.attrs["metric"] = result.metric
        g.attrs["description"] = result.description
        g.attrs["parameters"] = json.dumps(result.parameters, sort_keys=True)
        for key, value in {**result.parameters, **result.attrs}.items():
            if value is None:
                continue
            try:
                g.attrs[key] = value
            except (TypeError, ValueError):  # a nested parameter: the JSON of `parameters` holds it
                pass
        g.attrs["created"] = datetime.now(UTC).isoformat(timespec="seconds")
        g.attrs["version_growsim"] = __version__
        for key, (data, units, text) in result.datasets.items():
            data = np.asarray(data)
            if data.dtype == object:
                ds = g.create_dataset(key, data=data, dtype=h5py.string_dtype("utf-8"))
            else:
                opts = {"compression": "gzip", "shuffle": True} if data.size >= 1024 else {}
                ds = g.create_dataset(key, data=data, **opts)
            ds.attrs["units"] = units
            ds.attrs["description"] = text
