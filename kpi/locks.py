"""Locks between kpi processes that work on every operating system kpi runs on.

`filelock` takes an exclusive lock on a lock file: `flock` on Linux and macOS, `msvcrt` on
Windows, a marker file where neither exists. The operating system releases a lock however its
process ends, so a killed load never leaves a dataset locked.

A lock file planted as a link is refused before it is opened, on every system; where the system
has `O_NOFOLLOW`, filelock also opens it without following a link, so a link swapped in between
the check and the open is refused too. Either way a lock never writes through a link.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kpi.errors import DataError, refusal


def _refuse_link(path: Path, what: str) -> None:
    if path.is_symlink():
        raise DataError(f"{path}: cannot open the {what} (it is a link)",
                        hint="the lock file must be a plain file; remove it if it is a link")


def _lock(path: Path):
    from filelock import FileLock

    # A new lock object each time: two locks on one path in one process exclude each other,
    # as they do between processes.
    return FileLock(str(path), is_singleton=False, thread_local=False)


@contextmanager
def locked(path: Path, what: str = "lock", hint: str | None = None) -> Iterator[None]:
    """Hold the exclusive lock on the lock file `path` (created when missing) for the block;
    wait for it while another process holds it. `hint`, when given, is what to do when the
    lock file cannot be made (else the refusal's own)."""
    _refuse_link(path, what)
    lock = _lock(path)
    try:
        lock.acquire()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DataError(f"{path}: cannot open the {what} ({exc.strerror or exc})",
                            hint="the lock file must be a plain file; remove it if it is a "
                                 "link") from None
        error = refusal(exc, path)
        if hint is not None:
            error.hint = hint
        raise error from None
    try:
        yield
    finally:
        lock.release()


@contextmanager
def attempt(path: Path) -> Iterator[bool]:
    """Try the lock on `path` without waiting: the block gets True when it holds the lock,
    False when another process holds it (or it cannot be taken at all)."""
    from filelock import Timeout

    if path.is_symlink():
        yield False
        return
    lock = _lock(path)
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        yield False
        return
    try:
        yield True
    finally:
        lock.release()


@contextmanager
def folder_locked(folder: Path) -> Iterator[None]:
    """Hold a lock named after `folder` (its resolved path), kept in kpi's cache folder so the
    user's folder gets no lock file of kpi's. A lock file the cache folder cannot hold (a
    read-only home folder whose cache folder is already there) names KPI_CACHE_DIR as the way
    out, as a cache folder that cannot be made does: the folder is kpi's choice, not the
    user's."""
    from kpi.catalogue import CACHE_HINT, make_cache_dir

    key = hashlib.sha256(str(folder.resolve()).encode("utf-8")).hexdigest()[:32]
    locks = make_cache_dir("locks")
    with locked(locks / f"{key}.lock", "folder lock", hint=CACHE_HINT):
        yield
