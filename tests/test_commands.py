"""The command registry: one declaration gives parsing, binding, usage and clash checks."""

from __future__ import annotations

import pytest

from bot.app import build_registry
from bot.commands import CommandSpec, Param, Permission, Registry, UsageError, bind


def test_longest_name_wins_and_args_are_split() -> None:
    registry = build_registry()
    parsed = registry.parse_text("/policy show circle", "/")
    assert parsed is not None
    assert parsed.spec.name == "policy show"
    assert parsed.argv == ("circle",)
    assert registry.parse_text("!Agree", "!") is not None
    assert registry.parse_text("agree", "/") is None
    assert registry.parse_text("/", "/") is None
    assert registry.parse_text("/nosuch", "/") is None
    assert registry.unknown_command("/nosuch thing", "/") == "nosuch"
    assert registry.unknown_command("/agree", "/") is None
    assert registry.unknown_command("/ hello", "/") is None


def test_bind_types_choices_and_rest() -> None:
    spec = CommandSpec(
        "note add",
        "add a note",
        params=(
            Param("count", "how many", kind=int),
            Param("mood", "mood", choices=("low", "ok", "good"), required=False),
            Param("text", "the rest", required=False, rest=True),
        ),
    )
    assert bind(spec, ("3", "OK", "a", "b")) == {"count": 3, "mood": "ok", "text": "a b"}
    assert bind(spec, (), {"count": "2"}) == {"count": 2, "mood": None, "text": None}
    with pytest.raises(UsageError, match="must be a whole number"):
        bind(spec, ("three",))
    with pytest.raises(UsageError, match="must be one of: low, ok, good"):
        bind(spec, ("1", "fine"))
    with pytest.raises(UsageError, match="missing <count>"):
        bind(spec, ())
    with pytest.raises(UsageError, match="unknown option 'colour'"):
        bind(spec, (), {"count": "1", "colour": "red"})
    with pytest.raises(UsageError, match="too many arguments"):
        bind(CommandSpec("x", "x"), ("extra",))


def test_usage_is_generated_from_the_spec() -> None:
    registry = build_registry()
    show = registry.get("policy show")
    assert show is not None
    assert show.usage("!") == "!policy show [name]"
    assert show.permission is Permission.MODERATOR


def test_clashes_are_refused() -> None:
    registry = Registry()
    registry.register(CommandSpec("policy show", "x"))
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(CommandSpec("policy show", "y"))
    with pytest.raises(ValueError, match="clashes with the command group"):
        registry.register(CommandSpec("policy", "z"))
    with pytest.raises(ValueError, match="one or two lowercase words"):
        registry.register(CommandSpec("Bad Name Here", "z"))
    with pytest.raises(ValueError, match="only the last parameter"):
        registry.register(
            CommandSpec("w", "w", params=(Param("a", "a", rest=True), Param("b", "b")))
        )
