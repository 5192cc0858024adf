"""Runs a timed step `repeats` times and reports what a user can expect: median, minimum, maximum."""

import statistics
import time


def repeated(step, repeats: int, clock=time.perf_counter) -> tuple[object, dict]:
    """Calls `step()` `repeats` times (at least once); returns its last result and the seconds of the
    calls as {"seconds": median, "min_seconds", "max_seconds", "repeats"}, rounded to 0.01 s."""
    times, result = [], None
    for _ in range(max(int(repeats), 1)):
        start = clock()
        result = step()
        times.append(clock() - start)
    return result, seconds_summary(times)


def seconds_summary(times: list[float]) -> dict:
    return {
        "seconds": round(statistics.median(times), 2),
        "min_seconds": round(min(times), 2),
        "max_seconds": round(max(times), 2),
        "repeats": len(times),
    }
