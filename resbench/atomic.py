"""Writing a file so that a reader sees the old version or the new one, whole, never half.

Every file resbench writes while others may read it (records, CSVs, checkpoints, caches,
downloads) is written to a temporary name beside it and renamed over it: a rename within one
folder is atomic, and a crash leaves at most a hidden temporary behind, never a torn file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """A fresh temporary path beside `path`, renamed over `path` when the block ends cleanly
    and removed when it raises. `suffix` ends the temporary's name (np.savez adds `.npz` to a
    name without it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        # mkstemp makes owner-only files; results are for everyone the umask allows.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically, as UTF-8."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _umask() -> int:
    mask = os.umask(0)  # the only way to read it is to set it: put it straight back
    os.umask(mask)
    return mask
