"""Every store backend has every method of the ``Store`` protocol, with its signature.

The core types against the protocol only; a backend missing a method, or taking its
arguments in another order or with another default, would fail only when that path runs
on that backend. This compares them all at once.
"""

from __future__ import annotations

import inspect

import pytest

from bot.store.protocol import Store
from bot.store.sqlite import SqliteStore


def protocol_methods() -> list[str]:
    return sorted(
        name for name, value in vars(Store).items()
        if not name.startswith("_") and callable(value)
    )


def kind(function: object) -> str:
    if inspect.isasyncgenfunction(function):
        return "async generator"
    if inspect.iscoroutinefunction(function):
        return "coroutine"
    return "plain"


def backends() -> list[type]:
    from bot.store.postgres import PostgresStore

    return [SqliteStore, PostgresStore]


def test_the_protocol_lists_the_methods_the_core_calls() -> None:
    names = protocol_methods()
    assert len(names) > 100
    for name in ("add_reminder", "save_flag", "index_groups", "add_alert", "close"):
        assert name in names


@pytest.mark.parametrize("backend", backends(), ids=lambda b: b.__name__)
def test_a_backend_implements_every_method_with_the_same_signature(backend: type) -> None:
    missing = [name for name in protocol_methods() if not hasattr(backend, name)]
    assert missing == []
    for name in protocol_methods():
        wanted = getattr(Store, name)
        found = getattr(backend, name)
        assert kind(found) == kind(wanted) or (
            # a protocol says ``def f() -> AsyncIterator``; an implementation may be an
            # async generator, which is the same thing to the caller
            kind(wanted) == "plain" and kind(found) == "async generator"
        ), name
        assert str(inspect.signature(found)) == str(inspect.signature(wanted)), name


def test_a_backend_has_no_public_method_the_protocol_lacks() -> None:
    """A method only one backend has is one the core cannot call without naming it."""
    allowed = {"open"}
    for backend in backends():
        extra = {
            name for name, value in inspect.getmembers(backend)
            if not name.startswith("_") and callable(value)
        } - set(protocol_methods()) - allowed
        assert extra == set(), backend.__name__
