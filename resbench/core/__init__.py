"""The ground every layer stands on: errors, the version, atomic writes, the cache directory,
and resolving user code by import path. Imports nothing else of resbench."""
