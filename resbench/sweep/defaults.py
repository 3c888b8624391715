"""The defaults that a sweep's claims, `resbench report` and `resbench check` share.

Plain constants with no imports, so that the command line shows them in `--help` without
loading what judges runs.
"""

BEST_BY = "train_loss"  # the metric whose lowest mean makes a swept key's value the best
REACH_TOLERANCE = 0.05  # a depth an arch reaches: train error within this of its best depth's
BASELINE_TOLERANCE = 0.05  # the change of a group's mean, against the reference, that counts
