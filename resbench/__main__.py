"""`python -m resbench`: the command line."""

from resbench.cli import main

if __name__ == "__main__":  # not when a spawned worker imports this module
    main()
