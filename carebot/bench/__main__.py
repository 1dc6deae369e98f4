"""Run one benchmark: ``python -m carebot.bench <name> [args...]``."""

import importlib
import sys


def main() -> int:
    if len(sys.argv) < 2:
        print("usage: python -m carebot.bench <name> [args...]", file=sys.stderr)
        return 2
    module = importlib.import_module(f"carebot.bench.{sys.argv[1]}")
    return module.main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
