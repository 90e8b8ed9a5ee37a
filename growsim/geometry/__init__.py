"""Neuron positions and distance matrices.

A :class:`Geometry` holds, for the N neurons of a network, an ``(N, N)`` distance matrix
and, when known, ``(N, d)`` positions, region labels and the length unit. Build one from
a lattice (:func:`grid`), random points (:func:`random_points`), a user file
(:func:`from_coordinates_file`, :func:`from_distance_file`) or a built-in human atlas
(:func:`atlas`). Problems with the user's input raise :class:`GeometryError`, a
``ValueError``, with a message that names the file and what is wrong.

This module depends on numpy and scipy only.
"""

from ._atlas import ATLASES, atlas
from ._build import grid, random_points
from ._core import METRICS, Geometry, GeometryError, distance_matrix
from ._files import from_coordinates_file, from_distance_file, read_connectivity_file

__all__ = [
    "ATLASES",
    "METRICS",
    "Geometry",
    "GeometryError",
    "atlas",
    "distance_matrix",
    "from_coordinates_file",
    "from_distance_file",
    "grid",
    "random_points",
    "read_connectivity_file",
]
