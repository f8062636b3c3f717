"""The `spotkit` command. Each sub-command lives in a module of this package with a `register()`.

Expected failures (any :class:`~spotkit.errors.SpotkitError`) print one message to stderr and exit
with status 1; Ctrl-C exits with 130, except for the commands that run until stopped (sandbox, demo,
history record), which end with 0. Nobody sees a traceback for a failure we foresaw.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence

from .. import __version__
from ..errors import LoginRequired, SpotkitError

__all__ = ["build_parser", "main", "port_argument"]

# modules that add sub-commands, in the order `spotkit --help` lists them
_COMMAND_MODULES = ("auth", "playback", "library", "history", "sandbox", "demo", "doctor")


def port_argument(allow_zero: bool = False) -> Callable[[str], int]:
    """An argparse `type=` for a port flag: 1-65535 (0 too with `allow_zero`), else a usage error."""
    from ..config import check_port
    from ..errors import ConfigError

    def parse(text: str) -> int:
        try:
            return check_port(text, "port", allow_zero=allow_zero)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = "port"  # argparse names the type in its message
    return parse


def whole_number(minimum: int, maximum: int | None = None, *,
                 why: str = "") -> Callable[[str], int]:
    """An argparse `type=` for a count: a whole number from `minimum` (up to `maximum`), else a
    usage error saying the range (and `why`, appended as is)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"{minimum} or more" if maximum is None else f"from {minimum} to {maximum}"
            raise argparse.ArgumentTypeError(f"must be {bounds}{why}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="spotkit",
        description="Spotify from the command line and in Jupyter notebooks.",
    )
    parser.add_argument("--version", action="version", version=f"spotkit {__version__}")
    parser.add_argument("-v", "--debug", action="store_true",
                        help="log each request (method, path, status, time) to stderr; "
                             "tokens are never shown")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:
        from ..logs import enable_debug_logging

        enable_debug_logging()
        warnings = None
    else:
        warnings = _show_warnings()
    try:
        return int(args.func(args) or 0)
    except LoginRequired as exc:
        print(f"spotkit: {exc}", file=sys.stderr)
        if "spotkit login" not in str(exc):
            print("Run `spotkit login` to log in.", file=sys.stderr)
        return 1
    except SpotkitError as exc:
        print(f"spotkit: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("spotkit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0  # `spotkit recent | head` closed the pipe: not an error
    finally:
        if warnings is not None:
            logging.getLogger("spotkit").removeHandler(warnings)


def _show_warnings() -> logging.Handler:
    """Print spotkit's warnings (a token cache others can read, ...) on stderr without -v."""
    from ..logs import RedactingFilter

    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("spotkit: warning: %(message)s"))
    handler.addFilter(RedactingFilter())
    logging.getLogger("spotkit").addHandler(handler)
    return handler
