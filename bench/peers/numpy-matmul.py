"""OpenBLAS through numpy: median time of C = A @ B for float32 n x n (n from argv, default 1024).

Prints one JSON line: {"n", "median_ms", "runs", "blas"}; exits 2 with a message when numpy is missing.
Run with Debian's /usr/bin/python3 (python3-numpy, libopenblas0-pthread).
"""
import json
import sys
import time

try:
    import numpy as np
except ImportError:
    print("numpy is not installed (apt-get install python3-numpy libopenblas0-pthread)", file=sys.stderr)
    sys.exit(2)


def blas_name() -> str:
    try:
        from numpy.__config__ import CONFIG  # numpy >= 1.25

        return str(CONFIG["Build Dependencies"]["blas"]["name"])
    except Exception:
        pass
    # Debian's numpy links the generic libblas.so.3, which the alternatives system points at a BLAS.
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line}
        return ", ".join(sorted(lib.rsplit("/", 2)[-2] + "/" + lib.rsplit("/", 1)[-1] for lib in libs))
    except OSError:
        return "unknown"


n = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
runs = int(sys.argv[2]) if len(sys.argv) > 2 else 15
rng = np.random.default_rng(0)
a = rng.standard_normal((n, n), dtype=np.float32)
b = rng.standard_normal((n, n), dtype=np.float32)
a @ b  # warm-up (thread pool start, page faults of the result)
times = []
for _ in range(runs):
    t0 = time.perf_counter()
    a @ b
    times.append((time.perf_counter() - t0) * 1000)
times.sort()
print(json.dumps({"n": n, "median_ms": times[len(times) // 2], "runs": runs, "blas": blas_name()}))
