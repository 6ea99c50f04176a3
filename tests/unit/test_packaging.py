"""What a non-editable install ships: the built-in prompt templates and the stylesheets."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The names of the files in a wheel built from this tree."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(folder), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (built,) = folder.glob("chatapp-*.whl")
    return set(zipfile.ZipFile(built).namelist())


def test_the_wheel_ships_prompts_and_stylesheets(wheel: set[str]) -> None:
    names = wheel
    shipped = {Path(n).name for n in names if n.startswith("chatapp/prompts/")}
    expected = {p.name for p in (ROOT / "prompts").glob("*.toml")}
    assert expected and expected <= shipped
    assert "chatapp/ui/screens/chat.tcss" in names
    assert "chatapp/ui/app.tcss" in names


def test_the_wheel_ships_every_package(wheel: set[str]) -> None:
    packages = {
        str(init.parent.relative_to(ROOT))
        for init in (ROOT / "chatapp").rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    shipped = {str(Path(n).parent) for n in wheel if n.endswith("/__init__.py")}
    assert packages <= shipped, sorted(packages - shipped)
