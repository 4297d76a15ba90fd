"""Writing files so that a crash, a full disk or a second reader never sees half of one."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
from pathlib import Path
from typing import Any

from engine.errors import OutputError

NO_SPACE = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = False) -> None:
    """Write ``data`` to ``path`` under a temporary name, then rename it into place.

    With ``durable`` the bytes are fsynced before the rename (a power cut cannot leave an empty
    file). The temporary file is removed when anything fails; the OSError is re-raised.
    """
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with tmp.open("wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def atomic_write_json(path: str | Path, record: Any, durable: bool = False) -> None:
    """:func:`atomic_write_bytes` of ``record`` as indented UTF-8 JSON."""
    atomic_write_bytes(path, json.dumps(record, indent=2).encode("utf-8"), durable)


def output_error(path: str | Path, exc: OSError, then: str = "try again", place: str = "a writable folder") -> OutputError:
    """The one wording of a failed write: a full disk says so; anything else asks for another place.

    ``then`` finishes "free some space and ..." (e.g. "export again"); ``place`` what to choose instead."""
    if exc.errno in NO_SPACE:
        return OutputError(f"no space left on the device: the disk holding {path} is full; free some space and {then}")
    return OutputError(f"cannot write to {path} ({exc.strerror or type(exc).__name__}); choose {place}")


class FolderLock:
    """An exclusive lock on a folder, held through an open lock file.

    The operating system drops the lock when its holder exits, however it exits (SIGKILL
    included), so a stale lock file never blocks anyone. The file records who holds it.
    """

    NAME = ".lock"

    def __init__(self, folder: str | Path):
        self.path = Path(folder) / self.NAME
        self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def acquire(self, busy_message: str) -> None:
        """Take the lock or raise OutputError(``busy_message`` + who holds it); re-entrant per object."""
        if self._handle is not None:
            return
        try:
            handle = open(self.path, "a+", encoding="utf-8")
        except OSError as exc:
            raise output_error(self.path.parent, exc, place="a writable work folder") from None
        if not _try_lock(handle):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise OutputError(f"{busy_message} (held by {holder}); wait for it to finish or choose another work folder")
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()} on {socket.gethostname()}")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the file drops the lock
            self._handle = None


def _try_lock(handle) -> bool:
    try:
        if os.name == "nt":
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True
