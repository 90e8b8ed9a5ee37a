"""Whether a process still runs: the one fact both the HDF5 writer's users and the reader need.

Standard library only, so that any part of growsim may import it (the reader, a leaf,
included) without importing another part.
"""

from __future__ import annotations

import os
import socket

__all__ = ["process_alive"]


def process_alive(pid: int, host: str | None = None) -> bool | None:
    """Whether process `pid` (of machine `host`, default this one) still runs.

    None when it cannot be told: another machine, or no pid.
    """
    if not isinstance(pid, int) or pid <= 0 or (host is not None and host != socket.gethostname()):
        return None
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
