"""Write a growsim run's series, final weights and run attributes to a MATLAB .mat file, for
Octave (whose `load` reads .mat files, while its h5read needs the hdf5oct package) or MATLAB.

    python examples/to_mat.py runs/add_conn_distance.h5 [out.mat]
    octave --eval "r = load('runs/add_conn_distance.mat'); plot(r.series_step, r.series_modularity_q)"

Names: `series_<name>`, `final_<name>`, `attr_<name>`, and `tasks` (the column order of
per-task series). The default output is the run file with the suffix .mat.
"""

import sys
from pathlib import Path

import h5py
import numpy as np
from scipy.io import savemat


def _name(group: str, key: str) -> str:
    return f"{group}_{key}".replace("/", "_").replace(" ", "_")


path = Path(sys.argv[1])
out = Path(sys.argv[2]) if len(sys.argv) > 2 else path.with_suffix(".mat")
data: dict[str, object] = {}
with h5py.File(path, "r", locking=False) as f:
    for group in ("series", "final"):
        for key, dataset in f[group].items():
            if isinstance(dataset, h5py.Dataset) and dataset.dtype.kind in "biuf":
                data[_name(group, key)] = dataset[()]
    for key, value in f.attrs.items():
        if isinstance(value, (bytes, str)):
            data[_name("attr", key)] = value.decode() if isinstance(value, bytes) else value
        elif np.ndim(value) == 0 and np.asarray(value).dtype.kind in "biuf":
            data[_name("attr", key)] = value
    data["tasks"] = np.array(f["tasks/names"].asstr()[()], dtype=object)
savemat(out, data, do_compression=True, long_field_names=True)
print(f"wrote {out}: {len(data)} variables, {sum(k.startswith('series_') for k in data)} series")
