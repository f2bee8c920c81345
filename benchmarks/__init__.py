"""Side-by-side benchmarks of ``processing`` against the standard library and other libraries.

Run ``hatch run bench:run --quick`` (or ``python benchmarks/run.py --help``).  Not part of any
package: nothing here is installed, and no test asserts a time.
"""
