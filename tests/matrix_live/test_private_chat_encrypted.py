"""A private chat that is really private, on a real Synapse.

A member may open a direct chat with the bot themselves, without encryption (Matrix clients
let them), and it lands in the bot's m.direct. The bot used it for the member's reminder
and uploaded their /mydata export there as plaintext media the homeserver could read. Now
nothing private goes there: the reminder and the export go to an encrypted chat the bot
opens, the export's media is encrypted (``file``, not ``url``), and the member's own chat
hears only one notice without private content.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from nio import (
    AsyncClient,
    DirectRoomsResponse,
    JoinResponse,
    MatrixRoom,
    MemoryDownloadResponse,
    RoomCreateResponse,
    RoomEncryptedFile,
    RoomMessageFile,
    RoomSendResponse,
)
from nio.crypto.attachments import decrypt_attachment

from adapters.matrix.homeserver import LocalSynapse
from bot import texts
from tests.matrix_live.conftest import sync_once
from tests.matrix_live.rig import REMINDER, BotWorld, create_world, say, wait_until, watch

NOTICE = texts.unencrypted_private_chat()


@pytest.fixture
async def world(synapse: LocalSynapse, tmp_path: Path, matrix_client) -> AsyncIterator[BotWorld]:  # type: ignore[no-untyped-def]
    built = await create_world(synapse, tmp_path, matrix_client)
    try:
        await built.start_bot()
        await wait_until([built.mod], built.bot_joined, "the bot joined the covered room")
        yield built
    finally:
        await built.stop_bot()


async def unencrypted_dm_with_the_bot(world: BotWorld, member: AsyncClient) -> str:
    """The member opens a direct chat with the bot, without encryption, and the bot joins."""
    await sync_once(member)
    created = await member.room_create(is_direct=True, invite=[world.bot_id])
    assert isinstance(created, RoomCreateResponse), created
    dm = created.room_id
    await wait_until(
        [member],
        lambda: (
            dm in member.rooms
            and world.bot_id in member.rooms[dm].users
            and world.bot_id not in member.rooms[dm].invited_users
        ),
        "the bot joined the member's private chat",
    )
    assert not member.rooms[dm].encrypted
    return dm


async def test_reminder_and_export_never_go_into_the_members_unencrypted_chat(
    world: BotWorld,
    matrix_client,  # type: ignore[no-untyped-def]
    synapse: LocalSynapse,
) -> None:
    erin = await matrix_client("erin")
    notices = watch(erin)
    files: list[tuple[str, RoomEncryptedFile | RoomMessageFile]] = []

    async def on_file(room: MatrixRoom, event: RoomEncryptedFile | RoomMessageFile) -> None:
        files.append((room.room_id, event))

    erin.add_event_callback(on_file, (RoomEncryptedFile, RoomMessageFile))  # type: ignore[arg-type]
    dm = await unencrypted_dm_with_the_bot(world, erin)
    adapter = world.adapter
    assert adapter is not None and adapter.client is not None
    # the bot knows it as erin's private chat, in its m.direct on the server too
    await wait_until(
        [erin], lambda: dm in adapter.chats.by_member.get(erin.user_id, []), "m.direct"
    )
    direct = await adapter.client.list_direct_rooms()
    assert isinstance(direct, DirectRoomsResponse) and dm in direct.rooms[erin.user_id]

    # the reminder: in an encrypted chat the bot opened, not in erin's own
    assert isinstance(await erin.join(world.room_id), JoinResponse)
    await wait_until([erin], lambda: bool(notices.containing(REMINDER)), "the reminder")
    [(private, _)] = notices.containing(REMINDER)
    assert private not in (dm, world.room_id)
    assert erin.rooms[private].encrypted
    await wait_until([erin], lambda: NOTICE in notices.in_room(dm), "the notice in erin's chat")

    # the export, asked for in the unencrypted chat itself
    sent = await say(erin, dm, "!mydata")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until([erin], lambda: bool(files), "the export file")
    [(room_id, event)] = files
    assert room_id == private and isinstance(event, RoomEncryptedFile)
    content = event.source["content"]
    assert "file" in content and "url" not in content  # an encrypted attachment
    mxc = content["file"]["url"]
    # what the homeserver hands anyone who asks for the media: ciphertext without the canary
    downloaded = await erin.download(mxc=mxc)
    assert isinstance(downloaded, MemoryDownloadResponse), downloaded
    canary = erin.user_id.encode()  # the export names its member; the ciphertext must not
    assert canary not in downloaded.body and b'"member"' not in downloaded.body
    clear = decrypt_attachment(downloaded.body, event.key["k"], event.hashes["sha256"], event.iv)
    assert json.loads(clear)["member"] == {"platform": "matrix", "id": erin.user_id}
    media_id = mxc.rsplit("/", 1)[1]
    stored = [f for f in (synapse.data_dir / "media_store").rglob("*") if f.is_file()]
    assert any(f.name == media_id or f.read_bytes() == downloaded.body for f in stored)
    assert not any(canary in f.read_bytes() for f in stored)

    # a command typed in erin's chat is answered in the encrypted one; hers hears where
    sent = await say(erin, dm, "!help")
    assert isinstance(sent, RoomSendResponse), sent
    await wait_until([erin], lambda: bool(notices.containing("Commands you can use")), "help")
    assert {rid for rid, _ in notices.containing("Commands you can use")} == {private}
    await wait_until([erin], lambda: len(notices.in_room(dm)) >= 2, "the pointer in erin's chat")
    # erin's unencrypted chat got the notice and nothing else: no reminder, no file, no text
    assert set(notices.in_room(dm)) == {NOTICE}
    assert all(rid != dm for rid, _ in files)
    assert all(REMINDER not in body for rid, body in notices.seen if rid == dm)
    assert {rid for rid, _ in notices.containing(REMINDER)} == {private}
    assert notices.undecryptable == []
