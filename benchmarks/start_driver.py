"""Time start + join of no-op children in a small main module: ``python start_driver.py LIB METHOD COUNT``.

A spawned (or forkserver) child re-runs its parent's main module (as ``__mp_main__``),
so a child started from the benchmark runner would import the whole runner and its
fifteen modules before doing nothing: the figure would measure those imports as much
as the library.  This script, a main module as small as a user's, does the starting
instead; the runner starts it once per sample and reads the elapsed seconds it prints.
LIB is ``processing``, ``multiprocessing`` or ``billiard``.
"""

import importlib
import sys
import time

import start_target


def main() -> None:
    library, method, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = importlib.import_module(library).get_context(method)
    # One start first: a forkserver's server starts now, outside the timed loop.
    child = context.Process(target=start_target.noop)
    child.start()
    child.join()
    start = time.perf_counter()
    for _ in range(count):
        child = context.Process(target=start_target.noop)
        child.start()
        child.join()
        if child.exitcode != 0:
            raise SystemExit(f"a no-op child exited with {child.exitcode}")
    print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main()
