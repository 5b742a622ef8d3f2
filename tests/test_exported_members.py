"""The public surface of the bwnumbers package."""

from __future__ import annotations

import importlib.metadata

import bwnumbers


def test_all_is_sorted_and_complete() -> None:
    """Every public name is in __all__, __all__ is sorted, and each name exists."""
    # "@py_..." names come from pytest rewriting the package it loads our plugin from.
    public = {name for name in dir(bwnumbers) if not name.startswith(("_", "@"))}
    exported = set(bwnumbers.__all__) - {"__version__"}
    assert exported == public - {"testing", "cli", "redis", "annotations"}  # subpackages
    assert bwnumbers.__all__ == sorted(bwnumbers.__all__)
    for name in bwnumbers.__all__:
        assert hasattr(bwnumbers, name)


def test_version_is_the_installed_version() -> None:
    """__version__ is the installed package's metadata version, not the source-tree fallback."""
    installed = importlib.metadata.version("bwnumbers")
    assert bwnumbers.__version__ == installed
