"""Benchmarks: ``python -m carebot.bench <name>`` runs ``carebot.bench.<name>.main(argv)``."""
