"""A manager dict, list and Namespace shared by children, guarded by a manager Lock."""

import multiprocessing
import sys


def fill(shared, log, ns, lock, n):
    with lock:
        shared[n] = n * n
        log.append(n)
        ns.total = ns.total + n


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    with multiprocessing.Manager() as manager:
        shared, log, ns, lock = manager.dict(), manager.list(), manager.Namespace(), manager.Lock()
        ns.total = 0
        children = [multiprocessing.Process(target=fill, args=(shared, log, ns, lock, n)) for n in range(6)]
        for child in children:
            child.start()
        for child in children:
            child.join(60)
        print(sorted(shared.items()), sorted(log), ns.total)
        print(len(shared), 3 in shared, shared.get(5), shared.get(99, "missing"))
        print(str(manager.list([3, 1, 2])), manager.dict(a=1).copy())
        v = manager.Value("i", 5)
        v.value += 1
        q = manager.Queue()
        q.put("via manager queue")
        print(v.value, q.get(), [c.exitcode for c in children])
