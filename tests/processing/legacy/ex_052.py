"""A program written against processing 0.52's names (camelCase), with print made a function."""

import sys

import processing
from processing import Pool, Process, Queue, Value, activeChildren, cpuCount, currentProcess
from processing.connection import Client, Listener
from processing.queue import Empty


def worker(q, n):
    q.put((currentProcess().getName(), n * n))


def serve(reply):
    listener = Listener(("127.0.0.1", 0))
    reply.send(listener.address)
    conn = listener.accept()
    conn.sendBytes(conn.recvBytes().upper())
    conn.close()
    listener.close()


def square(x):
    return x * x


if __name__ == "__main__":
    processing.set_start_method(sys.argv[1])
    print(currentProcess().getName(), cpuCount() >= 1, activeChildren())
    q = Queue()
    p = Process(target=worker, args=[q, 7])
    p.setName("Worker")
    p.setDaemon(True)
    print(repr(p), p.isDaemon(), p.getExitCode())
    p.start()
    print(q.get(timeout=60), p.getPid() > 0)
    p.join()
    print(repr(p), p.isAlive(), p.getExitCode())
    try:
        q.getNoWait()
    except Empty:
        print("empty")
    q.putNoWait("one")
    print(q.get(timeout=60))

    pool = Pool(2)
    print(pool.applyAsync(square, (4,)).get(timeout=60))
    print(pool.mapAsync(square, range(5)).get(timeout=60))
    print(sorted(pool.imapUnordered(square, range(5))))
    pool.close()
    pool.join()

    c = processing.Condition()
    c.acquire()
    c.notifyAll()
    c.release()
    e = processing.Event()
    e.set()
    print(e.isSet(), processing.Semaphore(3).getValue())
    v = Value("i", 5)
    print(v.getobj().value, v.getlock() is not None)

    reply, reply_end = processing.Pipe()
    server = Process(target=serve, args=(reply_end,))
    server.start()
    conn = Client(reply.recv())
    conn.sendBytes(b"shout")
    print(conn.recvBytes())
    conn.close()
    server.join()

    manager = processing.Manager()
    ns = manager.Namespace()
    ns.x = 10
    print(ns, manager.list([1, 2])._getValue(), manager.dict(a=1)._callMethod("get", ("a",)))
    manager.shutdown()
    print("done", activeChildren())
