"""The ``processing`` 0.52 method names of ``Process``: aliases of the modern attributes."""

from __future__ import annotations

TYPE_CHECKING = False  # typing stays out of a spawned child's start-up

__all__ = ["LegacyProcessNames"]


class LegacyProcessNames:
    """Mixin of ``BaseProcess``: ``getName()`` for ``.name``, ``isAlive()`` for ``.is_alive()``..."""

    if TYPE_CHECKING:  # provided by BaseProcess
        name: str
        daemon: bool
        authkey: bytes

        @property
        def pid(self) -> int | None: ...
        @property
        def exitcode(self) -> int | None: ...
        def is_alive(self) -> bool: ...

    def getName(self) -> str:
        """The 0.52 spelling of reading ``name``."""
        return self.name

    def setName(self, name: str) -> None:
        """The 0.52 spelling of setting ``name``."""
        self.name = name

    def isDaemon(self) -> bool:
        """The 0.52 spelling of reading ``daemon``."""
        return self.daemon

    def setDaemon(self, daemonic: bool) -> None:
        """The 0.52 spelling of setting ``daemon`` (before ``start()``)."""
        self.daemon = daemonic

    def isAlive(self) -> bool:
        """The 0.52 spelling of ``is_alive()``."""
        return self.is_alive()

    def getPid(self) -> int | None:
        """The 0.52 spelling of ``pid``."""
        return self.pid

    def getExitCode(self) -> int | None:
        """The 0.52 spelling of ``exitcode``."""
        return self.exitcode

    def getAuthKey(self) -> bytes:
        """The 0.52 spelling of reading ``authkey`` (bytes now, a hex string in 0.52)."""
        return self.authkey

    def setAuthKey(self, authkey: bytes) -> None:
        """The 0.52 spelling of setting ``authkey``."""
        self.authkey = authkey
