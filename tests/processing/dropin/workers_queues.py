"""Hand-written workers over a task queue and a result queue, STOP sentinels, a JoinableQueue."""

import multiprocessing
import sys


def worker(tasks, results):
    for func, args in iter(tasks.get, "STOP"):
        results.put((multiprocessing.current_process().name.startswith("Process-"), func.__name__, args, func(*args)))


def consumer(jobs, done):
    while True:
        item = jobs.get()
        if item is None:
            jobs.task_done()
            break
        done.put(item * 10)
        jobs.task_done()


def mul(a, b):
    return a * b


def plus(a, b):
    return a + b


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    tasks, results = multiprocessing.Queue(), multiprocessing.Queue()
    for i in range(20):
        tasks.put((mul if i % 2 else plus, (i, 7)))
    workers = [multiprocessing.Process(target=worker, args=(tasks, results)) for _ in range(4)]
    for w in workers:
        w.start()
    got = sorted(results.get(timeout=60) for _ in range(20))
    for _ in workers:
        tasks.put("STOP")
    for w in workers:
        w.join(60)
    print(got)
    print([w.exitcode for w in workers])

    jobs, done = multiprocessing.JoinableQueue(), multiprocessing.SimpleQueue()
    c = multiprocessing.Process(target=consumer, args=(jobs, done), daemon=True)
    c.start()
    for i in range(5):
        jobs.put(i)
    jobs.put(None)
    jobs.join()
    print(sorted(done.get() for _ in range(5)), done.empty())
    c.join(60)
    print(c.exitcode, c.is_alive())
