"""Names that become paths or console text: one rule for each, which every writer and printer
uses, so that a name (an arch, a variant, a sweep's, a run id read from a table) is never a
path outside its folder, a tag of console markup, or a crash at the first print.

    path_name("../../X")     -> "X-3f8a…"  (a file name: no folder, nothing hidden, unique)
    markup("[bold]fail")     -> "\\[bold]fail"  (rich prints it as it is)
    escape_html("<b>")       -> "&lt;b&gt;"  (the page's text and attributes, any value)
    shown("caf\\udce9")       -> "caf\\xe9"  (a path's bytes that are not UTF-8, printable)
"""

from __future__ import annotations

import hashlib
import html
import os
import re

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# Names a Windows file system refuses, whatever their extension: a shared folder may be one.
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"{d}{i}" for d in ("COM", "LPT") for i in range(10))}
_LONGEST = 120  # characters of the readable part: a file name may have at most 255 bytes


def path_name(text: object) -> str:
    """`text` as one file or folder name, the same whenever it is already one: letters, digits,
    `.`, `_` and `-`, not starting with a dot. Any other name has its other characters replaced
    by `_` and a hash of the whole name added, so two names never share a path."""
    name = _text(text)
    safe = _UNSAFE.sub("_", name).lstrip(".")[:_LONGEST] or "_"
    if safe == name and safe.split(".")[0].upper() not in _RESERVED:
        return safe
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{safe}-{digest}"


def markup(text: object) -> str:
    """`text` for a string that rich reads as console markup: printed as it is, never a style
    (`[bold]`) and never a MarkupError (`[/bogus]`)."""
    from rich.markup import escape

    escaped = escape(shown(text))
    # rich doubles a last backslash, which a tag after it reads as one: with no tag after it,
    # both would show. An empty span after it is that tag, so that one backslash shows, always.
    return f"{escaped}[dim][/dim]" if escaped.endswith("\\") else escaped


def escape_html(text: object) -> str:
    """`text`, whatever its type, as the text of an HTML element or the value of a quoted
    attribute (in the page, and the SVG inside it): every `<`, `>`, `&` and quote escaped, and a
    path's bytes that are not UTF-8 shown, not a failed write of the page."""
    return html.escape(shown(text), quote=True)


def shown(text: object) -> str:
    """`text` as it can be printed anywhere: a path's bytes that are not UTF-8 (which Python
    keeps as lone surrogates) as `\\xNN`, not an error at the first print."""
    value = _text(text)
    try:
        raw = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:  # a surrogate no decoding made: shown as its code point
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _text(text: object) -> str:
    value = os.fspath(text) if isinstance(text, os.PathLike) else text
    return os.fsdecode(value) if isinstance(value, bytes) else str(value)
