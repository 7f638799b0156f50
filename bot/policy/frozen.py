"""Immutable models built from parsed YAML, checked against their own type annotations.

The config and policy models declare their fields as annotated class attributes with
defaults, and their rules as field and model validators; this module builds them. It does
the small part of a general validation library the bot uses (strict types, ``ge``/``le``
limits, every error found in one pass, each with its path in the document), so the running
bot does not keep a whole such library in memory: pydantic alone was about 6 MB of a
72 MB budget. The error records have the shape :mod:`bot.policy.validate` words for
moderators (``type``, ``loc``, ``msg``, ``input``, ``ctx``).

Strict means a value is taken only as what it is: ``"yes"`` is no boolean, ``"7"`` no
number, ``true`` no number. Built from Python (``RoomRef(platform=..., id=...)``) rather
than from a file, a text is also taken for a path and a list for a tuple.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal, Self, Union, get_args, get_origin

from bot.secret import HIDDEN, SecretStr

Loc = tuple[str | int, ...]
ErrorDetails = dict[str, Any]

_MISSING: Any = object()
_INVALID: Any = object()


class Invalid(ValueError):
    """An error whose message is already worded for moderators and is shown verbatim."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(ValueError):
    """Every reason a model could not be built. Its text names where and why, never the
    values given (they may be secrets or what a member wrote)."""

    def __init__(self, title: str, details: list[ErrorDetails]) -> None:
        self.title = title
        self._details = details
        lines = [f"{len(details)} validation error{'s' if len(details) != 1 else ''} for {title}"]
        for detail in details:
            where = ".".join(str(part) for part in detail["loc"]) or title
            lines.append(f"{where}\n  {detail['msg']} [type={detail['type']}]")
        super().__init__("\n".join(lines))

    def errors(self, include_url: bool = False) -> list[ErrorDetails]:
        return [dict(detail) for detail in self._details]

    def error_count(self) -> int:
        return len(self._details)


class BeforeValidator:
    """In ``Annotated[T, BeforeValidator(f)]``: ``f(value)`` runs before T's type check."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func


class AfterValidator:
    """In ``Annotated[T, AfterValidator(f)]``: ``f(value)`` runs on a value of type T."""

    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func


class ValidationInfo:
    """What a field validator may read: the fields already valid, in declaration order."""

    def __init__(self, data: dict[str, Any], context: Any, field_name: str) -> None:
        self.data = data
        self.context = context
        self.field_name = field_name


class FieldInfo:
    """One declared field: its default and limits; its type resolved on first use."""

    def __init__(
        self,
        default: Any = _MISSING,
        *,
        default_factory: Callable[[], Any] | None = None,
        ge: float | None = None,
        gt: float | None = None,
        le: float | None = None,
        lt: float | None = None,
        validate_default: bool = False,
    ) -> None:
        self.default = default
        self.default_factory = default_factory
        self.limits = {
            k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt)) if v is not None
        }
        self.validate_default = validate_default
        self.name = ""
        self.owner: type[Model] | None = None

    @property
    def required(self) -> bool:
        return self.default is _MISSING and self.default_factory is None

    def make_default(self) -> Any:
        return self.default_factory() if self.default_factory is not None else self.default

    @property
    def annotation(self) -> Any:
        assert self.owner is not None
        return self.owner._hints()[self.name]


def Field(
    default: Any = _MISSING,
    *,
    default_factory: Callable[[], Any] | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    validate_default: bool = False,
) -> Any:
    return FieldInfo(
        default,
        default_factory=default_factory,
        ge=ge,
        gt=gt,
        le=le,
        lt=lt,
        validate_default=validate_default,
    )


class _Validator:
    def __init__(self, func: Any, fields: tuple[str, ...], mode: str) -> None:
        self.bound = isinstance(func, classmethod)
        self.func = func.__func__ if self.bound else func
        self.fields = fields
        self.mode = mode
        params = len(inspect.signature(self.func).parameters) - (1 if self.bound else 0)
        self.wants_info = params >= 2

    def call(self, cls: type, value: Any, info: ValidationInfo) -> Any:
        args = (value, info) if self.wants_info else (value,)
        return self.func(cls, *args) if self.bound else self.func(*args)


def field_validator(
    *fields: str, mode: Literal["before", "after"] = "after"
) -> Callable[[Any], Any]:
    """Marks ``func`` (a classmethod or a plain function of ``value[, info]``) as a check
    of the named fields: ``before`` the type check (it may convert), or ``after`` it."""
    return lambda func: _Validator(func, fields, mode)


class _ModelValidator:
    def __init__(self, func: Callable[[Any], Any]) -> None:
        self.func = func


def model_validator(*, mode: Literal["after"]) -> Callable[[Any], Any]:
    """Marks a method that checks the whole model once every field is valid."""
    return _ModelValidator


class _Run:
    """One validation: its options and the errors found so far."""

    def __init__(self, strict: bool, context: Any) -> None:
        self.strict = strict
        self.context = context
        self.errors: list[ErrorDetails] = []

    def fail(
        self, kind: str, loc: Loc, value: Any, msg: str, ctx: dict[str, Any] | None = None
    ) -> Any:
        detail: ErrorDetails = {"type": kind, "loc": loc, "msg": msg, "input": value}
        if ctx is not None:
            detail["ctx"] = ctx
        self.errors.append(detail)
        return _INVALID

    def raised(self, error: ValueError, loc: Loc, value: Any) -> Any:
        if isinstance(error, Invalid):
            return self.fail("confidant", loc, value, error.message)
        return self.fail("value_error", loc, value, f"Value error, {error}", {"error": error})


_TYPE_ERRORS = {
    bool: ("bool_type", "Input should be a valid boolean"),
    int: ("int_type", "Input should be a valid integer"),
    float: ("float_type", "Input should be a valid number"),
    str: ("string_type", "Input should be a valid string"),
}
_LIMITS = {
    "ge": ("greater_than_equal", lambda v, n: v >= n, "greater than or equal to"),
    "gt": ("greater_than", lambda v, n: v > n, "greater than"),
    "le": ("less_than_equal", lambda v, n: v <= n, "less than or equal to"),
    "lt": ("less_than", lambda v, n: v < n, "less than"),
}


def _check(annotation: Any, value: Any, loc: Loc, run: _Run) -> Any:
    """``value`` as ``annotation`` says, or _INVALID with the errors recorded in ``run``."""
    origin = get_origin(annotation)
    if origin is typing.Annotated:
        inner, *meta = get_args(annotation)
        for item in meta:
            if isinstance(item, BeforeValidator):
                try:
                    value = item.func(value)
                except ValueError as error:
                    return run.raised(error, loc, value)
        value = _check(inner, value, loc, run)
        for item in meta:
            if isinstance(item, AfterValidator) and value is not _INVALID:
                try:
                    value = item.func(value)
                except ValueError as error:
                    return run.raised(error, loc, value)
        return value
    if annotation is Any:
        return value
    if origin in (Union, types.UnionType):
        return _check_union(get_args(annotation), value, loc, run)
    if origin is Literal:
        allowed = get_args(annotation)
        if any(value == a and type(value) is type(a) for a in allowed):
            return value
        expected = " or ".join(repr(a) for a in allowed)
        return run.fail(
            "literal_error", loc, value, f"Input should be {expected}", {"expected": expected}
        )
    if origin is tuple:
        return _check_tuple(get_args(annotation), value, loc, run)
    if origin is dict:
        return _check_dict(get_args(annotation), value, loc, run)
    if inspect.isclass(annotation) and issubclass(annotation, Model):
        return annotation._build(value, loc, run)
    return _check_plain(annotation, value, loc, run)


def _check_plain(annotation: Any, value: Any, loc: Loc, run: _Run) -> Any:
    if annotation in _TYPE_ERRORS:
        kind, msg = _TYPE_ERRORS[annotation]
        if annotation is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, annotation) and not (annotation is int and isinstance(value, bool)):
            return value
        return run.fail(kind, loc, value, msg)
    if annotation is SecretStr:
        if isinstance(value, SecretStr):
            return value
        if isinstance(value, str):
            return SecretStr(value)
        return run.fail("string_type", loc, value, "Input should be a valid string")
    if annotation is Path:
        if isinstance(value, Path):
            return value
        if isinstance(value, str) and not run.strict:
            return Path(value)
        return run.fail("path_type", loc, value, "Input is not a valid path")
    if isinstance(value, annotation):
        return value
    name = getattr(annotation, "__name__", str(annotation))
    return run.fail(
        "is_instance_of", loc, value, f"Input should be an instance of {name}", {"class": name}
    )


def _check_union(arms: tuple[Any, ...], value: Any, loc: Loc, run: _Run) -> Any:
    if value is None and type(None) in arms:
        return None
    arms = tuple(arm for arm in arms if arm is not type(None))
    first: list[ErrorDetails] | None = None
    for arm in arms:
        trial = _Run(run.strict, run.context)
        result = _check(arm, value, loc, trial)
        if result is not _INVALID:
            return result
        first = trial.errors if first is None else first
    # Reported as the first kind the value could be (a path, for the database setting).
    run.errors.extend(first or [])
    return _INVALID


def _check_tuple(args: tuple[Any, ...], value: Any, loc: Loc, run: _Run) -> Any:
    if not isinstance(value, tuple | list):
        return run.fail("tuple_type", loc, value, "Input should be a valid tuple")
    if len(args) == 2 and args[1] is Ellipsis:
        kinds = [args[0]] * len(value)
    elif len(args) != len(value):
        return run.fail("tuple_type", loc, value, f"Input should have {len(args)} items")
    else:
        kinds = list(args)
    items = [
        _check(kind, item, (*loc, i), run)
        for i, (kind, item) in enumerate(zip(kinds, value, strict=True))
    ]
    return _INVALID if any(item is _INVALID for item in items) else tuple(items)


def _check_dict(args: tuple[Any, ...], value: Any, loc: Loc, run: _Run) -> Any:
    if not isinstance(value, Mapping):
        return run.fail("dict_type", loc, value, "Input should be a valid dictionary")
    key_kind, value_kind = args or (Any, Any)
    out: dict[Any, Any] = {}
    ok = True
    for key, item in value.items():
        checked_key = _check(key_kind, key, (*loc, key, "[key]"), run)
        checked = _check(value_kind, item, (*loc, key), run)
        ok = ok and checked_key is not _INVALID and checked is not _INVALID
        out[checked_key] = checked
    return out if ok else _INVALID


def _within(limits: Mapping[str, float], value: Any, loc: Loc, run: _Run, given: Any) -> Any:
    """``value`` if it keeps the field's limits; an error quotes the ``given`` input (``0``
    as written, not the ``0.0`` a number field made of it)."""
    if value is None or not isinstance(value, int | float) or isinstance(value, bool):
        return value
    for name, limit in limits.items():
        kind, holds, words = _LIMITS[name]
        limit = float(limit) if isinstance(value, float) else limit  # in the field's own type
        if not holds(value, limit):
            return run.fail(kind, loc, given, f"Input should be {words} {limit}", {name: limit})
    return value


class Model:
    """A frozen, hashable record whose fields are its annotated class attributes."""

    model_fields: ClassVar[dict[str, FieldInfo]] = {}
    _field_checks: ClassVar[dict[str, list[_Validator]]] = {}
    _model_checks: ClassVar[list[Callable[[Any], Any]]] = []
    _resolved: ClassVar[dict[str, Any] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, FieldInfo] = {}
        checks: dict[str, list[_Validator]] = {}
        model_checks: list[Callable[[Any], Any]] = []
        for base in reversed(cls.__mro__[:-1]):
            if not (issubclass(base, Model) and base is not Model):
                continue
            own = base.__dict__
            for name, raw in own.get("__annotations__", {}).items():
                if name.startswith("_") or "ClassVar" in str(raw):
                    continue
                given = own.get(name, _MISSING)
                info = given if isinstance(given, FieldInfo) else FieldInfo(given)
                info.name, info.owner = name, cls
                fields[name] = info
            for attr in own.values():
                if isinstance(attr, _Validator):
                    for name in attr.fields:
                        checks.setdefault(name, []).append(attr)
                elif isinstance(attr, _ModelValidator):
                    model_checks.append(attr.func)
        for name, info in fields.items():
            if info.default is not _MISSING and name in cls.__dict__:
                setattr(cls, name, info.default)
        cls.model_fields = fields
        cls._field_checks = checks
        cls._model_checks = model_checks
        cls._resolved = None

    @classmethod
    def _hints(cls) -> dict[str, Any]:
        """The fields' types, read on first use: a model may name one declared after it."""
        if cls._resolved is None:
            hints = typing.get_type_hints(cls, include_extras=True)
            cls._resolved = {name: hints[name] for name in cls.model_fields}
        return cls._resolved

    @classmethod
    def _build(cls, data: Any, loc: Loc, run: _Run) -> Any:
        if isinstance(data, cls):
            return data
        if not isinstance(data, Mapping):
            return run.fail(
                "model_type",
                loc,
                data,
                f"Input should be a valid dictionary or instance of {cls.__name__}",
            )
        hints = cls._hints()
        values: dict[str, Any] = {}
        failed = False
        for name, info in cls.model_fields.items():
            at = (*loc, name)
            if name in data:
                value = data[name]
            elif info.required:
                run.fail("missing", at, data, "Field required")
                failed = True
                continue
            else:
                value = info.make_default()
                if not info.validate_default:
                    values[name] = value
                    continue
            value = cls._field(name, hints[name], info, value, at, run, values)
            if value is _INVALID:
                failed = True
            else:
                values[name] = value
        for key in data:
            if key not in cls.model_fields:
                run.fail(
                    "extra_forbidden", (*loc, key), data[key], "Extra inputs are not permitted"
                )
                failed = True
        if failed:
            return _INVALID
        made = cls._raw(values, frozenset(k for k in data if k in cls.model_fields))
        for check in cls._model_checks:
            try:
                made = check(made)
            except ValueError as error:
                return run.raised(error, loc, data)
        return made

    @classmethod
    def _field(
        cls,
        name: str,
        annotation: Any,
        info: FieldInfo,
        value: Any,
        at: Loc,
        run: _Run,
        valid: dict[str, Any],
    ) -> Any:
        checks = cls._field_checks.get(name, [])
        context = ValidationInfo(valid, run.context, name)
        try:
            for check in reversed([c for c in checks if c.mode == "before"]):
                value = check.call(cls, value, context)
        except ValueError as error:
            return run.raised(error, at, value)
        given = value
        value = _check(annotation, value, at, run)
        if value is _INVALID:
            return value
        value = _within(info.limits, value, at, run, given)
        if value is _INVALID:
            return value
        try:
            for check in (c for c in checks if c.mode == "after"):
                value = check.call(cls, value, context)
        except ValueError as error:
            return run.raised(error, at, value)
        return value

    @classmethod
    def _raw(cls, values: dict[str, Any], given: Iterable[str]) -> Self:
        made = cls.__new__(cls)
        object.__setattr__(made, "__dict__", dict(values))
        object.__setattr__(made, "_fields_given", frozenset(given))
        return made

    @classmethod
    def model_validate(cls, data: Any, *, strict: bool = False, context: Any = None) -> Self:
        run = _Run(strict, context)
        made = cls._build(data, (), run)
        if made is _INVALID:
            raise ValidationError(cls.__name__, run.errors)
        return typing.cast(Self, made)

    def __init__(self, **data: Any) -> None:
        made = type(self).model_validate(data)
        object.__setattr__(self, "__dict__", made.__dict__)

    @property
    def model_fields_set(self) -> frozenset[str]:
        """The fields the data gave (rather than left to their defaults)."""
        return self.__dict__.get("_fields_given", frozenset())

    def __setattr__(self, name: str, value: Any) -> None:
        detail = {
            "type": "frozen_instance",
            "loc": (name,),
            "msg": "Instance is frozen",
            "input": None,
        }
        raise ValidationError(type(self).__name__, [detail])

    def __delattr__(self, name: str) -> None:
        self.__setattr__(name, None)

    def _values(self) -> tuple[Any, ...]:
        return tuple(self.__dict__[name] for name in type(self).model_fields)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == typing.cast(Model, other)._values()

    def __hash__(self) -> int:
        return hash((type(self), self._values()))

    def __repr_args__(self) -> list[tuple[str, Any]]:
        return [(name, self.__dict__[name]) for name in type(self).model_fields]

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.__repr_args__())
        return f"{type(self).__name__}({shown})"

    def __str__(self) -> str:
        return " ".join(f"{name}={value!r}" for name, value in self.__repr_args__())

    def model_copy(self, *, update: Mapping[str, Any] | None = None) -> Self:
        """A copy with ``update`` applied as given (not validated again, as a copy of a
        valid model with values made by the program)."""
        values = {**{n: self.__dict__[n] for n in type(self).model_fields}, **(update or {})}
        return type(self)._raw(values, self.model_fields_set | set(update or {}))

    def model_dump(self, *, include: Iterable[str] | None = None) -> dict[str, Any]:
        names = [n for n in type(self).model_fields if include is None or n in set(include)]
        return {name: _dumped(self.__dict__[name]) for name in names}

    def model_dump_json(self) -> str:
        return json.dumps(self.model_dump(), default=_json_value)


def _dumped(value: Any) -> Any:
    if isinstance(value, Model):
        return value.model_dump()
    if isinstance(value, tuple):
        return tuple(_dumped(item) for item in value)
    if isinstance(value, dict):
        return {key: _dumped(item) for key, item in value.items()}
    return value


def _json_value(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return HIDDEN if value.get_secret_value() else ""
    if isinstance(value, Path):
        return str(value)
    return str(value)
