"""Benchmarks of bwnumbers against minimal references, run in the same process and run.

``python -m benchmarks`` prints a table and writes JSON; ``--quick`` is a smoke run.
"""
