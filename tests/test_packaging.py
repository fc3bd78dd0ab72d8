"""What ships: a non-editable install has the right defaults, torch is pinned alike, the Docker
context stays small."""

from __future__ import annotations

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("domain", "ports", "adapters", "entrypoints", "training")


def test_a_non_editable_install_runs_on_the_documented_defaults(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    # the venv's own setuptools when it has one (Python 3.11's venvs do): no download, seconds
    # instead of a minute
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", *isolation, ".", "-w", str(tmp_path / "wheel")],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next((tmp_path / "wheel").glob("tinktalker-*.whl"))
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(tmp_path / "site"), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (tmp_path / "site" / "config.yml").write_text(
        "generation:\n  top_k: 1\n"
    )  # another package's file
    check = (
        "import yaml, tinktalker.entrypoints.config_loading as c; from "
        "tinktalker.entrypoints.settings import Settings; "
        "documented = "
        f"Settings.model_validate(yaml.safe_load(open({str(ROOT / 'config.yml')!r}))); "
        "assert c.__file__.startswith(sys.argv[1]), c.__file__; assert c.load_settings(None, "
        "env={}) == documented"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import sys; " + check, str(tmp_path / "site")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(tmp_path / "site")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def torch_pins() -> dict[str, str]:
    pins = {
        "Makefile": re.search(r"^TORCH \?= (\S+)", (ROOT / "Makefile").read_text(), re.M).group(1)
    }
    for name in ("Dockerfile", "Dockerfile.inference"):
        text = (ROOT / name).read_text()
        pins[name] = re.search(r"^ARG TORCH=(\S+)", text, re.M).group(1)
        assert '"$TORCH"' in text, f"{name} installs another torch than its pin"
    for number, match in enumerate(re.findall(r"torch==[\w.+]+", (ROOT / "README.md").read_text())):
        pins[f"README.md #{number + 1}"] = match
    return pins


def test_torch_is_pinned_the_same_everywhere():
    pins = torch_pins()
    assert len(set(pins.values())) == 1, pins


def dockerignored(path: str) -> bool:
    """Docker's rule: the last pattern matching the path or a folder above it decides; `!` lets it
    back in."""
    ignored = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated, pattern = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(?:.*/)?").replace(r"\*", "[^/]*")
        parts = path.split("/")
        if any(re.fullmatch(regex, "/".join(parts[:end])) for end in range(1, len(parts) + 1)):
            ignored = not negated
    return ignored


@pytest.mark.parametrize(
    "path",
    [
        "trained/checkpoints/step-000000500/lm_head.pt",
        "checkpoints/step-1/state.json",
        "out/.writing-step-000000010/x.pt",
        "trained/training_log.json",
        "trained/loss_curves.png",
        "chat.csv",
        "data/investors.csv",
        "tiny-model/config.json",
        ".venv/bin/python",
        "tinktalker.sqlite3",
        "build/lib/x.py",
        "devkit/tiny_model.py",
    ],
)
def test_the_docker_context_leaves_out_outputs_and_checkpoints(path):
    assert dockerignored(path)


@pytest.mark.parametrize(
    "path",
    [
        "entrypoints/cli.py",
        "config.yml",
        "pyproject.toml",
        "docker/no-model/README.md",
        "model/model.safetensors",
        "trained/model.safetensors",
    ],
)
def test_the_docker_context_keeps_the_sources_and_a_model_to_bake_in(path):
    assert not dockerignored(path)


def test_other_distributions_top_level_entrypoints_and_adapters_cannot_shadow_ours(tmp_path):
    """PyPI's `entrypoints` (a module) and `adapters` (AdapterHub's package) installed ahead of
    us."""
    (tmp_path / "entrypoints.py").write_text("raise ImportError('PyPI entrypoints, not ours')\n")
    (tmp_path / "adapters").mkdir()
    (tmp_path / "adapters" / "__init__.py").write_text(
        "raise ImportError('AdapterHub adapters, not ours')\n"
    )
    for name in ("domain", "ports", "training"):
        (tmp_path / f"{name}.py").write_text(f"raise ImportError('another {name}')\n")
    script = Path(sys.executable).with_name("tinktalker")
    result = subprocess.run(
        [str(script), "--version"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("tinktalker "), result.stdout


def test_every_sub_package_is_listed_for_the_wheel():
    listed = set(
        re.search(r"^packages = \[(.*?)\]", (ROOT / "pyproject.toml").read_text(), re.S | re.M)
        .group(1)
        .replace('"', "")
        .replace(",", " ")
        .split()
    )
    present = {
        "tinktalker." + ".".join(p.parent.relative_to(ROOT).parts)
        for package in PACKAGES
        for p in (ROOT / package).rglob("__init__.py")
    }
    assert present == listed, f"pyproject.toml's [tool.setuptools] packages: add {present - listed}"
