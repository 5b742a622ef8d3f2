"""The README's snippets work when a newcomer pastes them: run as they are, not just compiled.

Each test takes the text out of README.md, so editing the README without keeping it working
fails here. Nothing is installed: the snippets run with this interpreter, where bwnumbers and
pytest-asyncio are installed as a user's ``pip install 'bwnumbers[pytest]'`` would install them.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import bwnumbers
from bwnumbers.testing import BandwidthEmulator

ROOT = Path(__file__).parent.parent
README = (ROOT / "README.md").read_text()


def _clean_env() -> dict[str, str]:
    """This environment without what would leak our own pytest or account settings in."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("PYTEST_", "BW_")) and name != "PYTHONPATH"
    }


def test_fresh_project_pytest_snippet_passes(tmp_path: Path) -> None:
    """The configuration and test under "In your own pytest suite" pass in an empty project.

    Without the configuration the test fails ("async def functions are not natively
    supported"), and without the loop scope pytest-asyncio warns: both must stay out.
    """
    files = re.findall(r"<!-- fresh-project: (\S+) -->\n```\w+\n(.*?)```", README, re.DOTALL)
    assert sorted(name for name, _ in files) == ["pyproject.toml", "tests/test_numbers.py"]
    for name, body in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA"],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "2 passed" in output, output
    assert "warning" not in output.lower(), output


def test_pytest_extra_brings_only_pytest_and_pytest_asyncio() -> None:
    """``bwnumbers[pytest]`` never pins (or downgrades) the user's aiohttp."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extra = project["optional-dependencies"]["pytest"]
    names = {re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0] for requirement in extra}
    assert names == {"pytest", "pytest-asyncio"}
    assert "bwnumbers[pytest]" in README


def test_every_order_and_wait_keyword_is_in_the_readme_table() -> None:
    signature = inspect.signature(bwnumbers.order_and_wait)
    keywords = [
        name
        for name, parameter in signature.parameters.items()
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY
    ]
    assert keywords
    listed = re.findall(r"^\| `(\w+)` \|", README, re.MULTILINE)
    missing = [name for name in keywords if name not in listed]
    assert not missing, f"order_and_wait keywords missing from the README table: {missing}"


def test_emulator_outside_pytest_snippet_runs(tmp_path: Path) -> None:
    blocks = [
        block
        for block in re.findall(r"```python\n(.*?)```", README, re.DOTALL)
        if "from bwnumbers.testing import BandwidthEmulator" in block
        and "asyncio.run(main())" in block
    ]
    assert len(blocks) == 1
    script = tmp_path / "emulator_script.py"
    script.write_text(blocks[0])
    run = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "9900000" in run.stdout
    assert re.search(r"'919\d{7}'", run.stdout), run.stdout


async def test_curl_example_against_the_standalone_emulator() -> None:
    """The README's curl lines get a token and search, against a running emulator."""
    curl = shutil.which("curl")
    if curl is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have curl to check the README's curl example")
        pytest.skip("curl is not installed")
    block = next(
        block
        for block in re.findall(r"```sh\n(.*?)```", README, re.DOTALL)
        if "oauth2/token" in block and "curl" in block
    )
    # The first line starts the emulator; the test runs one of its own instead.
    start, commands = block.split("\n", 1)
    assert start.startswith("bwnumbers emulator --port 8099 --client-secret s3cret &")
    async with BandwidthEmulator(client_secret="s3cret") as emulator:
        port = emulator.base_url.split(":")[2].split("/")[0]
        script = commands.replace("127.0.0.1:8099", f"127.0.0.1:{port}")
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-euo",
            "pipefail",
            "-c",
            script,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=_clean_env(),
        )
        out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    found = re.findall(r"<TelephoneNumber>(\d{10})</TelephoneNumber>", out.decode())
    assert len(found) == 2, out.decode()
    assert all(number.startswith("919") for number in found)
