"""Best-of-N timing shared by the benchmark scripts of this folder."""
from __future__ import annotations

import time
from collections.abc import Callable


def time_side_by_side(fns: dict[str, Callable[[int], object]], n: int,
                      repeat: int) -> dict[str, float]:
    """Seconds per call of each ``fn(i)``: the best of ``repeat`` calls per i, averaged over
    i < n. The functions are interleaved call by call, so that load from other processes hits
    them alike; the best call, as timeit advises, because slower ones measure interference
    (other processes, first touch of freshly allocated memory), not the code."""
    best = {name: [float('inf')] * n for name in fns}
    for _ in range(repeat):
        for i in range(n):
            for name, fn in fns.items():
                start = time.perf_counter()
                fn(i)
                best[name][i] = min(best[name][i], time.perf_counter() - start)
    return {name: sum(times) / n for name, times in best.items()}
