"""resbench's version, named in every record and page (pyproject.toml holds the same)."""

VERSION = "0.1.0"
