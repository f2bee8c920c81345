"""A pool with callbacks, error callbacks, map/imap/starmap, and exceptions coming back."""

import multiprocessing
import sys


def square(x):
    return x * x


def divide(a, b):
    return a / b


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    seen, errors = [], []
    with multiprocessing.Pool(3) as pool:
        results = [pool.apply_async(square, (i,), callback=seen.append) for i in range(10)]
        print([r.get(timeout=60) for r in results])
        bad = pool.apply_async(divide, (1, 0), error_callback=lambda e: errors.append(type(e).__name__))
        try:
            bad.get(timeout=60)
        except ZeroDivisionError as exc:
            print("raised", type(exc).__name__, exc)
        print(bad.ready(), bad.successful())
        print(pool.map(square, range(12), chunksize=5))
        print(list(pool.imap(square, range(6))))
        print(sorted(pool.imap_unordered(square, range(6), chunksize=2)))
        print(pool.starmap(divide, [(1, 2), (9, 3)]))
        mapped = pool.map_async(square, range(4), callback=lambda r: seen.append(tuple(r)))
        print(mapped.get(timeout=60))
        try:
            pool.map(divide, [(1, 0)])
        except TypeError as exc:
            print("map raised", type(exc).__name__)
        pool.close()
        pool.join()
    print(sorted(seen, key=repr), errors)
    try:
        pool.apply_async(square, (1,))
    except ValueError as exc:
        print("closed pool:", type(exc).__name__)
