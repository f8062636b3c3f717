"""MkDocs hooks: add the pages whose one source lives outside docs/.

- ``notebooks/*.ipynb``, the top-level tutorials (rendered by mkdocs-jupyter, not re-run),
  listed in the nav in reading order, their links to each other pointed at the rendered pages;
- ``benchmarks.md`` from ``BENCHMARKS.md``;
- ``reference/cli.md`` from spotkit's argparse parser, so the CLI reference cannot drift.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.plugins import event_priority
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

ROOT = Path(__file__).resolve().parent
NOTEBOOKS = ROOT / "notebooks"
TUTORIALS_NAV = "Tutorials"
_NOTEBOOK_LINK = re.compile(r'href="(\d\d-[\w-]+)\.ipynb(#[^"]*)?"')
# a Sphinx role left in a docstring (":class:`~spotkit.auth.Token`"), as mkdocstrings renders it
_SPHINX_ROLE = re.compile(r":(?:mod|func|class|meth|data|attr|exc|obj):<code>~?([\w.]+)</code>")


def _notebooks() -> list[Path]:
    return sorted(NOTEBOOKS.glob("*.ipynb"))


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Fill the Tutorials section of the nav with every notebook, in reading order."""
    for entry in config.nav or []:
        if isinstance(entry, dict) and TUTORIALS_NAV in entry:
            entry[TUTORIALS_NAV] = [f"notebooks/{path.name}" for path in _notebooks()]
    return config


@event_priority(100)  # before mkdocs-jupyter looks for notebooks among the files
def on_files(files: Files, config: MkDocsConfig) -> Files:
    for path in _notebooks():
        # a File on disk (not File.generated): mkdocs-jupyter reads the notebook's src_dir
        files.append(File(f"notebooks/{path.name}", src_dir=str(ROOT), dest_dir=config.site_dir,
                          use_directory_urls=config.use_directory_urls))
    files.append(File.generated(config, "benchmarks.md", abs_src_path=str(ROOT / "BENCHMARKS.md")))
    files.append(File.generated(config, "reference/cli.md", content=cli_reference()))
    return files


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """Tutorials link to each other's pages, not the raw files; docstrings' Sphinx roles read as code."""
    if page.file.src_uri.startswith("notebooks/"):
        return _NOTEBOOK_LINK.sub(lambda m: f'href="../{m.group(1)}/{m.group(2) or ""}"', output)
    return _SPHINX_ROLE.sub(lambda m: f"<code>{m.group(1).rsplit('.', 1)[-1]}</code>", output)


def cli_reference() -> str:
    """Every `spotkit` command's --help, as Markdown."""
    from spotkit.cli import build_parser

    parser = build_parser()
    parts = ["# Command line\n",
             "Generated from `spotkit --help` and each command's `--help` at build time.\n",
             "Expected failures print one line to stderr and exit with status 1; Ctrl-C exits "
             "with 130. `spotkit doctor` checks a setup step by step.\n"]
    for title, sub in _walk(parser, "spotkit"):
        parts.append(f"## `{title}`\n\n```text\n{_help(sub)}```\n")
    return "\n".join(parts)


def _walk(parser: argparse.ArgumentParser, title: str) -> list[tuple[str, argparse.ArgumentParser]]:
    found = [(title, parser)]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.extend(_walk(sub, f"{title} {name}"))
    return found


def _help(parser: argparse.ArgumentParser) -> str:
    # a fixed width, so the page does not depend on the terminal that built it
    parser.formatter_class = lambda prog: argparse.HelpFormatter(prog, width=96)  # type: ignore[assignment]
    return parser.format_help()
