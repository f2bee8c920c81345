"""The no-op target of the process start-up benchmarks: a module that imports nothing.

A spawned child imports the module of its target: this one costs it nothing, so the
figure is the library's start-up, not the benchmark's own imports.
"""


def noop() -> None:
    """Do nothing."""
