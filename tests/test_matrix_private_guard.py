"""The Matrix adapter's one gate for every message: nothing private into a plaintext chat.

Without a homeserver: a stand-in client that records sends shows that whatever path a
message takes (a post, a reply, a file), a private chat of the bot's that is not end-to-end
encrypted only ever receives the notice saying so, and that a private thread, which Matrix
does not have, is refused rather than posted in the room.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from nio import RoomSendResponse

from adapters.matrix.direct import PrivateChats
from adapters.matrix.outbound import MatrixOutbound, PlaintextRefused
from bot import texts
from bot.actions import (
    ActionNotSupported,
    Attachment,
    PostToRoom,
    PrivateMessageRefused,
    SendPrivate,
)
from bot.events import Member, Room

BOT = "@bot:x"
ANN = "@ann:x"
PLAIN_DM = "!ann-plain:x"
CIRCLE = "!circle:x"


class Client:
    """Just enough of nio's AsyncClient: rooms, and sends that are recorded."""

    olm = None
    access_token = "not-a-real-token"

    def __init__(self) -> None:
        self.rooms = {
            PLAIN_DM: SimpleNamespace(
                encrypted=False, users={BOT: None, ANN: None}, invited_users={}
            ),
            CIRCLE: SimpleNamespace(encrypted=False, users={BOT: None}, invited_users={}),
        }
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.uploads = 0

    async def room_send(self, room_id: str, _: str, content: dict[str, Any], **__: Any) -> Any:
        self.sent.append((room_id, content))
        return RoomSendResponse(f"$e{len(self.sent)}", room_id)

    async def upload(self, *_: Any, **__: Any) -> Any:
        self.uploads += 1
        raise AssertionError("nothing is uploaded for a plaintext chat")


def outbound() -> tuple[MatrixOutbound, Client]:
    client = Client()

    async def never(room_id: str, member_id: str | None = None) -> None:
        raise AssertionError("not used")

    async def nothing(_: str) -> None:
        return None

    chats = PrivateChats(client, BOT, True, never)  # type: ignore[arg-type]
    chats.by_member = {ANN: [PLAIN_DM]}  # ann opened it herself, without encryption
    out = MatrixOutbound(client, BOT, True, chats, never, nothing, lambda _: None)  # type: ignore[arg-type]
    return out, client


async def test_a_plaintext_private_chat_takes_only_the_notice() -> None:
    out, client = outbound()
    with pytest.raises(PlaintextRefused):
        await out._send(PLAIN_DM, "What is shared in the circle stays in the circle.")
    with pytest.raises(PlaintextRefused):
        await out.perform(PostToRoom(Room("matrix", PLAIN_DM), "anything at all"))
    with pytest.raises(PlaintextRefused):
        await out._send_file(PLAIN_DM, Attachment("data.json", "application/json", b"{}"))
    assert client.sent == [] and client.uploads == 0
    await out._send(PLAIN_DM, texts.unencrypted_private_chat())
    assert [body["body"] for _, body in client.sent] == [texts.unencrypted_private_chat()]
    # a room that is nobody's private chat is not held to it
    await out._send(CIRCLE, "Confidentiality reminder for this room")
    assert client.sent[-1][0] == CIRCLE


async def test_a_private_message_is_never_sent_into_the_plaintext_chat() -> None:
    """No encrypted chat can be opened here (encryption is off): refused, not sent."""
    out, client = outbound()
    out.chats.encryption = False
    with pytest.raises(PrivateMessageRefused):
        await out.perform(SendPrivate(Member("matrix", ANN), "Your reminder"))
    assert client.sent == []


async def test_a_private_thread_is_refused_not_posted_in_the_room() -> None:
    out, client = outbound()
    action = PostToRoom(
        Room("matrix", CIRCLE), "Your reminder", mention=Member("matrix", ANN), private_thread=True
    )
    with pytest.raises(ActionNotSupported):
        await out.perform(action)
    assert client.sent == []


async def test_the_unencrypted_chat_notice_is_in_the_language_of_the_answer() -> None:
    """A command typed in the plaintext chat of a Spanish-speaking member is answered in the
    encrypted chat, and the plaintext chat hears where, in Spanish (and only that)."""
    from bot import i18n
    from bot.actions import ReplyToInvoker

    out, client = outbound()
    secret = "!ann-secret:x"
    client.rooms[secret] = SimpleNamespace(
        encrypted=True, users={BOT: None, ANN: None}, invited_users={}
    )

    async def opened(member_id: str) -> tuple[str, bool]:
        return secret, True

    out.chats.open = opened  # type: ignore[method-assign]
    room = Room("matrix", PLAIN_DM, "private chat", is_private_chat=True)
    with i18n.speaking("es"):  # the core makes its answer in the member's language
        answer = ReplyToInvoker(room, Member("matrix", ANN), "Todavía no tienes check-ins.")
        spanish = texts.unencrypted_private_chat()
    await out.perform(answer)
    assert client.sent[0] == (secret, client.sent[0][1])
    assert client.sent[1][0] == PLAIN_DM
    assert client.sent[1][1]["body"] == spanish
    assert spanish.startswith("Este chat no está cifrado")
