"""Carrying out the core's actions on Matrix: what each action means as homeserver calls.

Kept apart from the syncing side: this module only sends. It needs the private chats, a
way to wait until a room is in nio's state and a way to make sure a room's members' devices
are known before encrypting, which the adapter hands it.
"""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Awaitable, Callable
from html import escape
from typing import Any

from nio import (
    AsyncClient,
    ErrorResponse,
    JoinError,
    RoomGetStateEventResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    UploadResponse,
)

from adapters.matrix import translate
from adapters.matrix.direct import PrivateChats, WaitForRoom
from adapters.matrix.powers import CannotChangeLevel, with_posting
from adapters.matrix.session import PendingInvite
from bot.actions import (
    Action,
    ActionNotSupported,
    ActionRefused,
    AlertModerators,
    Attachment,
    DeleteMessage,
    JoinRoom,
    LeaveRoom,
    PostToRoom,
    PrivateMessageRefused,
    RemoveFromRoom,
    ReplyToInvoker,
    SendPrivate,
    SetPostingAllowed,
    TimeoutMember,
)
from bot.events import Member

log = logging.getLogger("confidant.matrix")


class MatrixError(RuntimeError):
    """A homeserver answer the adapter cannot work with (turned from nio's error values)."""


class MatrixOutbound:
    def __init__(
        self,
        client: AsyncClient,
        user_id: str,
        encryption: bool,
        chats: PrivateChats,
        wait_for_room: WaitForRoom,
        know_member_devices: Callable[[str], Awaitable[None]],
        note_pending_invite: Callable[[PendingInvite], None],
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.encryption = encryption
        self.chats = chats
        self.wait_for_room = wait_for_room
        self.know_member_devices = know_member_devices
        self.note_pending_invite = note_pending_invite
        self._room_locks: dict[str, asyncio.Lock] = {}
        self._alias_cache: dict[str, str] = {}

    async def perform(self, action: Action) -> None:
        handler = self._action_handlers().get(type(action))
        if handler is None:
            raise ActionNotSupported(type(action).__name__)
        await handler(action)

    def _action_handlers(self) -> dict[type, Callable[[Any], Awaitable[None]]]:
        return {
            SendPrivate: self._send_private,
            PostToRoom: self._post,
            ReplyToInvoker: self._reply,
            AlertModerators: self._alert,
            DeleteMessage: self._delete,
            SetPostingAllowed: self._set_posting,
            TimeoutMember: self._timeout,
            RemoveFromRoom: self._remove,
            JoinRoom: self._join,
            LeaveRoom: self._leave,
        }

    async def _send_private(self, action: SendPrivate) -> None:
        log.debug("matrix: private message %s to %s", action.idempotency_key, action.member.id)
        room_id, joined = await self.chats.open(action.member.id)
        # buttons need nothing here: the core's text lists the choices to type
        await self._send(room_id, action.text, tx_id=action.idempotency_key)
        if action.attachment is not None:
            key = action.idempotency_key
            await self._send_file(room_id, action.attachment, f"{key}-file" if key else None)
        if not joined and action.unread_timeout_s and action.idempotency_key:
            self.note_pending_invite(
                PendingInvite(
                    room_id,
                    action.member.id,
                    action.idempotency_key,
                    time.time() + action.unread_timeout_s,
                )
            )

    async def _post(self, action: PostToRoom) -> None:
        room_id = await self._resolve(action.room.id)
        await self._send(room_id, action.text, mention=action.mention, tx_id=action.idempotency_key)

    async def _reply(self, action: ReplyToInvoker) -> None:
        """No ephemeral messages on Matrix: answer in the private chat, or the room."""
        log.debug("matrix: reply to %s", action.member.id)
        if action.room.is_private_chat:
            await self._send(action.room.id, action.text)
            return
        try:
            room_id, _ = await self.chats.open(action.member.id)
            await self._send(room_id, action.text)
        except PrivateMessageRefused:
            await self._send(action.room.id, action.text, mention=action.member)

    async def _alert(self, action: AlertModerators) -> None:
        room_id = await self._resolve_selector(action.room_selector)
        via = self.user_id.partition(":")[2] or None
        await self._send(room_id, action.with_links(lambda ref: translate.alert_link(ref, via)))

    async def _delete(self, action: DeleteMessage) -> None:
        response = await self.client.room_redact(
            action.room.id,
            action.message_id,
            reason="held back by the room's confidentiality policy",
        )
        if isinstance(response, ErrorResponse):
            raise ActionNotSupported(f"redaction refused: {response.status_code}")

    async def _set_posting(self, action: SetPostingAllowed) -> None:
        log.debug("matrix: %s may post in %s: %s", action.member.id, action.room.id, action.allowed)
        room_id = await self._resolve(action.room.id)
        lock = self._room_locks.setdefault(room_id, asyncio.Lock())
        async with lock:  # read-modify-write of one state event: never interleave
            current = await self.client.room_get_state_event(room_id, "m.room.power_levels")
            if not isinstance(current, RoomGetStateEventResponse):
                raise ActionNotSupported("cannot read the room's power levels")
            try:
                updated = with_posting(
                    current.content, self.user_id, action.member.id, action.allowed
                )
            except CannotChangeLevel as error:
                raise ActionNotSupported(str(error)) from None
            if updated is None:
                log.debug("matrix: %s in %s already as wanted", action.member.id, room_id)
                return
            response = await self.client.room_put_state(room_id, "m.room.power_levels", updated)
            if isinstance(response, ErrorResponse):
                raise ActionNotSupported(f"power levels refused: {response.status_code}")

    async def _timeout(self, action: TimeoutMember) -> None:
        """A repeat leaker's timeout: the power level below posting, as for a member who has
        not agreed; the core sends the end (``until=None``) when it is due."""
        allowed = action.until is None and action.restore_posting
        await self._set_posting(SetPostingAllowed(action.room, action.member, allowed))

    async def _remove(self, action: RemoveFromRoom) -> None:
        """A repeat leaker out of a confidential room: a kick (they may be invited back)."""
        room_id = await self._resolve(action.room.id)
        reason = "removed after repeat leaks of this room (confirmed by its moderators)"
        response = await self.client.room_kick(room_id, action.member.id, reason=reason)
        if isinstance(response, ErrorResponse):
            raise ActionRefused(f"kick refused: {response.status_code}")

    async def _join(self, action: JoinRoom) -> None:
        response = await self.client.join(action.room.id)
        if isinstance(response, JoinError):
            raise MatrixError(f"joining failed: {response.status_code}")
        log.info("matrix: joined %s", action.room.id)

    async def _leave(self, action: LeaveRoom) -> None:
        await self.client.room_leave(action.room.id)
        log.info("matrix: left or declined %s", action.room.id)

    async def _resolve(self, room: str) -> str:
        if room.startswith("#"):
            return await self._resolve_alias(room)
        return room

    async def _resolve_selector(self, selector: str) -> str:
        if selector.startswith(("!", "#")):
            return await self._resolve(selector)
        for matrix_room in self.client.rooms.values():
            if selector in {matrix_room.name, matrix_room.display_name}:
                return matrix_room.room_id
        raise ActionNotSupported(f"no joined room is called {selector!r}")

    async def _resolve_alias(self, alias: str) -> str:
        if alias in self._alias_cache:
            return self._alias_cache[alias]
        for matrix_room in self.client.rooms.values():
            if matrix_room.canonical_alias == alias:
                self._alias_cache[alias] = matrix_room.room_id
                return matrix_room.room_id
        response = await self.client.room_resolve_alias(alias)
        if not isinstance(response, RoomResolveAliasResponse):
            raise ActionNotSupported(f"the alias {alias} does not resolve")
        self._alias_cache[alias] = response.room_id
        return response.room_id

    async def _send(
        self, room_id: str, text: str, mention: Member | None = None, tx_id: str | None = None
    ) -> None:
        """Send a notice (bots send notices, so other bots do not answer them)."""
        content: dict[str, Any] = {"msgtype": "m.notice", "body": text}
        html = escape(text).replace("\n", "<br>")
        if mention is not None:
            name = mention.display_name or mention.id
            content["body"] = f"{name}: {text}"
            link = translate.permalink(mention.id).replace("https://matrix.to/#/", "")
            html = f'<a href="https://matrix.to/#/{escape(link)}">{escape(name)}</a>: {html}'
            content["m.mentions"] = {"user_ids": [mention.id]}
        else:
            content["m.mentions"] = {}
        content["format"] = "org.matrix.custom.html"
        content["formatted_body"] = html
        if room_id not in self.client.rooms:
            await self.wait_for_room(room_id, None)
        if self.encryption and room_id in self.chats.opened:
            room = self.client.rooms.get(room_id)
            if room is None or not room.encrypted:
                # never in plaintext: a private chat of ours is always created encrypted
                raise MatrixError("the private chat is not known as encrypted yet")
        await self.know_member_devices(room_id)
        response = await self.client.room_send(
            room_id,
            "m.room.message",
            content,
            tx_id=_txn(tx_id),
            ignore_unverified_devices=True,
        )
        if not isinstance(response, RoomSendResponse):
            raise MatrixError(f"sending failed: {getattr(response, 'status_code', response)}")
        log.debug("matrix: sent %s to %s", response.event_id, room_id)

    async def _send_file(
        self, room_id: str, attachment: Attachment, tx_id: str | None = None
    ) -> None:
        """An m.file. In an encrypted room the file is encrypted before upload and the event
        carries its key (``file`` instead of ``url``, as the spec asks for encrypted
        attachments): the homeserver's media store only ever holds ciphertext, and the key
        travels inside the Megolm-encrypted event."""
        room = self.client.rooms.get(room_id)
        encrypt = room is not None and room.encrypted
        if self.encryption and room_id in self.chats.opened and not encrypt:
            raise MatrixError("the private chat is not known as encrypted yet")
        uploaded, keys = await self.client.upload(
            io.BytesIO(attachment.data),
            content_type=attachment.media_type,
            filename=attachment.name,
            encrypt=encrypt,
            filesize=len(attachment.data),
        )
        if not isinstance(uploaded, UploadResponse):
            raise MatrixError(f"uploading failed: {getattr(uploaded, 'status_code', uploaded)}")
        content = file_content(attachment, uploaded.content_uri, keys if encrypt else None)
        await self.know_member_devices(room_id)
        response = await self.client.room_send(
            room_id, "m.room.message", content, tx_id=_txn(tx_id), ignore_unverified_devices=True
        )
        if not isinstance(response, RoomSendResponse):
            raise MatrixError(f"sending failed: {getattr(response, 'status_code', response)}")
        log.debug("matrix: sent file %s to %s", response.event_id, room_id)


def file_content(
    attachment: Attachment, content_uri: str, keys: dict[str, Any] | None
) -> dict[str, Any]:
    """The m.file event: ``url`` for a plain upload, ``file`` (url plus the decryption
    keys) for an encrypted one."""
    content: dict[str, Any] = {
        "msgtype": "m.file",
        "body": attachment.name,
        "filename": attachment.name,
        "info": {"mimetype": attachment.media_type, "size": len(attachment.data)},
        "m.mentions": {},
    }
    if keys is None:
        content["url"] = content_uri
    else:
        content["file"] = {**keys, "url": content_uri}
    return content


def _txn(key: str | None) -> str | None:
    """Transaction ids make a resend after a crash idempotent on the homeserver."""
    if key is None:
        return None
    return "confidant-" + "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
