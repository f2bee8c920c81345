"""Shared Value and Array updated by children under their locks; RawArray; a Barrier and an Event."""

import ctypes
import multiprocessing
import sys


def work(counter, numbers, raw, barrier, ready, i):
    for _ in range(100):
        with counter.get_lock():
            counter.value += 1
    with numbers.get_lock():
        numbers[i] = numbers[i] * 2 + i
    raw[i] = float(i) / 2
    barrier.wait(60)
    ready.wait(60)


if __name__ == "__main__":
    multiprocessing.set_start_method(sys.argv[1])
    counter = multiprocessing.Value("i", 0)
    numbers = multiprocessing.Array("i", range(4))
    raw = multiprocessing.RawArray(ctypes.c_double, 4)
    barrier = multiprocessing.Barrier(5)
    ready = multiprocessing.Event()
    children = [
        multiprocessing.Process(target=work, args=(counter, numbers, raw, barrier, ready, i)) for i in range(4)
    ]
    for child in children:
        child.start()
    barrier.wait(60)
    ready.set()
    for child in children:
        child.join(60)
    print(counter.value, numbers[:], list(raw), [c.exitcode for c in children])
    text = multiprocessing.Array("c", b"hello")
    text.value = b"howdy"
    print(text.value, text.raw, len(numbers), multiprocessing.RawValue("h", 3).value)
    plain = multiprocessing.Value("d", 1.5, lock=False)
    print(type(plain).__name__, plain.value)
