"""Datasets read from files, registered with `resbench.data` on import.

| name            | files                                                  | module   |
|-----------------|--------------------------------------------------------|----------|
| `cifar10`       | the official archive, binary or python version         | cifar.py |
| `cifar100`      | the official archive, binary or python version         | cifar.py |
| `mnist`         | the four IDX files, gzipped or not                     | idx.py   |
| `fashion-mnist` | the four IDX files, gzipped or not                     | idx.py   |

`files.py` finds, reads and downloads them; `safe_pickle.py` reads CIFAR's pickles without
letting them run code; `images.py` turns pixels into a `Data` (split, normalisation, augmentation).
"""

from resbench.datasets import cifar, idx  # noqa: F401
