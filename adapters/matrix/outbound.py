"""Carrying out the core's actions on Matrix: what each action means as homeserver calls.

Kept apart from the syncing side: this module only sends. It needs the private chats, a
way to wait until a room is in nio's state and a way to make sure a room's members' devices
are known before encrypting, which the adapter hands it.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import cache
from html import escape
from typing import Any

from nio import (
    AsyncClient,
    ErrorResponse,
    JoinError,
    RoomGetEventResponse,
    RoomGetStateEventResponse,
    RoomResolveAliasResponse,
    RoomSendResponse,
    UploadResponse,
)
from nio.api import Api

from adapters.matrix import translate
from adapters.matrix.direct import PrivateChats, WaitForRoom
from adapters.matrix.powers import CannotChangeLevel, with_posting
from adapters.matrix.session import PendingInvite
from bot import i18n, texts
from bot.actions import (
    Action,
    ActionNotSupported,
    ActionRefused,
    AlertModerators,
    Attachment,
    CheckMessage,
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
from bot.clock import Clock, SystemClock
from bot.events import BotPosted, Event, Member, MessageDeleted, Room
from bot.mentions import render

log = logging.getLogger("confidant.matrix")


class MatrixError(RuntimeError):
    """A homeserver answer the adapter cannot work with (turned from nio's error values)."""


class PlaintextRefused(MatrixError):
    """Something was about to go into a private chat that is not end-to-end encrypted."""


REDACT_REASON = "removed after the time the room's policy sets"


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
        *,
        clock: Clock | None = None,
        report: Callable[[Event], Awaitable[None]] | None = None,
        told_unencrypted: list[str] | None = None,
        save_told: Callable[[], None] | None = None,
    ) -> None:
        self.client = client
        self.user_id = user_id
        self.encryption = encryption
        self.chats = chats
        self.wait_for_room = wait_for_room
        self.know_member_devices = know_member_devices
        self.note_pending_invite = note_pending_invite
        self.clock = clock or SystemClock()
        self._report = report
        # The session state's own list: unencrypted private chats told once, across restarts.
        self._told = told_unencrypted if told_unencrypted is not None else []
        self._save_told = save_told or (lambda: None)
        self._room_locks: dict[str, asyncio.Lock] = {}
        # posting changes asked per room, written together by whoever holds the room's lock
        self._posting_asked: dict[str, list[tuple[str, bool, asyncio.Future[None]]]] = {}
        self._alias_cache: dict[str, str] = {}
        # Redactions waiting for their time, on the core's clock (tests move it). They live
        # in this process: a restart before their time leaves those posts standing.
        self._timers: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in list(self._timers):
            task.cancel()
        for task in list(self._timers):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

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
            CheckMessage: self._check_message,
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
        await self._tell_unencrypted(action.member.id, action.language)

    async def _post(self, action: PostToRoom) -> None:
        """A room post with what it asks for: an edit of an earlier post (m.replace), a
        redaction after a delay, its event id reported back. Matrix has no private threads:
        such a post is refused, so the core goes on to its next fallback, never posting
        the private text in the room itself."""
        if action.private_thread:
            raise ActionNotSupported("Matrix has no private threads")
        room_id = await self._resolve(action.room.id)
        key = action.idempotency_key
        text = render(action.text, self._display_name)
        event_id = None
        if action.replaces is not None and not await self._gone(room_id, action.replaces):
            await self._edit(room_id, action.replaces, text, key)
            event_id = action.replaces  # an edit keeps the message's identity
        if event_id is None:
            event_id = await self._send(
                room_id, text, mention=action.mention, tx_id=key, mentions=action.mentions
            )
        if action.delete_after_s is not None:
            self._redact_later(room_id, event_id, action.delete_after_s)
        if action.report_id and self._report is not None:
            await self._report(BotPosted(action.room, event_id, key, self.clock.now()))

    def _display_name(self, user_id: str) -> str:
        """A member named in an answer: their display name where a room the bot shares
        with them knows one, else their Matrix ID (readable, unlike a numeric id)."""
        for room in self.client.rooms.values():
            user = room.users.get(user_id)
            if user is not None and user.display_name:
                return f"{user.display_name} ({user_id})"
        return user_id

    async def _reply(self, action: ReplyToInvoker) -> None:
        """No ephemeral messages on Matrix: answer in the private chat, or the room. A
        command typed in an unencrypted private chat is answered in the encrypted one,
        and the chat it was typed in only hears where the answer went."""
        log.debug("matrix: reply to %s", action.member.id)
        action = replace(action, text=render(action.text, self._display_name))
        if action.room.is_private_chat:
            if self._encrypted(action.room.id):
                await self._send(action.room.id, action.text)
                return
            room_id, _ = await self.chats.open(action.member.id)
            await self._send(room_id, action.text)
            await self._notice_unencrypted(action.room.id, action.language)
            return
        try:
            room_id, joined = await self.chats.open(action.member.id)
            await self._send(room_id, action.text)
            if not joined and action.pointer:  # an invite not accepted yet: say where it is
                await self._send(action.room.id, action.pointer, mention=action.member)
        except PrivateMessageRefused:
            if action.private_only:
                raise  # never in the room: the words are for the member alone
            await self._send(action.room.id, action.text, mention=action.member)
            return
        await self._tell_unencrypted(action.member.id, action.language)

    # -- unencrypted private chats ------------------------------------------------------------
    def _encrypted(self, room_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and room.encrypted

    async def _tell_unencrypted(self, member_id: str, language: str) -> None:
        """Once per chat, ever: the member's unencrypted private chat hears that the bot
        writes to them in an encrypted one instead. Best effort; the private message
        itself was delivered already."""
        for room_id in self.chats.unencrypted(member_id):
            if room_id in self._told:
                continue
            self._told.append(room_id)
            self._save_told()
            await self._notice_unencrypted(room_id, language)

    async def _notice_unencrypted(self, room_id: str, language: str) -> None:
        """In the language of the message that went to the encrypted chat instead."""
        with i18n.speaking(language):
            notice = texts.unencrypted_private_chat()
        try:
            await self._send(room_id, notice)
        except Exception as error:  # a notice must never fail the private send
            log.warning(
                "matrix: could not tell %s it is unencrypted (%s)", room_id, type(error).__name__
            )

    def _refuse_plaintext(self, room_id: str, content: dict[str, Any]) -> None:
        """Every message the bot sends passes here. In a private chat of the bot's that is
        not end-to-end encrypted, the only thing ever sent is the notice that says so: a
        reminder, check-in, export or reply would be readable by the homeserver."""
        if not self.chats.is_bots_private(room_id) or self._encrypted(room_id):
            return
        if content.get("body") in _notices() and "url" not in content:
            return
        raise PlaintextRefused(f"{room_id} is a private chat without end-to-end encryption")

    # -- edits, redactions later, checks -------------------------------------------------------
    async def _gone(self, room_id: str, event_id: str) -> bool:
        """Whether a post of ours is gone for sure: redacted, or unknown to the homeserver.
        Any other answer (an outage, a server error) is not taken as gone: a rules message
        posted again on a hiccup would stand twice."""
        response = await self.client.room_get_event(room_id, event_id)
        if isinstance(response, RoomGetEventResponse):
            source = getattr(response.event, "source", {}) or {}
            return bool((source.get("unsigned") or {}).get("redacted_because"))
        return getattr(response, "status_code", None) == "M_NOT_FOUND"

    async def _edit(self, room_id: str, event_id: str, text: str, tx_id: str | None) -> None:
        """An m.replace edit (client-server spec, "Event replacements"): the new content
        under ``m.new_content``, a "* "-prefixed fallback body for clients without edits.
        In an encrypted room it is encrypted like any message, its relation left readable
        for the server as the spec asks."""
        new_content = _notice_content(text)
        content: dict[str, Any] = {
            **new_content,
            "body": f"* {new_content['body']}",
            "formatted_body": f"* {new_content['formatted_body']}",
            "m.new_content": {k: v for k, v in new_content.items() if k != "m.mentions"},
            "m.relates_to": {"rel_type": "m.replace", "event_id": event_id},
        }
        await self._room_send(room_id, content, f"{tx_id}-edit" if tx_id else None)

    def _redact_later(self, room_id: str, event_id: str, seconds: float) -> None:
        task = asyncio.create_task(
            self._redact_after(room_id, event_id, seconds), name="matrix-redact-after"
        )
        self._timers.add(task)
        task.add_done_callback(self._timers.discard)

    async def _redact_after(self, room_id: str, event_id: str, seconds: float) -> None:
        await self.clock.sleep(seconds)
        try:
            response = await self.client.room_redact(room_id, event_id, reason=REDACT_REASON)
        except Exception as error:  # a background task: logged, not raised
            log.warning("matrix: removing a post in %s failed (%s)", room_id, type(error).__name__)
            return
        if isinstance(response, ErrorResponse):
            log.warning("matrix: removing a post in %s refused: %s", room_id, response.status_code)

    async def _check_message(self, action: CheckMessage) -> None:
        """At start: a rules message redacted while the bot was away is reported as
        deleted, so the core posts it again."""
        room_id = await self._resolve(action.room.id)
        if self._report is not None and await self._gone(room_id, action.message_id):
            room = Room(action.room.platform, room_id, action.room.name, action.room.aliases)
            await self._report(MessageDeleted(room, action.message_id, self.clock.now()))

    async def _alert(self, action: AlertModerators) -> None:
        room_id = await self._resolve_selector(action.room_selector)
        via = self.user_id.partition(":")[2] or None
        text = action.with_links(lambda ref: translate.alert_link(ref, via))
        # the outbox's key as the transaction id: a resend after a crash is dropped by the
        # homeserver if the first send got through (same device and access token)
        await self._send(room_id, text, tx_id=action.idempotency_key)

    async def _delete(self, action: DeleteMessage) -> None:
        response = await self.client.room_redact(
            action.room.id,
            action.message_id,
            reason="held back by the room's confidentiality policy",
        )
        if isinstance(response, ErrorResponse):
            raise ActionNotSupported(f"redaction refused: {response.status_code}")

    async def _set_posting(self, action: SetPostingAllowed) -> None:
        """One power-levels write for every change asked while the previous write of the
        room was under way: a join burst's gates are a few writes, not one per newcomer
        (each write is a read-modify-write of one state event, so they never interleave)."""
        log.debug("matrix: %s may post in %s: %s", action.member.id, action.room.id, action.allowed)
        room_id = await self._resolve(action.room.id)
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._posting_asked.setdefault(room_id, []).append((action.member.id, action.allowed, done))
        async with self._room_locks.setdefault(room_id, asyncio.Lock()):
            if not done.done():
                asked = self._posting_asked.pop(room_id, [])
                try:
                    await self._write_posting(room_id, asked)
                except Exception as error:  # every change asked failed with it
                    for *_, each in asked:
                        if not each.done():
                            each.set_exception(error)
                except BaseException:  # stopping
                    for *_, each in asked:
                        each.cancel()
                    raise
                for *_, each in asked:
                    if not each.done():
                        each.set_result(None)
        await done

    async def _write_posting(
        self, room_id: str, asked: list[tuple[str, bool, asyncio.Future[None]]]
    ) -> None:
        current = await self.client.room_get_state_event(room_id, "m.room.power_levels")
        if not isinstance(current, RoomGetStateEventResponse):
            raise ActionNotSupported("cannot read the room's power levels")
        content, changed = current.content, False
        for member_id, allowed, done in asked:
            try:
                updated = with_posting(content, self.user_id, member_id, allowed)
            except CannotChangeLevel as error:
                done.set_exception(ActionNotSupported(str(error)))
                continue
            if updated is None:
                log.debug("matrix: %s in %s already as wanted", member_id, room_id)
                continue
            content, changed = updated, True
        if not changed:
            return
        response = await self.client.room_put_state(room_id, "m.room.power_levels", content)
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
        self,
        room_id: str,
        text: str,
        mention: Member | None = None,
        tx_id: str | None = None,
        mentions: tuple[Member, ...] = (),
    ) -> str:
        """Send a notice (bots send notices, so other bots do not answer them); its id.
        ``mentions``: members the text names who are to be notified (intentional mentions,
        m.mentions, which clients notify on; client-server spec, "User and room mentions")."""
        content = _notice_content(text)
        if mentions:
            content["m.mentions"] = {"user_ids": sorted({m.id for m in mentions})}
        if mention is not None:
            name = mention.display_name or mention.id
            content["body"] = f"{name}: {text}"
            link = translate.permalink(mention.id).replace("https://matrix.to/#/", "")
            html = content["formatted_body"]
            content["formatted_body"] = (
                f'<a href="https://matrix.to/#/{escape(link)}">{escape(name)}</a>: {html}'
            )
            content["m.mentions"] = {"user_ids": [mention.id]}
        return await self._room_send(room_id, content, tx_id)

    async def _room_send(
        self, room_id: str, content: dict[str, Any], tx_id: str | None = None
    ) -> str:
        """The one way a message leaves the bot: refused in a plaintext private chat."""
        if room_id not in self.client.rooms:
            await self.wait_for_room(room_id, None)
        if self.encryption and room_id in self.chats.opened and not self._encrypted(room_id):
            # a private chat of ours is always created encrypted; nio may not know it yet
            raise MatrixError("the private chat is not known as encrypted yet")
        self._refuse_plaintext(room_id, content)
        await self.know_member_devices(room_id)
        relates = content.get("m.relates_to")
        if relates is not None and self._encrypted(room_id) and self.client.olm is not None:
            event_id = await self._send_encrypted_relation(room_id, content, relates, tx_id)
        else:
            response = await self.client.room_send(
                room_id,
                "m.room.message",
                content,
                tx_id=_txn(tx_id),
                ignore_unverified_devices=True,
            )
            if not isinstance(response, RoomSendResponse):
                raise MatrixError(f"sending failed: {getattr(response, 'status_code', response)}")
            event_id = response.event_id
        log.debug("matrix: sent %s to %s", event_id, room_id)
        return event_id

    async def _send_encrypted_relation(
        self, room_id: str, content: dict[str, Any], relates: dict[str, Any], tx_id: str | None
    ) -> str:
        """nio encrypts a relation (an edit) along with the rest; the spec wants
        ``m.relates_to`` also in the clear part of the encrypted event, so the server can
        tie the edit to its original. Encrypted here as nio's room_send would, then sent."""
        client = self.client
        assert client.olm is not None
        room = client.rooms[room_id]
        if not room.members_synced:
            await client.joined_members(room_id)
        if client.olm.should_share_group_session(room_id):
            if room_id in client.sharing_session:
                await client.sharing_session[room_id].wait()
            else:
                await client.share_group_session(room_id, ignore_unverified_devices=True)
        event_type, encrypted = client.encrypt(room_id, "m.room.message", content)
        encrypted = {**encrypted, "m.relates_to": relates}
        txn = _txn(tx_id) or f"confidant-{time.time_ns()}"
        path = Api._build_path(["rooms", room_id, "send", event_type, txn])
        response = await client.send(
            "PUT",
            path,
            json.dumps(encrypted),
            headers={
                "Authorization": f"Bearer {client.access_token}",
                "Content-Type": "application/json",
            },
        )
        body = await response.json()
        if response.status >= 300 or not isinstance(body.get("event_id"), str):
            raise MatrixError(f"sending an edit failed with HTTP {response.status}")
        return str(body["event_id"])

    async def _send_file(
        self, room_id: str, attachment: Attachment, tx_id: str | None = None
    ) -> None:
        """An m.file, only ever into an encrypted room: the file is encrypted before upload
        and the event carries its key (``file`` instead of ``url``, as the spec asks for
        encrypted attachments), so the homeserver's media store only ever holds ciphertext
        and the key travels inside the Megolm-encrypted event."""
        if not self._encrypted(room_id):
            # checked before the upload: a refused event would still leave clear bytes behind
            raise PlaintextRefused(f"{room_id} is not encrypted; a file goes only where it is")
        uploaded, keys = await self.client.upload(
            io.BytesIO(attachment.data),
            content_type=attachment.media_type,
            filename=attachment.name,
            encrypt=True,
            filesize=len(attachment.data),
        )
        if not isinstance(uploaded, UploadResponse):
            raise MatrixError(f"uploading failed: {getattr(uploaded, 'status_code', uploaded)}")
        content = file_content(attachment, uploaded.content_uri, keys)
        await self._room_send(room_id, content, tx_id)


def _notice_content(text: str) -> dict[str, Any]:
    return {
        "msgtype": "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": escape(text).replace("\n", "<br>"),
        "m.mentions": {},
    }


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


@cache
def _notices() -> frozenset[str]:
    """The unencrypted-chat notice in every language the bot speaks: the one text that may
    go into such a chat, whichever language it was said in."""
    notices = set()
    for lang in i18n.available():
        with i18n.speaking(lang):
            notices.add(texts.unencrypted_private_chat())
    return frozenset(notices)
