"""Process names, exit codes, daemons, terminate, current/parent process, Condition."""

import multiprocessing
import os
import sys
import time


def child_info(conn):
    me = multiprocessing.current_process()
    parent = multiprocessing.parent_process()
    conn.send((me.name, me.daemon, parent.name if parent else None, parent.pid == os.getppid()))


def exit_with(code):
    sys.exit(code)


def raise_error():
    raise RuntimeError("boom")


def sleep_forever():
    time.sleep(60)


def notifier(cond, flag):
    with cond:
        flag.value = 1
        cond.notify_all()


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    print(multiprocessing.current_process().name, multiprocessing.parent_process())
    a, b = multiprocessing.Pipe()
    p = multiprocessing.Process(target=child_info, args=(b,), name="worker", daemon=True)
    print(p.name, p.daemon, p.pid, p.exitcode, p.is_alive())
    p.start()
    print(a.recv())
    p.join(60)
    print(p.exitcode, p.is_alive())
    codes = []
    for target, args in [(exit_with, (3,)), (exit_with, (None,)), (exit_with, ("message",)), (raise_error, ())]:
        q = multiprocessing.Process(target=target, args=args)
        q.start()
        q.join(60)
        codes.append(q.exitcode)
    print(codes)
    s = multiprocessing.Process(target=sleep_forever)
    s.start()
    s.terminate()
    s.join(60)
    print(s.exitcode, multiprocessing.active_children())
    cond, flag = multiprocessing.Condition(), multiprocessing.Value("i", 0)
    with cond:
        n = multiprocessing.Process(target=notifier, args=(cond, flag))
        n.start()
        print(cond.wait_for(lambda: flag.value == 1, 60))
    n.join(60)
    print(n.exitcode, multiprocessing.cpu_count() == os.cpu_count())
