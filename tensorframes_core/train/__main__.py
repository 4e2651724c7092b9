"""``python -m tensorframes_core.train ARGS`` = ``tensorframes train ARGS`` (the entry point for torchrun)."""
import sys

from tensorframes_core.cli import main

if __name__ == "__main__":
    sys.exit(main(["train", *sys.argv[1:]]))
