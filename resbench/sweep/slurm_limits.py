"""The formats of sbatch's --time and --mem: the sweep's schema checks its `executor:` section's
limits with them before anything is submitted, and the slurm executor reads a time limit's
seconds from them."""

from __future__ import annotations

import re

TIME_FORMATS = "MM, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS"
# sbatch's --time: minutes, minutes:seconds, hours:minutes:seconds, days-hours,
# days-hours:minutes, days-hours:minutes:seconds (`man sbatch`).
_TIME = re.compile(
    r"^(?:(?P<m>\d+)(?::(?P<ms>\d+))?"
    r"|(?P<h>\d+):(?P<hm>\d+):(?P<hs>\d+)"
    r"|(?P<d>\d+)-(?P<dh>\d+)(?::(?P<dm>\d+)(?::(?P<ds>\d+))?)?)$"
)
_MEM = re.compile(r"^\d+[KMGT]?$")


def time_seconds(text: str) -> int | None:
    """The seconds a --time limit gives; None when `text` is not in one of sbatch's formats.

    SLURM keeps limits in whole minutes, rounded up: "0:30" is one minute.
    """
    if text.lower() in ("infinite", "unlimited"):
        return 0
    match = _TIME.match(text.strip())
    if match is None:
        return None
    g = {k: int(v) if v is not None else 0 for k, v in match.groupdict().items()}
    if match["m"] is not None:
        seconds = g["m"] * 60 + g["ms"]
    elif match["h"] is not None:
        seconds = g["h"] * 3600 + g["hm"] * 60 + g["hs"]
    else:
        seconds = g["d"] * 86400 + g["dh"] * 3600 + g["dm"] * 60 + g["ds"]
    return -(-seconds // 60) * 60


def validate_time(text: str | None) -> str | None:
    if text is not None and time_seconds(text) is None:
        raise ValueError(f"not a SLURM time limit: use {TIME_FORMATS}")
    return text


def validate_mem(text: str | None) -> str | None:
    if text is not None and not _MEM.match(text):
        raise ValueError("not a SLURM memory size: a number with K, M, G or T")
    return text
