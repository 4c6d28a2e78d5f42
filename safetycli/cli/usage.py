"""Usage errors (a bad option value, an unknown option, a missing argument) as one line.

Click prints four lines for a usage error: the usage, a hint, a blank line and the error, and
recent Typer words a bad value the way pydantic does ("Value error, 'pdf' is not one of ...").
Every other refusal in safetycli is one line on stderr saying what is wrong and what to do, and
scripts read only the exit code; a usage error follows the same rule, still with exit 2.

Click's exceptions are recognised by their shape, not imported: Typer before 0.26 raised
`click`'s own classes, later ones raise those of its vendored copy. Typer 0.29 checks values
with pydantic (the value given, the type expected and the bounds come from its error); before
it, Click's own types check them, and the same facts come from the option's type and the value
typed on the command line, never from Click's wording. Loaded only when a command line is
wrong, so start-up never pays for it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import typer

# pydantic's error types for a value of the wrong type, as a person would say what was expected.
_EXPECTED = {
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "date_from_datetime_parsing": "a date, YYYY-MM-DD",
    "date_parsing": "a date, YYYY-MM-DD",
}


def usage_error(err: BaseException, argv: Sequence[str] = ()) -> int | None:
    """Print a Click usage error (or a Click abort) as one line on stderr and return its exit
    code; None when `err` is none of Click's, so the caller re-raises it. `argv`: the command
    line, where the value given to an option is found when Click's error does not carry it."""
    name = type(err).__name__
    if name == "NoArgsIsHelpError":  # `safetycli crew` alone: the help is the answer
        err.show()  # type: ignore[attr-defined]
        return int(getattr(err, "exit_code", 2))
    if name == "Abort":  # stopped at a question before any command ran (Ctrl-C, end of input)
        typer.echo("\nerror: stopped at a question (Ctrl-C or end of input)", err=True)
        return 2
    if not (hasattr(err, "format_message") and hasattr(err, "exit_code")):
        return None
    ctx = getattr(err, "ctx", None)
    text = _what(err, argv)
    if ctx is not None:
        text += f" (see `{ctx.command_path} --help`)"
    typer.echo(f"error: {_one_line(text)}", err=True)
    return int(err.exit_code)  # type: ignore[attr-defined]


def _what(err: Any, argv: Sequence[str]) -> str:
    param = getattr(err, "param", None)
    if param is None or type(err).__name__ == "MissingParameter" or not hasattr(err, "ctx"):
        return _sentence(err.format_message())
    where = _param_name(param)
    given = _given(err)
    typed = given if given is not None else _typed(param, argv)
    choices = _choices(param)
    if choices:
        shown = f"`{typed}` is not" if typed is not None else "that is not"
        return f"{where}: {shown} one of the choices: {', '.join(choices)}"
    if given is None and typed is not None:  # Click checked it: its type says what was wanted
        expected, bound = _click_expected(param, typed), _click_bound(param, typed)
        if expected:
            return f"{where}: `{typed}` is not {expected}"
        if bound:
            return f"{where} must be {bound}, not `{typed}`"
    expected = _expected(err)
    if expected and given is not None:
        return f"{where}: `{given}` is not {expected}"
    bound = _bound(err)
    if bound:
        return f"{where} must be {bound}" + (f", not `{given}`" if given is not None else "")
    message = str(getattr(err, "message", "") or err.format_message())
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    return f"{where}: {_sentence(message)}"


def _param_name(param: Any) -> str:
    """`--format` for an option (its long name), `PROTOCOL` for an argument."""
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.metavar or param.name or "argument").upper()
    opts = sorted(getattr(param, "opts", ()) or (), key=lambda o: -len(o))
    return str(opts[0]) if opts else str(param.name)


def _choices(param: Any) -> list[str]:
    """The allowed values of a choice option: an Enum annotation (Typer 0.26 and later) or a
    click.Choice type (earlier)."""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return [str(member.value) for member in annotation]
    choices = getattr(getattr(param, "type", None), "choices", None)
    return [str(c.value if isinstance(c, enum.Enum) else c) for c in choices or ()]


def _validation(err: Any) -> dict[str, Any] | None:
    """The first error of the pydantic ValidationError behind a bad value, if that is its cause."""
    cause = err.__cause__
    errors = getattr(cause, "errors", None)
    if not callable(errors):
        return None
    try:
        found = errors()
    except Exception:  # noqa: BLE001 - only a nicer message is at stake
        return None
    return found[0] if found and isinstance(found[0], dict) else None


def _given(err: Any) -> str | None:
    first = _validation(err)
    if first is not None and isinstance(first.get("input"), str | int | float):
        return _one_line(str(first["input"]))[:80]
    return None


def _expected(err: Any) -> str | None:
    first = _validation(err)
    return None if first is None else _EXPECTED.get(str(first.get("type")))


def _bound(err: Any) -> str | None:
    """`at least 0.2` for a number outside an option's range (pydantic says "Input should be
    greater than or equal to 0.2")."""
    first = _validation(err)
    ctx = (first or {}).get("ctx") or {}
    words = {"ge": "at least", "le": "at most", "gt": "more than", "lt": "less than"}
    for key, word in words.items():
        if key in ctx:
            value = ctx[key]
            return f"{word} {value:g}" if isinstance(value, int | float) else f"{word} {value}"
    return None


def _typed(param: Any, argv: Sequence[str]) -> str | None:
    """The value given to an option on the command line (the last, as Click takes the last):
    `--format pdf` or `--format=pdf`."""
    if getattr(param, "param_type_name", "") == "argument":
        return None
    names = [str(o) for o in getattr(param, "opts", ()) or ()]
    found = None
    for i, token in enumerate(argv):
        for name in names:
            if token == name and i + 1 < len(argv):
                found = argv[i + 1]
            elif name.startswith("--") and token.startswith(name + "="):
                found = token[len(name) + 1 :]
    return None if found is None else _one_line(found)[:80]


def _number(param: Any, typed: str) -> float | None | bool:
    """The typed value as the option's number; False when the option takes no number; None
    when it takes one and this is not one."""
    kind = str(getattr(getattr(param, "type", None), "name", ""))
    try:
        if kind.startswith("integer"):
            return int(typed)
        if kind.startswith("float"):
            return float(typed)
    except ValueError:
        return None
    return False


def _click_expected(param: Any, typed: str) -> str | None:
    if _number(param, typed) is not None:
        return None
    kind = str(getattr(getattr(param, "type", None), "name", ""))
    return "a whole number" if kind.startswith("integer") else "a number"


def _click_bound(param: Any, typed: str) -> str | None:
    """`at least 0.2` for a number outside a Click range type (its `min`/`max`)."""
    value = _number(param, typed)
    if value is None or value is False:
        return None
    kind = getattr(param, "type", None)
    low, high = getattr(kind, "min", None), getattr(kind, "max", None)
    if low is not None and (value <= low if getattr(kind, "min_open", False) else value < low):
        return f"{'more than' if getattr(kind, 'min_open', False) else 'at least'} {low:g}"
    if high is not None and (value >= high if getattr(kind, "max_open", False) else value > high):
        return f"{'less than' if getattr(kind, 'max_open', False) else 'at most'} {high:g}"
    return None


def _sentence(text: str) -> str:
    """Click's sentences as part of ours: no final full stop, a lower-case first word (unless it
    is a name in capitals, like PROTOCOL)."""
    text = text.strip().rstrip(".")
    if len(text) > 1 and text[0].isupper() and not text[1].isupper():
        text = text[0].lower() + text[1:]
    return text


def _one_line(text: str) -> str:
    from safetycli.render.safe import one_line

    return one_line(text)
