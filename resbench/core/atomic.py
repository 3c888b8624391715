"""Writing a file so that a reader sees the old version or the new one, whole, never half.

Every file resbench writes while others may read it (records, CSVs, checkpoints, caches,
downloads) is written to a temporary name beside it and renamed over it: a rename within one
folder is atomic, so a reader never sees a torn file, and a process that dies while writing
leaves the old file and at most a hidden temporary (none at all from `write_text` on Linux,
which names the file only once it is whole).

The machine may die too (power loss, a kernel panic). So when a write returns, the new file is
on disk: its bytes are fsynced before the rename (else the rename may reach the disk first and
name an empty file) and its folder after it (else the rename itself may be lost), as is each
folder the write had to make. A crash of the
machine during a write leaves the old file or the new one; after it, the new one. This holds
where the file system and the drive honour fsync; on macOS fsync stops at the drive's own cache.
What it costs per record: `benchmarks/atomic_writes.py`.

The temporary is created with mode 0o666, as any program creates a file, and the kernel takes
off what the umask (or the folder's default ACL) forbids: the umask is never read, so never set,
not even for the instant in which another thread's files would be created without it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from resbench.core.errors import CannotWrite

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_CREATE = os.O_CREAT | os.O_EXCL | os.O_WRONLY | _CLOEXEC
_TMPFILE = getattr(os, "O_TMPFILE", 0)  # Linux: a file in a folder, without a name in it


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """The block's OSError as one `CannotWrite` naming `path` (a read-only folder, a full disk,
    a parent that is a file): the one line every command shows for a place it cannot write."""
    try:
        yield
    except CannotWrite:
        raise
    except OSError as e:
        raise CannotWrite(e.filename if _beside(e.filename, path) else path, e) from e


@contextmanager
def replacing(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A fresh temporary path beside `path`, synced and renamed over `path` when the block ends
    cleanly and removed when it raises. `suffix` ends the temporary's name (np.savez adds `.npz`
    to a name without it). A place that cannot be written raises `CannotWrite`."""
    path = Path(path)
    with writing(path):
        _make_folder(path.parent)
        tmp = _create_beside(path, suffix)
        try:
            yield tmp
            _fsync(tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_folder(path.parent)


def write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically, as UTF-8. Where the system can make a file without a
    name (Linux's O_TMPFILE), the bytes are written and synced before the file gets one, so a
    writer killed meanwhile leaves nothing behind, not even a temporary. A place that cannot be
    written raises `CannotWrite`."""
    data = text.encode("utf-8")
    path = Path(path)
    with writing(path):
        _make_folder(path.parent)
        if not _write_unnamed(path, data):
            with replacing(path) as tmp:
                tmp.write_bytes(data)


def _beside(failed: object, path: str | Path) -> bool:
    """Whether the file an OSError names is `path`, one of its folders or a file in it: then it
    is the one to name (a temporary beside `path` is named by `path`)."""
    if not isinstance(failed, str | Path):
        return False
    failed, target = Path(failed), Path(path)
    return failed == target or failed in target.parents or target in failed.parents


def _write_unnamed(path: Path, data: bytes) -> bool:
    """`data` to `path` through a file that has no name until it is whole and synced; False,
    having done nothing, where this system or file system cannot make such a file."""
    if not _TMPFILE or not Path("/proc/self/fd").is_dir():
        return False
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            fd = os.open(path.parent, _TMPFILE | os.O_WRONLY | _CLOEXEC, 0o666)
        except OSError:  # a file system without unnamed files (EOPNOTSUPP, EISDIR, EINVAL)
            return False
        try:
            with os.fdopen(fd, "wb", closefd=False) as f:
                f.write(data)
            os.fsync(fd)
            tmp = _link_beside(fd, path.name, folder)
        finally:
            os.close(fd)
        try:
            os.replace(tmp, path.name, src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            os.unlink(tmp, dir_fd=folder)
            raise
        os.fsync(folder)
    finally:
        os.close(folder)
    return True


def _link_beside(fd: int, name: str, folder: int) -> str:
    """Name the unnamed file `fd` `.<name>.<random>.tmp` in `folder`; that name."""
    while True:
        tmp = f".{name}.{secrets.token_hex(4)}.tmp"
        try:
            # Dir fds make Python call linkat(..., AT_SYMLINK_FOLLOW): the link is to the file
            # behind /proc's entry, not to the entry itself (the source path is absolute).
            os.link(f"/proc/self/fd/{fd}", tmp, src_dir_fd=folder, dst_dir_fd=folder)
        except FileExistsError:
            continue
        return tmp


def _create_beside(path: Path, suffix: str) -> Path:
    """A new empty file `.<name>.<random><suffix>` beside `path`, made by this call alone."""
    while True:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}{suffix}")
        try:
            os.close(os.open(tmp, _CREATE, 0o666))
        except FileExistsError:  # another writer's temporary, by a 1 in 4e9 chance: draw again
            continue
        return tmp


def _make_folder(folder: Path) -> None:
    """`folder` and its missing parents, each synced into its parent as it is made."""
    if folder.is_dir():
        return
    _make_folder(folder.parent)
    folder.mkdir(exist_ok=True)
    _fsync_folder(folder.parent)


def _fsync_folder(folder: Path) -> None:
    if hasattr(os, "O_DIRECTORY"):  # POSIX: a folder can be opened and synced
        _fsync(folder, os.O_DIRECTORY)


def _fsync(path: Path, flags: int = 0) -> None:
    fd = os.open(path, os.O_RDONLY | flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
