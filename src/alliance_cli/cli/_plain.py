"""Help and usage errors in one plain style, for every command of the app.

Typer shows Python types in help (``<bool>``, ``<list[Path]>``, ``[1<=x<=100000]``) and
boxes usage errors in rich panels with pydantic wording. Here every command shows what to
type (its metavar, if any) and the values a choice allows, prose re-flowed to the terminal,
examples kept on their own lines; and every usage error (unknown option, missing argument,
a value not allowed, :func:`~._common.usage`) becomes one ``error:`` line, a hint how to get
help, and exit 2 — rendered like any other error by ``ui.render.error``.
"""

from __future__ import annotations

import inspect
import re
import sys
from typing import Any, NoReturn

import typer
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

# Typer builds its own parameter objects from the annotations, and its help reads the type
# and the number range from them; giving the built objects these subclasses when help is
# shown (``_plain_help``) is the one hook that needs no copy of Typer's help renderer.
# Parsing and validation are untouched: the range still applies, it is just not printed.


class _PlainOption(TyperOption):
    """An option shown with its metavar (``--db FILE``) or nothing (a flag)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return self.metavar or ""

    def _get_number_range_help_str(self) -> str | None:
        return None


class _PlainArgument(TyperArgument):
    """An argument shown by its name alone (``ID``)."""

    def display_type_rich(self, ctx: Any) -> str | None:
        return None

    def _get_number_range_help_str(self) -> str | None:
        return None


def _plain_help(command: Any, ctx: Any) -> None:
    """Prepare a command's help: parameters without type names, prose re-flowed."""
    for param in command.get_params(ctx):
        if type(param) is TyperOption:
            param.__class__ = _PlainOption
            if param.type_descriptor.is_choice and "One of:" not in (param.help or ""):
                param.help = f"{param.help or ''} One of: {_choices(param)}.".strip()
        elif type(param) is TyperArgument:
            param.__class__ = _PlainArgument
    command.help = reflow(command.help or "")


def reflow(text: str) -> str:
    """Help text with each prose paragraph on one line (the terminal wraps it); a paragraph
    with indented lines (examples, a file excerpt) keeps its lines."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    preformatted = [any(line[:1].isspace() for line in p.splitlines()) for p in paragraphs]
    return "\n\n".join(
        p if keep else re.sub(r"\s*\n\s*", " ", p)
        for p, keep in zip(paragraphs, preformatted, strict=True)
    )


def _usage_pieces(command: Any, ctx: Any) -> list[str]:
    """``[OPTIONS] ID [CODE] FILE...``: arguments as in every other tool's usage line."""
    pieces = [command.options_metavar] if command.options_metavar else []
    for param in command.get_params(ctx):
        if isinstance(param, TyperArgument):
            name = param.metavar or (param.name or "").upper()
            name += "..." if param.nargs != 1 and not name.endswith("...") else ""
            pieces.append(name if param.required else f"[{name}]")
    return pieces


def _plain_error(exc: typer.TyperException) -> str:
    """A usage error as one sentence naming the option, the value and what is allowed."""
    param: Any = getattr(exc, "param", None)
    errors: Any = getattr(exc.__cause__, "errors", None)  # a pydantic ValidationError
    if param is not None and callable(errors) and errors() and "input" in errors()[0]:
        value = errors()[0]["input"]
        longs = [o for o in param.opts if o.startswith("--")]
        name = longs[0] if longs else param.metavar or (param.name or "").upper()
        desc, info = param.type_descriptor, param.type_descriptor.parameter_info
        if desc.is_choice:
            return f'{name} "{value}" is not one of: {_choices(param)}'
        if desc.annotation in (int, float):
            try:
                number = desc.annotation(value)
            except (TypeError, ValueError):
                what = "a whole number" if desc.annotation is int else "a number"
                return f'{name} "{value}" is not {what}'
            if info.min is not None and number < info.min:
                return f'{name} "{value}" must be at least {info.min}'
            if info.max is not None and number > info.max:
                return f'{name} "{value}" must be at most {info.max}'
        return f'{name} "{value}": {errors()[0]["msg"].removeprefix("Value error, ")}'
    message = exc.message if type(exc) is typer.BadParameter and param is None else ""
    message = message or exc.format_message()
    if message[1:2].islower():
        message = message[0].lower() + message[1:]
    return message.removesuffix(".")


def _choices(param: Any) -> str:
    return ", ".join(str(getattr(c, "value", c)) for c in param.type_descriptor.choices)


def _check_utf8(args: list[str]) -> None:
    """Refuse an argument that is not UTF-8 text (Python keeps its bytes as lone surrogates,
    which no file, database or JSON can hold), before any command writes anything. UTF-8
    bytes that an ASCII locale turned into surrogates are refused too, naming the fix: decoded
    here they would be right as text but could not name a file in that locale."""
    for i, arg in enumerate(args):
        try:
            arg.encode("utf-8")
            continue
        except UnicodeEncodeError:
            pass
        try:  # the bytes the user typed, which Python kept as surrogates
            shown = arg.encode("utf-8", "surrogateescape").decode("utf-8")
            problem = (
                f"cannot be read in this locale (its encoding is {sys.getfilesystemencoding()}); "
                "run alliance with LC_ALL=C.UTF-8 or PYTHONUTF8=1"
            )
        except UnicodeError:  # bytes that are not UTF-8 (or a surrogate that is no byte)
            shown = (
                arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
                if _bytes(arg)
                else ascii(arg)[1:-1]
            )
            problem = "is not UTF-8 text (convert it to UTF-8)"
        name, _, value = arg.partition("=") if arg.startswith("--") else ("", "", "")
        if not value:
            before = args[i - 1] if i else ""
            name = (
                before if before[:1] == "-" and before != "--" and "=" not in before else "argument"
            )
            value = shown
        else:
            value = shown.partition("=")[2]
        raise typer.BadParameter(f'{name} "{value}" {problem}') from None


def _bytes(arg: str) -> bool:
    """Only surrogates that stand for a byte (U+DC80-U+DCFF), as Python makes them of argv."""
    return all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in arg)


def _report_usage(exc: typer.TyperException) -> NoReturn:
    from alliance_cli.errors import Problem, UsageError
    from alliance_cli.ui import render

    ctx = getattr(exc, "ctx", None)
    hint = f"Try '{ctx.command_path} --help'." if ctx is not None else ""
    render.error(UsageError(Problem("usage", _plain_error(exc)), hint=hint))
    raise typer.Exit(exc.exit_code)


class PlainCommand(TyperCommand):
    """A command with plain help (see :func:`_plain_help`)."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_help(self, ctx)
        super().format_help(ctx, formatter)

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return _usage_pieces(self, ctx)


class PlainGroup(TyperGroup):
    """The app: plain help for itself, its command list and every command in it (also in
    sub-apps added later, whatever Typer class they were built with), and every usage error
    of any command (unknown option, missing argument, a value not allowed, ``usage()``) as
    one plain line."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        for command in self.commands.values():
            make_plain(command)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _plain_help(self, ctx)
        for command in self.commands.values():
            command.help = reflow(command.help or "")
        super().format_help(ctx, formatter)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            _check_utf8(args)
            return super().parse_args(ctx, args)
        except typer.TyperException as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # the help is shown already
                raise
            _report_usage(exc)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except typer.TyperException as exc:
            _report_usage(exc)


def make_plain(command: Any) -> None:
    """``command`` a :class:`PlainCommand` or :class:`PlainGroup`, and every command under it,
    and every choice of each matched in any case (``--shape Wide``, ``--to CSV``), as option
    values are everywhere in this tool."""
    if type(command) is TyperCommand:
        command.__class__ = PlainCommand
    elif type(command) is TyperGroup:
        command.__class__ = PlainGroup
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            make_plain(sub)
    for param in command.params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and descriptor.is_choice:
            descriptor.parameter_info.case_sensitive = False
