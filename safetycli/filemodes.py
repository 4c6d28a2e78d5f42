"""Who may read the workspace's files: only the laptop account that runs safetycli.

The workspace holds the log (evidence), the PIN hashes (`credentials.db`) and the head mark. On a
shared laptop, files another account can read give away the PIN hashes for an offline guess (a
4-digit PIN falls in minutes), and files another account can write let it bend the record. So the
folder is 0700 and every file in it 0600, from the moment it is created.

An existing workspace with looser modes (made before this rule, or copied with `cp -r` under a
loose umask) is tightened when it is opened, not merely warned about: a warning printed on every
command on set is read once and then ignored, and tightening costs the owner nothing, since only
the owner's account ever uses these files. A folder someone else owns cannot be tightened; that
is left as it is (the owner's account must fix it), never an error that stops a sign-off.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from safetycli.errors import SafetyError

DIR_MODE = 0o700
FILE_MODE = 0o600
# Bits that let another account in: group or others, any of read, write, execute.
_OPEN_TO_OTHERS = 0o077


def _enforced() -> bool:
    """POSIX modes mean nothing on Windows (its ACLs decide), so nothing is checked there."""
    return os.name == "posix"


def make_private_dir(path: Path) -> None:
    """Create the folder (and its parents) if missing; the folder itself ends up 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    tighten(path, DIR_MODE)


def create_private_file(path: Path) -> None:
    """Create an empty file 0600 if it does not exist: SQLite creates a missing database with
    the umask's mode (0644 usually), and its -wal and -shm copy the database file's mode, so the
    file must exist, private, before SQLite first opens it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def write_private_text(path: Path, text: str) -> None:
    """Write a whole file 0600, through a temporary file moved into place (never half-written)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def tighten(path: Path, mode: int) -> None:
    """Take away every permission beyond `mode` that another account has; silent when the path
    is missing or belongs to someone else (see the module's docstring)."""
    if not _enforced():
        return
    try:
        current = stat.S_IMODE(path.stat().st_mode)
        extra = current & _OPEN_TO_OTHERS & ~mode
        if extra:
            os.chmod(path, current & ~extra)
    except OSError:
        pass


def tighten_workspace(root: Path, files: tuple[str, ...]) -> None:
    """The workspace folder 0700, its `checklists/` 0700, and each named file 0600."""
    tighten(root, DIR_MODE)
    tighten(root / "checklists", DIR_MODE)
    for name in files:
        tighten(root / name, FILE_MODE)


def refuse_if_readable_by_others(path: Path) -> None:
    """An answers file holds PINs: one that another account can read is refused before it is
    used. Only regular files: a pipe (`--answers /dev/stdin`) leaves nothing behind to read."""
    if not _enforced():
        return
    try:
        info = path.stat()
    except OSError:
        return  # the caller's own read says what is wrong with the path
    if stat.S_ISREG(info.st_mode) and info.st_mode & 0o044:
        raise SafetyError(f"{path} holds PINs and can be read by others: chmod 600 {path}")
