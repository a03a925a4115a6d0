"""CPU sizing, in one place: torch and ONNX Runtime both size their thread pools from it.

torch sizes its pool from the host's cores, which in a container limited to a few CPUs
oversubscribes them and makes every matmul slower.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

_threads_lock = threading.Lock()
_threads_set = False


def available_cpus() -> int:
    """CPUs this process may really use: its affinity mask, capped by a cgroup CPU quota.

    torch sizes its thread pool from the host's cores, which in a container limited to a few
    CPUs oversubscribes them and makes every matmul slower.
    """
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def configure_cpu_threads() -> int:
    """Size torch's intra-op pool to the usable CPUs, once, unless OMP_NUM_THREADS decides."""
    global _threads_set
    import torch

    with _threads_lock:
        if not _threads_set and not os.environ.get("OMP_NUM_THREADS"):
            torch.set_num_threads(available_cpus())
        _threads_set = True
    return torch.get_num_threads()
