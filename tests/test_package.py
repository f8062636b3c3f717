"""The package surface: light import, lazy public names, typing marker, the command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import spotkit


def test_import_is_light() -> None:
    code = (
        "import sys, spotkit; "
        "heavy = [m for m in ('pandas', 'ipywidgets', 'numpy', 'IPython', 'requests') "
        "if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_public_name_resolves() -> None:
    for name in spotkit.__all__:
        assert getattr(spotkit, name) is not None, name


def test_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        spotkit.nope


def test_py_typed_ships() -> None:
    assert (Path(spotkit.__file__).parent / "py.typed").is_file()


def test_cli_version() -> None:
    out = subprocess.run([sys.executable, "-m", "spotkit", "--version"],
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"spotkit {spotkit.__version__}"
