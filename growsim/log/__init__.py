"""Logging: a small protocol, the HDF5 writer (growsim.log.hdf5), the progress bar (growsim.log.progress).

The engine only knows the protocol; it never imports h5py or rich.
"""

from growsim.log.base import Logger, Loggers, RunInfo, process_alive

__all__ = ["Logger", "Loggers", "RunInfo", "process_alive"]
