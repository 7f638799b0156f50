"""Validate parsed YAML against a model and explain failures at the right line and column.

The models' own error records (bot/policy/frozen.py: "Input should be a valid boolean") are
written for programmers and their locations are paths, not positions. Here each error's path
is looked up in the document's position map and reworded, using the model's own annotations
to list allowed keys and values, so the explanation stays right when fields are added.

Validation is strict: a file saying ``enabled: "yes"`` or ``every_days: "7"`` is far more
likely a mistake than an intention, and guessing would hide it.
"""

from __future__ import annotations

import re
import types
from collections.abc import Collection, Mapping
from inspect import isclass
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from bot.policy.aliases_check import alias_problems
from bot.policy.answers_check import answer_problems
from bot.policy.frozen import ErrorDetails, Model, ValidationError
from bot.policy.gate_support import PLATFORM_LABELS, supports_read_gate
from bot.policy.yamlpos import Document, Loc, Problem

M = TypeVar("M", bound=Model)
_ENV_NAME_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)")

_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "float_type": "a number",
    "tuple_type": "a list",
    "list_type": "a list",
    "model_type": "'key: value' lines (a mapping)",
    "model_attributes_type": "'key: value' lines (a mapping)",
    "dict_type": "'key: value' lines (a mapping)",
    "is_instance_of": "a file path (text)",
    "path_type": "a file path (text)",
}


def validate_document(
    model: type[M],
    document: Document,
    *,
    injected: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
    secret_keys: Collection[str] = (),
    context: dict[str, Any] | None = None,
) -> tuple[M | None, list[Problem]]:
    """Build ``model`` from the document, or explain every reason it cannot be built.

    ``injected`` values are set by the program (a file may not contain those keys);
    ``defaults`` fill keys the file left out. Values under ``secret_keys`` are never quoted
    back in messages.
    """
    injected = injected or {}
    problems: list[Problem] = []
    data = dict(document.data)
    for key in injected:
        if key in data:
            del data[key]
            problems.append(
                Problem(document.key_pos((key,)), _unknown_key(key, model, (), set(injected)))
            )
    data.update(injected)
    for key, value in (defaults or {}).items():
        data.setdefault(key, value)
    try:
        return model.model_validate(data, strict=True, context=context), problems
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            if document.is_flagged(loc):
                continue
            problems.append(_explain(error, loc, model, document, set(injected), secret_keys))
    return None, problems


def _explain(
    error: ErrorDetails,
    loc: Loc,
    model: type[Model],
    document: Document,
    hidden: set[str],
    secret_keys: Collection[str],
) -> Problem:
    """The plain reason for one error, saying so when the value came from ``${VAR}``: the
    admin then has to look in the environment, not at the line."""
    written = document.substituted.get(loc)
    problem = _explain_value(error, loc, model, document, hidden, secret_keys, written)
    kind = error["type"]
    if written is None or kind in ("missing", "extra_forbidden"):
        return problem
    note = _came_from(written)
    if kind in ("int_type", "bool_type", "float_type") and isinstance(error.get("input"), str):
        expected = _EXPECTED[kind]
        note += f", and the environment holds only text: write {expected} here instead"
    return Problem(problem.pos, f"{problem.message} ({note})")


def _came_from(written: str) -> str:
    names = list(dict.fromkeys(_ENV_NAME_RE.findall(written.replace("$${", ""))))
    or_default = " or its default" if ":-" in written else ""
    if len(names) == 1:
        return f"the value came from the environment variable {names[0]}{or_default}"
    return f"the value came from the environment variables {', '.join(names)}{or_default}"


def _explain_value(
    error: ErrorDetails,
    loc: Loc,
    model: type[Model],
    document: Document,
    hidden: set[str],
    secret_keys: Collection[str],
    written: str | None,
) -> Problem:
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    key = loc[-1] if loc else None
    secret = any(isinstance(part, str) and part in secret_keys for part in loc)
    shown = _describe(value, secret)

    if kind == "missing":
        return Problem(document.value_pos(loc[:-1]), f"missing required key '{key}'")
    if kind == "extra_forbidden":
        hide = hidden if len(loc) == 1 else set()
        return Problem(document.key_pos(loc), _unknown_key(str(key), model, loc[:-1], hide))
    if kind in _EXPECTED:
        expected = _EXPECTED[kind]
        if value is None:
            return Problem(
                document.key_pos(loc), f"{_subject(key)} has no value; expected {expected}"
            )
        message = f"expected {expected}, got {shown}"
        if kind == "string_type" and isinstance(value, int | float) and not secret:
            message += " (put it in quotes to make it text)"
        elif kind in ("int_type", "bool_type", "float_type") and isinstance(value, str):
            message += _quoted_hint(kind, value, written)
        return Problem(document.value_pos(loc), message)
    pos = document.value_pos(loc)
    if kind == "literal_error":
        allowed = _literal_values(model, loc) or [str(ctx.get("expected", ""))]
        return Problem(pos, f"{shown} is not one of: {', '.join(allowed)}")
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        limit = {
            "greater_than_equal": ("at least", "ge"),
            "greater_than": ("more than", "gt"),
            "less_than_equal": ("at most", "le"),
            "less_than": ("less than", "lt"),
        }[kind]
        got = "a secret value" if secret else repr(value)
        return Problem(pos, f"must be {limit[0]} {ctx.get(limit[1])}, got {got}")
    if kind == "too_short":
        count = int(ctx.get("min_length", 1))
        return Problem(pos, f"{_subject(key)} must list at least {count} {_entries(count)}")
    if kind == "too_long":
        count = int(ctx.get("max_length", 0))
        return Problem(pos, f"{_subject(key)} may list at most {count} {_entries(count)}")
    if kind == "string_too_short":
        return Problem(pos, "must not be empty")
    if kind == "string_too_long":
        return Problem(pos, f"is too long (at most {ctx.get('max_length')} characters)")
    if kind == "value_error" and "error" in ctx:
        return Problem(pos, str(ctx["error"]))
    return Problem(pos, error["msg"])


def _subject(key: object) -> str:
    return f"'{key}'" if isinstance(key, str) else "this list entry"


def _entries(count: int) -> str:
    return "entry" if count == 1 else "entries"


def _quoted_hint(kind: str, value: str, written: str | None = None) -> str:
    """"Remove the quotes" when quotes made a number or true/false text; never for a value
    that came from the environment (it is always text there, and has no quotes to remove)."""
    if written is not None:
        return ""  # _explain says where the value came from instead
    stripped = value.strip()
    if kind == "bool_type" and stripped.lower() in ("true", "false"):
        return " (remove the quotes)"
    if kind in ("int_type", "float_type") and stripped.lstrip("+-").replace(".", "", 1).isdigit():
        return " (remove the quotes)"
    return ""


def _describe(value: object, secret: bool) -> str:
    """How a wrong value is quoted back: short, YAML-flavoured, never a secret."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true or false" if secret else str(value).lower()
    if isinstance(value, int | float):
        return "a number" if secret else f"the number {value}"
    if isinstance(value, tuple | list):
        return "a list"
    if isinstance(value, dict):
        return "'key: value' lines (a mapping)"
    if isinstance(value, str):
        if secret:
            return "text"
        text = value if len(value) <= 40 else value[:37] + "..."
        return "'" + text.replace("\n", "\\n") + "'"
    return "a value of the wrong kind"


def _unknown_key(key: str, model: type[Model], parent: Loc, hidden: set[str]) -> str:
    import difflib  # only for a policy with a mistyped key, not in the running bot's memory

    owner = _model_at(model, parent)
    allowed = [] if owner is None else [k for k in owner.model_fields if k not in hidden]
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    suffix = f" (did you mean '{close[0]}'?)" if close else ""
    if not key.isprintable():
        # A byte-order mark or zero-width space pasted into a key looks like the right
        # key; shown as is, the message would read "unknown key 'name' (did you mean 'name'?)".
        key = "".join(c if c.isprintable() else ascii(c)[1:-1] for c in key)
        suffix += "; it holds an invisible character, retype it"
    return f"unknown key '{key}'{suffix}"


def _strip_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _annotation_at(model: type[Model], loc: Loc) -> Any:
    """The declared type at a validation path, or None when the path leaves the models."""
    annotation: Any = model
    for part in loc:
        annotation = _strip_optional(annotation)
        if isinstance(part, int):
            if get_origin(annotation) not in (tuple, list):
                return None
            annotation = get_args(annotation)[0]
        elif isclass(annotation) and issubclass(annotation, Model):
            field = annotation.model_fields.get(part)
            if field is None:
                return None
            annotation = field.annotation
        else:
            return None
    return _strip_optional(annotation)


def _model_at(model: type[Model], loc: Loc) -> type[Model] | None:
    annotation = _annotation_at(model, loc)
    if isclass(annotation) and issubclass(annotation, Model):
        return annotation
    return None


def _literal_values(model: type[Model], loc: Loc) -> list[str]:
    annotation = _annotation_at(model, loc)
    if get_origin(annotation) is Literal:
        return [str(v) for v in get_args(annotation)]
    return []


def platform_limits(policy: Any, document: Document) -> list[Problem]:
    """What a platform cannot do, refused at ``check`` rather than done differently at run
    time: a moderator reading the policy should be able to trust that it happens.

    Matrix has no private threads (a thread there is readable by everyone in the room), so
    ``fallback: private_thread`` on a policy that covers a Matrix room is refused at the
    fallback line. ``policy`` is a validated :class:`bot.policy.model.Policy`.

    Check-in rules that could never work (see :mod:`bot.policy.answers_check`), Discord's
    limits on menus and buttons among them, are refused here too, at their own lines."""
    problems = answer_problems(policy, document) + gate_problems(policy, document)
    problems += alias_problems(policy, document)
    reminder = policy.reminder
    matrix_rooms = [ref for ref in policy.rooms if ref.platform == "matrix"]
    if reminder.fallback != "private_thread" or not matrix_rooms:
        return problems
    return [
        *problems,
        Problem(
            document.value_pos(("reminder", "fallback")),
            "'private_thread' is not possible on Matrix (it has no private threads), and this "
            f"policy covers the {matrix_rooms[0].describe()}; use room_mention, "
            "next_interaction or none, or give the Matrix rooms a policy of their own",
        ),
    ]


def gate_problems(policy: Any, document: Document) -> list[Problem]:
    """``reminder.gate`` as a moderator may trust it: it agrees with 'require_agreement'
    where both are given; a read gate has a way to reach someone who cannot see the room
    (a private message: the room itself, or a rules message in it, is what they cannot
    read); and it is refused on a platform whose adapter cannot enforce it yet (see
    :mod:`bot.policy.gate_support`), so nothing accepted is left undone."""
    reminder = policy.reminder
    if "gate" not in reminder.model_fields_set:
        return []
    at = document.value_pos(("reminder", "gate"))
    if "require_agreement" in reminder.model_fields_set and (
        (reminder.gate != "none") != reminder.require_agreement
    ):
        said = "true" if reminder.require_agreement else "false"
        return [
            Problem(
                at,
                f"'gate: {reminder.gate}' contradicts 'require_agreement: {said}'; "
                "keep only 'gate' (none, post or read)",
            )
        ]
    if reminder.gate != "read":
        return []
    problems: list[Problem] = []
    if reminder.delivery not in ("private", "both"):
        problems.append(
            Problem(
                at,
                f"'gate: read' needs 'delivery: private' or 'both': with "
                f"'{reminder.delivery}' the reminder would go into the room a newcomer "
                "cannot read yet, so they could never agree",
            )
        )
    welcome = reminder.welcome_room
    if welcome is not None and any(
        ref.platform == welcome.platform
        and ref.selector[0] == welcome.selector[0]
        and ref.selector[1].casefold() == welcome.selector[1].casefold()
        for ref in policy.rooms
    ):
        problems.append(
            Problem(
                document.value_pos(("reminder", "welcome_room")),
                f"'welcome_room' ({welcome.describe()}) is a room this policy keeps "
                "closed until a newcomer agrees, so they could not read the reminder there; "
                "name a room everyone can read (such as #welcome or #rules)",
            )
        )
    unsupported = [ref for ref in policy.rooms if not supports_read_gate(ref.platform)]
    if unsupported:
        platform = unsupported[0].platform
        problems.append(
            Problem(
                at,
                f"'gate: read' is not yet available on {PLATFORM_LABELS.get(platform, platform)}"
                f" (this policy covers the {unsupported[0].describe()}); use 'gate: post' "
                "there for now",
            )
        )
    return problems
