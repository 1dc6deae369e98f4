"""Run one benchmark: ``python -m carebot.bench <name> [args...]``."""

import importlib
import pkgutil
import sys

import carebot.bench


def names() -> list[str]:
    """The benchmarks there are: the package's modules with a ``main``."""
    found = []
    for module in pkgutil.iter_modules(carebot.bench.__path__):
        if not module.name.startswith("_") and callable(
                getattr(importlib.import_module(f"carebot.bench.{module.name}"), "main", None)):
            found.append(module.name)
    return sorted(found)


def main() -> int:
    known = names()
    usage = f"usage: python -m carebot.bench <name> [--help | args...], <name> one of: {', '.join(known)}"
    if sys.argv[1:2] in (["-h"], ["--help"]):
        print(usage)
        return 0
    if len(sys.argv) < 2 or sys.argv[1] not in known:
        print(usage if len(sys.argv) < 2 else f"no benchmark {sys.argv[1]!r}; {usage}", file=sys.stderr)
        return 2
    return importlib.import_module(f"carebot.bench.{sys.argv[1]}").main(sys.argv[2:])

if __name__ == "__main__":
    sys.exit(main())
