"""Dataset files: where they are looked for, how they are read, and how they are downloaded.

A dataset's files live under its *root*: `dataset.root` (which `--data-dir` sets), else
`$RESBENCH_DATA`, else `data/` in resbench's cache directory (where `--download` puts them).
An official archive is read as it is, a `.tar.gz` or the folder extracted from it; members are
read into memory, never extracted, so a crafted archive cannot write anywhere. Downloads are
checked against the official MD5 before they are kept.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
from collections.abc import Sequence
from pathlib import Path

from resbench.core.atomic import replacing
from resbench.core.cache import cache_dir
from resbench.data.dataset import DatasetError, Report

DATA_ENV = "RESBENCH_DATA"


def data_root(root: str | None) -> Path:
    """The folder a dataset's files are looked for in (see the module docstring)."""
    if root:
        return Path(root).expanduser()
    if env := os.environ.get(DATA_ENV):
        return Path(env).expanduser()
    return cache_dir() / "data"


def read_members(source: Path, folder: str, names: Sequence[str]) -> dict[str, bytes]:
    """The files `names` of an archive's top `folder`: from `source`, that folder or the .tar.gz."""
    if source.is_dir():
        out = {}
        for name in names:
            path = source / name
            if not path.is_file():
                raise DatasetError(f"{path}: missing (the folder holds only part of the archive)")
            out[name] = path.read_bytes()
        return out
    wanted = {f"{folder}/{name}": name for name in names}
    out = {}
    try:
        with tarfile.open(source, "r:gz") as archive:
            for member in archive:  # one pass: a .tar.gz cannot seek back cheaply
                name = wanted.get(member.name.removeprefix("./"))
                if name is not None and member.isfile():
                    out[name] = archive.extractfile(member).read()  # type: ignore[union-attr]
    except (OSError, EOFError, tarfile.TarError) as e:
        raise DatasetError(
            f"{source}: not a readable .tar.gz ({e}); delete it and fetch it again"
        ) from None
    if missing := [f"{folder}/{n}" for n in names if n not in out]:
        raise DatasetError(
            f"{source}: no {', '.join(missing)} in the archive; is it the right one?"
        )
    return out


def md5sum(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, md5: str, target: Path, report: Report | None = None) -> None:
    """Fetch `url` to `target`, kept only if its MD5 is `md5`; any failure is a DatasetError."""
    import urllib.request  # only here: loading a sweep should not pay for http and email

    if report:
        report(f"downloading {url} -> {target}")
    # Whole or absent: a concurrent reader never sees half a file, a failure leaves nothing.
    with replacing(target, suffix=".part") as part:
        try:
            with urllib.request.urlopen(url, timeout=60) as response, part.open("wb") as f:
                while chunk := response.read(1 << 20):
                    f.write(chunk)
        except OSError as e:  # URLError, timeouts and disk errors are all OSErrors
            reason = getattr(e, "reason", None) or e
            raise DatasetError(
                f"{url}: download failed ({reason}); fetch it by other means and put it at {target}"
            ) from None
        got = md5sum(part)
        if got != md5:
            raise DatasetError(
                f"{url}: MD5 {got} is not the official {md5}; the download was discarded"
            )
