"""The layer contract holds, and light entrypoints never load the model's libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_linter_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" in result.stdout and " 0 broken" in result.stdout


def test_importing_the_container_and_cli_loads_no_torch():
    code = (
        "import sys, tinktalker.entrypoints.cli, tinktalker.entrypoints.container; "
        "print(sorted(m for m in ('torch', 'transformers', 'ctranslate2') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_entrypoints_have_one_sub_package_per_way_of_running_and_the_readme_draws_them():
    entrypoints = ROOT / "entrypoints"
    prefixed = [
        p.name
        for p in entrypoints.glob("*.py")
        if p.name.startswith(("api_", "telegram_", "train_"))
    ]
    assert prefixed == [], f"a prefix is a folder waiting to be made: {prefixed}"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    picture = readme[readme.index("## Architecture") :]
    for root in ("entrypoints", "adapters"):
        for package in sorted(p.parent.name for p in (ROOT / root).glob("*/__init__.py")):
            assert f"   {package}/ " in picture, (
                f"README's architecture picture lacks {root}/{package}/"
            )
