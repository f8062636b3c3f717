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


def test_type_checkers_see_every_lazy_name() -> None:
    """The TYPE_CHECKING imports mirror the lazy table, so mypy and IDEs know every public name."""
    import ast

    tree = ast.parse(Path(spotkit.__file__).read_text())
    block = next(n for n in tree.body
                 if isinstance(n, ast.If) and getattr(n.test, "id", "") == "TYPE_CHECKING")
    imported: dict[str, str] = {}
    for node in block.body:
        assert isinstance(node, ast.ImportFrom)
        for alias in node.names:
            imported[alias.name] = f"spotkit.{node.module}"
    assert imported == spotkit._EXPORTS


def test_no_public_name_shadows_a_submodule() -> None:
    """`spotkit.x` must mean one thing: a lazy name equal to a submodule's would flip on import."""
    import pkgutil

    submodules = {m.name for m in pkgutil.iter_modules(spotkit.__path__)}
    assert not submodules & set(spotkit._EXPORTS)
