"""The README's code still matches the package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import bwnumbers

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_python_blocks_compile_and_use_real_names() -> None:
    """Every python block parses, and every bwnumbers.X it uses exists."""
    blocks = re.findall(r"```python\n(.*?)```", README, re.DOTALL)
    assert blocks
    for block in blocks:
        tree = compile(
            block, "README.md", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT | ast.PyCF_ONLY_AST
        )
        for node in ast.walk(tree):
            is_bwnumbers = isinstance(node, ast.Attribute) and (
                isinstance(node.value, ast.Name) and node.value.id == "bwnumbers"
            )
            if is_bwnumbers:
                assert hasattr(bwnumbers, node.attr), node.attr


def test_setup_commands() -> None:
    """The two set-up commands are the demo and the test command CI runs."""
    assert "pip install -e . && bwnumbers demo" in README
    assert "pip install -e '.[test]' && python -m pytest" in README
    ci = (Path(__file__).parent.parent / ".ci" / "run").read_text()
    assert "python -m pytest" in ci
