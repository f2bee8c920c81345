"""Registry of the long-lived helper processes that ``processing_core`` starts.

The forkserver and the resource tracker outlive any single user action by design.
Each registers its pid here, so that leak checks (the test suite's, or a user's) can
tell them apart from children that were really left behind.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_pids: set[int] = set()


def register_helper(pid: int) -> None:
    """Record ``pid`` as a long-lived helper process of this process."""
    with _lock:
        _pids.add(pid)


def unregister_helper(pid: int) -> None:
    """Forget ``pid`` once that helper has stopped."""
    with _lock:
        _pids.discard(pid)


def helper_pids() -> frozenset[int]:
    """Return the pids of the helper processes this process has started and not stopped."""
    with _lock:
        return frozenset(_pids)
