"""Answers that speak of a private message are true only once it was delivered.

A command whose answer goes to the member's private chat (a check-in, an export, their
history) used to say "sent to you privately" up front, also when the platform refused the
message (closed DMs). Here the pointer is tied to the delivery instead, and a refusal is
answered plainly, with how to open the private chat.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from bot import texts
from bot.actions import Action, SendPrivate
from bot.events import CommandInvoked

if TYPE_CHECKING:
    from bot.core import Core


def confirmed(
    core: Core, event: CommandInvoked, actions: list[Action], said: str | None = None
) -> list[Action]:
    """Say "sent to you privately" only once it was: the first private message to the
    invoker carries that answer (done after delivery) and, as its fallback, a plain answer
    that it could not be delivered and how to open the private chat. Nothing private is
    put in the room instead: it is the member's own data."""
    who = event.invoker
    index = next(
        (i for i, a in enumerate(actions) if isinstance(a, SendPrivate) and a.member == who),
        None,
    )
    if index is None:
        return actions
    first = actions[index]
    assert isinstance(first, SendPrivate)
    prefix = core.prefix(event.room.platform)
    command = f"{prefix}{event.name}"
    not_delivered = core.reply(event, texts.private_not_delivered(event.room.platform, command))
    then = () if event.room.is_private_chat else (core.reply(event, texts.sent_privately(said)),)
    first = dataclasses.replace(first, then=(*first.then, *then), fallback=(not_delivered,))
    return [*actions[:index], first, *actions[index + 1 :]]
