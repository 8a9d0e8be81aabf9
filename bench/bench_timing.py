"""One timed child process for the benchmark scripts (bench_copy.py,
bench_format.py): wall seconds and CPU seconds (user + system)."""
import os
import resource
import subprocess
import time


def timed(argv, out=None):
    """Runs argv (its stdout discarded) after removing the file out; (wall s, CPU s)."""
    if out and os.path.exists(out):
        os.remove(out)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return dt, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
