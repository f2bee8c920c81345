"""A program for multiprocessing.dummy: Process threads, a queue, a pool, the manager, connections."""

import multiprocessing.dummy as mp
from multiprocessing.dummy.connection import Client, Listener


def work(tasks, results, lock, totals):
    for n in iter(tasks.get, None):
        with lock:
            totals.append(n)
        results.put(n * n)


def echo(listener):
    with listener.accept() as conn:
        conn.send(("echo", conn.recv()))


if __name__ == "__main__":
    manager = mp.Manager()
    print(manager is mp, type(manager.list()).__name__, type(manager.dict()).__name__)
    tasks, results, lock, totals = mp.Queue(), mp.JoinableQueue(), mp.Lock(), manager.list()
    workers = [mp.Process(target=work, args=(tasks, results, lock, totals)) for _ in range(3)]
    print([w.exitcode for w in workers], [w.is_alive() for w in workers])
    for w in workers:
        w.start()
    for n in range(10):
        tasks.put(n)
    for _ in workers:
        tasks.put(None)
    got = sorted(results.get() for _ in range(10))
    for w in workers:
        w.join()
    print(got, sorted(totals), [w.exitcode for w in workers], mp.active_children())
    with mp.Pool(3) as pool:
        print(pool.map(abs, range(-3, 3)), pool.apply_async(pow, (2, 8)).get(10))
        print(sorted(pool.imap_unordered(abs, [-1, -2])))
    a, b = mp.Pipe()
    a.send({"x": 1})
    print(b.poll(1), b.recv())
    listener = Listener()
    t = mp.Process(target=echo, args=(listener,))
    t.start()
    with Client(listener.address) as conn:
        conn.send("hi")
        print(conn.recv())
    t.join()
    listener.close()
    e, c, bar = mp.Event(), mp.Condition(), mp.Barrier(1)
    e.set()
    with c:
        print(e.is_set(), c.wait(0.01), bar.wait(), mp.current_process().name)
