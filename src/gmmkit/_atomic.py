"""Atomic file writes (a leaf module: the standard library and the errors)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from ._errors import GMMError, OutputError


def check_writable(
    path: str | os.PathLike[str], error: type[GMMError] = OutputError
) -> Path:
    """``path`` as a Path, or ``error`` saying why a file cannot be written there.

    Called before expensive work (a fit, a drawing) so that a bad output path
    fails at once, naming the path the user gave.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise error(
            f"cannot write {path}: it is a folder. Give a file name, e.g. "
            f"{path / 'output'}."
        )
    if not folder.is_dir():
        raise error(
            f"cannot write {path}: the folder {folder} does not exist. Create it "
            "first or choose another path."
        )
    if not os.access(folder, os.W_OK):
        raise error(f"cannot write {path}: the folder {folder} is not writable.")
    return path


def atomic_write(
    path: str | os.PathLike[str],
    write: Callable[[str], object],
    error: type[GMMError] = OutputError,
) -> Path:
    """Call ``write(tmp_name)`` on a new file next to ``path``, then move it
    over ``path`` with :func:`os.replace`; on any failure the temporary file
    is removed and ``path`` is untouched.  The file gets the usual permissions
    (``0o666`` less the umask).  A path that cannot be written (a folder, a
    missing folder) raises ``error`` before anything is written; a failure
    while writing raises :class:`OutputError` (an ``OSError``); both name
    ``path``, never the temporary file."""
    path = check_writable(path, error)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}.") from None
    os.close(fd)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}.") from None
    except BaseException:
        _remove(tmp)
        raise
    return path


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except OSError:
        pass
