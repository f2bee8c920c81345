"""The four examples of the ``processing`` 0.52 README, run live by ``python -m processing``.

Each example is shown as the README shows it (with ``print`` a function) and run for
real: the script example in this process, the interactive ones line by line as an
interactive session would run them, echoing each line and printing what it prints.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

from processing import Process, Queue

HELLO_SOURCE = """\
from processing import Process, Queue

def f(q):
    q.put('hello world')

if __name__ == '__main__':
    q = Queue()
    p = Process(target=f, args=[q])
    p.start()
    print(q.get())
    p.join()"""

SESSIONS = (
    (
        "Synchronization primitives like locks, semaphores and conditions",
        [
            "from processing import Condition",
            "c = Condition()",
            "print(c)",
            "c.acquire()",
            "print(c)",
            "c.release()",
        ],
    ),
    (
        "A manager to share objects in a server process",
        [
            "from processing import Manager",
            "manager = Manager()",
            "l = manager.list(range(10))",
            "l.reverse()",
            "print(l)",
            "print(repr(l))",
            "manager.shutdown()",
        ],
    ),
    (
        "Tasks offloaded to a pool of worker processes",
        [
            "from processing import Pool",
            "def f(x): return x*x\n",
            "p = Pool(4)",
            "result = p.mapAsync(f, range(10))",
            "print(result.get(timeout=1))",
            "p.close(); p.join()",
        ],
    ),
)


def hello(q: Any) -> None:
    """The hello-world child (the README's ``f``)."""
    q.put("hello world")


def f(x: int) -> int:
    """The pool session's ``f``, as spawned pool workers find it when they import this module."""
    return x * x


def run_hello() -> list[str]:
    """Run the ``Process``/``Queue`` hello world; return the lines to show."""
    q = Queue()
    p = Process(target=hello, args=[q])
    p.start()
    got = q.get(timeout=60)
    p.join()
    return [*HELLO_SOURCE.splitlines(), "", f"output: {got}", f"exit code: {p.exitcode}"]


def run_session(lines: list[str]) -> list[str]:
    """Run ``lines`` as an interactive session would, in this module's namespace; return the transcript."""
    transcript = []
    namespace = globals()
    for line in lines:
        first, *rest = line.rstrip("\n").splitlines() or [""]
        transcript.append(f">>> {first}")
        transcript.extend(f"... {more}" for more in rest)
        if line.endswith("\n"):
            transcript.append("...")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(line, "<tour>", "single"), namespace)
        transcript.extend(out.getvalue().splitlines())
    return transcript


def run_examples() -> list[str]:
    """Run the four README examples; return everything to print."""
    lines = ["The Process class follows the API of threading.Thread:", ""]
    lines += [f"    {text}" for text in run_hello()]
    for title, session in SESSIONS:
        lines += ["", f"{title}:", ""]
        lines += [f"    {text}" for text in run_session(session)]
    return lines
