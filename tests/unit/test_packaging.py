"""What a non-editable install ships: the built-in prompt templates and the stylesheets."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_prompts_and_stylesheets(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
         "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    (wheel,) = tmp_path.glob("chatapp-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {Path(n).name for n in names if n.startswith("chatapp/prompts/")}
    expected = {p.name for p in (ROOT / "prompts").glob("*.toml")}
    assert expected and expected <= shipped
    assert "chatapp/ui/screens/chat.tcss" in names
    assert "chatapp/ui/app.tcss" in names


def test_every_built_in_template_is_valid_toml_with_a_user_prompt() -> None:
    for path in (ROOT / "prompts").glob("*.toml"):
        template = tomllib.loads(path.read_text())
        assert template["name"] == path.stem
        assert template["user"].strip()
        for name, variable in template.get("variables", {}).items():
            assert "{{ " + name + " }}" in template["user"] or name in template["user"], name
            assert variable.get("required") or "default" in variable, name
