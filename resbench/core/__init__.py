"""The ground every layer stands on: errors, the version, atomic writes, the cache directory,
resolving user code by import path, and the command line's KEY=VALUE items. Imports nothing
else of resbench."""
