"""Named random streams derived from the run's seed.

Every random draw in a run comes from one of these streams, so that the same spec and
seed give the same result, and adding draws to one stream (say, more noise) does not
shift another (the wiring). Each stream's key is a hash of its name alone, so a new
stream (task_selection, which draws the tasks of `task.tasks: {draw: K}`) leaves the
others, and every earlier run, as they were.
"""

from __future__ import annotations

import hashlib

import numpy as np

STREAMS = ("geometry", "init", "wiring", "task", "noise", "eval", "growth", "functional", "task_selection", "populations", "analyses")


def _key(name: str) -> int:
    if name not in STREAMS:
        raise ValueError(f"unknown random stream {name!r}; streams are {', '.join(STREAMS)}")
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "little")


def seed_sequence(seed: int, name: str) -> np.random.SeedSequence:
    return np.random.SeedSequence(entropy=seed, spawn_key=(_key(name),))


def numpy_stream(seed: int, name: str) -> np.random.Generator:
    """A numpy Generator for stream `name` of run `seed`."""
    return np.random.Generator(np.random.PCG64(seed_sequence(seed, name)))


def stream_seed(seed: int, name: str) -> int:
    """A 63-bit integer seed for stream `name`, for generators that take one (torch)."""
    return int(seed_sequence(seed, name).generate_state(2, np.uint64)[0] >> np.uint64(1))


def substream_seed(seed: int, index: int) -> int:
    """A 63-bit integer seed for part `index` of a stream already seeded with `seed`
    (the blocks of an evaluation's noise)."""
    return int(np.random.SeedSequence(entropy=seed, spawn_key=(index,)).generate_state(2, np.uint64)[0] >> np.uint64(1))
