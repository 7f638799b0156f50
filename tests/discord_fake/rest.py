"""The REST half of the fake: the routes a moderation bot uses, answered from the shared model.

Every request is recorded (even ones that fail, or hit a route the fake does not know) so a test
can assert on exactly what the bot sent, and notice calls nobody expected.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from aiohttp import web

from . import command_names, message_rules, moderation, payloads, threads
from . import permissions as perm
from .faults import FaultPlan, json_response
from .gateway import Gateway, GatewayError
from .recorder import RecordedRequest, Recorder
from .state import (
    DM,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    THREAD_ONLY_TYPES,
    FakeChannel,
    FakeGuild,
    FakeInteraction,
    FakeMessage,
    FakeOverwrite,
    World,
    utcnow,
)

API_PREFIX = "/api/v10"
MAX_CONTENT = 2000
EPHEMERAL = 1 << 6
LOADING = 1 << 7
MESSAGE_TYPE_REPLY = 19
NONCE_WINDOW_S = 300.0  # "the past few minutes" of enforce_nonce
CDN = "https://cdn.discordapp.com"
# Where Discord serves an uploaded file: /attachments/<channel>/<attachment>/<file name>.
CDN_PATH = re.compile(r"/attachments/(?P<channel>\d+)/(?P<attachment>\d+)/(?P<name>[^/]+)")


class ApiError(Exception):
    """Raised by a handler to answer with Discord's JSON error shape."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message

    def response(self) -> web.Response:
        return json_response(payloads.error(self.message, self.code), status=self.status)


def unknown(kind: str, code: int) -> ApiError:
    return ApiError(404, code, f"Unknown {kind}")


# https://discord.com/developers/docs/topics/opcodes-and-status-codes#json-json-error-codes
def missing_access() -> ApiError:
    """50001: the bot cannot see the channel (no View Channel) at all."""
    return ApiError(403, 50001, "Missing Access")


def missing_permissions() -> ApiError:
    """50013: it sees the channel but lacks the permission the call needs."""
    return ApiError(403, 50013, "Missing Permissions")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request, kept whole so a test can read what was sent."""

    name: str
    content_type: str
    data: bytes


@dataclass
class Call:
    params: dict[str, str]
    query: dict[str, str]
    json: Any
    uploads: tuple[Upload, ...] = ()

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(upload.name for upload in self.uploads)

    def id(self, name: str) -> int:
        try:
            return int(self.params[name])
        except ValueError:
            raise ApiError(400, 50035, "Invalid Form Body") from None


Handler = Callable[[Call], Awaitable[web.Response]]


@dataclass(frozen=True)
class Route:
    method: str
    template: str
    handler: Handler
    bot_auth: bool = True

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(regex)


def no_content() -> web.Response:
    # No Content-Type at all: discord.py would try to JSON-decode an empty application/json body.
    return web.Response(status=204)


class RestApi:
    def __init__(
        self,
        world: World,
        gateway: Gateway,
        faults: FaultPlan,
        requests: Recorder[RecordedRequest],
    ) -> None:
        self.world = world
        self.gateway = gateway
        self.faults = faults
        self.requests = requests
        self.routes = self._routes()
        # Attachment id -> the uploaded file, served back at its CDN address as Discord does.
        self.uploads: dict[int, Upload] = {}
        # (channel id, nonce) -> (message id, when): Discord's enforce_nonce dedupe window.
        self._nonces: dict[tuple[int, str], tuple[int, float]] = {}

    # -- entry point ------------------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        full_path = request.path
        path = full_path[len(API_PREFIX) :] if full_path.startswith(API_PREFIX + "/") else full_path
        body, uploads = await _read_body(request)
        files = tuple(upload.name for upload in uploads)
        if request.method == "GET" and CDN_PATH.fullmatch(full_path):
            response = self._cdn_file(full_path)
            await self.requests.add(
                RecordedRequest(request.method, path, dict(request.query), None, {},
                                status=response.status)
            )
            return response
        call_route, params, known_path = self._match(request.method, path, full_path)
        headers = {
            k: v
            for k, v in request.headers.items()
            if k.lower() in ("authorization", "x-audit-log-reason", "content-type")
        }
        # An IP over Discord's invalid request limit meets Cloudflare, not the API (limits.py).
        response = self.world.limits.ban_response() or await self._respond(
            request, path, call_route, params, known_path, body, uploads
        )
        self.world.limits.count_response(response.status, response.headers)
        await self.requests.add(
            RecordedRequest(
                method=request.method,
                path=path,
                query=dict(request.query),
                json=body,
                headers=headers,
                status=response.status,
                known_route=call_route is not None,
                files=files,
            )
        )
        return response

    async def _respond(
        self,
        request: web.Request,
        path: str,
        route: Route | None,
        params: dict[str, str],
        known_path: bool,
        body: Any,
        uploads: tuple[Upload, ...],
    ) -> web.Response:
        if route is None:
            if known_path:
                return json_response(payloads.error("405: Method Not Allowed", 0), status=405)
            return json_response(payloads.error("404: Not Found", 0), status=404)
        fault = self.faults.take(request.method, path)
        if fault is not None:
            return fault.respond()
        if route.bot_auth and request.headers.get("Authorization") != f"Bot {self.world.token}":
            return json_response(payloads.error("401: Unauthorized", 0), status=401)
        call = Call(params=params, query=dict(request.query), json=body, uploads=uploads)
        try:
            response = await route.handler(call)
        except ApiError as exc:
            return exc.response()
        if response.status < 300:
            response.headers.update(_bucket_headers(route))
        return response

    def _match(
        self, method: str, path: str, full_path: str
    ) -> tuple[Route | None, dict[str, str], bool]:
        if not full_path.startswith(API_PREFIX + "/"):
            return None, {}, False
        known_path = False
        for route in self.routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            known_path = True
            if route.method == method:
                return route, found.groupdict(), True
        return None, {}, known_path

    def _routes(self) -> list[Route]:
        r = Route
        return [
            r("GET", "/gateway", self.get_gateway, bot_auth=False),
            r("GET", "/gateway/bot", self.get_gateway_bot),
            r("GET", "/users/@me", self.get_me),
            r("GET", "/oauth2/applications/@me", self.get_application),
            r("GET", "/applications/@me", self.get_application),
            r("POST", "/users/@me/channels", self.open_dm),
            r("GET", "/users/{user_id}", self.get_user),
            r("GET", "/channels/{channel_id}", self.get_channel),
            r("POST", "/channels/{channel_id}/messages", self.create_message),
            r("POST", "/channels/{channel_id}/messages/bulk-delete", self.bulk_delete),
            r("GET", "/channels/{channel_id}/messages/{message_id}", self.get_message),
            r("PATCH", "/channels/{channel_id}/messages/{message_id}", self.edit_message),
            r("DELETE", "/channels/{channel_id}/messages/{message_id}", self.delete_message),
            r("PUT", "/channels/{channel_id}/permissions/{target_id}", self.put_overwrite),
            r("DELETE", "/channels/{channel_id}/permissions/{target_id}", self.delete_overwrite),
            r("POST", "/channels/{channel_id}/threads", self.create_thread),
            r("PUT", "/channels/{channel_id}/thread-members/{user_id}", self.add_thread_member),
            r("DELETE", "/channels/{channel_id}/thread-members/{user_id}",
              self.remove_thread_member),
            r("GET", "/guilds/{guild_id}/roles", self.get_roles),
            r("GET", "/guilds/{guild_id}/members/{user_id}", self.get_member),
            r("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.add_role),
            r("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}", self.remove_role),
            r("PATCH", "/guilds/{guild_id}/members/{user_id}",
              partial(moderation.modify_member, self)),
            r("GET", "/applications/{app_id}/commands", self.get_commands),
            r("PUT", "/applications/{app_id}/commands", self.put_commands),
            r("GET", "/applications/{app_id}/guilds/{guild_id}/commands", self.get_commands),
            r("PUT", "/applications/{app_id}/guilds/{guild_id}/commands", self.put_commands),
            r("POST", "/interactions/{interaction_id}/{token}/callback",
              self.interaction_callback, bot_auth=False),
            r("POST", "/webhooks/{app_id}/{token}", self.followup_create, bot_auth=False),
            r("GET", "/webhooks/{app_id}/{token}/messages/{message_id}", self.followup_get,
              bot_auth=False),
            r("PATCH", "/webhooks/{app_id}/{token}/messages/{message_id}", self.followup_edit,
              bot_auth=False),
            r("DELETE", "/webhooks/{app_id}/{token}/messages/{message_id}",
              self.followup_delete, bot_auth=False),
        ]

    # -- gateway / identity -----------------------------------------------------------------

    async def get_gateway(self, call: Call) -> web.Response:
        return json_response({"url": "wss://gateway.discord.gg"})

    async def get_gateway_bot(self, call: Call) -> web.Response:
        return json_response({
            "url": "wss://gateway.discord.gg",
            "shards": self.gateway.shard_rules.recommended(len(self.world.guilds)),
            "session_start_limit": self.world.limits.session_start_limit(),
        })

    async def get_me(self, call: Call) -> web.Response:
        return json_response(payloads.bot_user(self.world))

    async def get_application(self, call: Call) -> web.Response:
        return json_response(payloads.application(self.world))

    async def get_user(self, call: Call) -> web.Response:
        """GET /users/{id} (https://discord.com/developers/docs/resources/user#get-user):
        what a client without the whole member list cached asks to reach someone."""
        user = self.world.users.get(call.id("user_id"))
        if user is None:
            raise unknown("User", 10013)
        return json_response(payloads.user(user))

    # -- channels and messages --------------------------------------------------------------

    async def open_dm(self, call: Call) -> web.Response:
        user = self.world.users.get(int((call.json or {}).get("recipient_id", 0)))
        if user is None:
            raise unknown("User", 10013)
        opened = any(
            c.type == DM and c.recipient_ids == [user.id] for c in self.world.channels.values()
        )
        if not opened and not self.world.limits.open_dm():
            # docs: JSON error codes, 40003 (the rate is not published; see limits.py)
            raise ApiError(403, 40003, "You are opening direct messages too fast")
        return json_response(payloads.channel(self.world, self.world.open_dm(user)))

    async def get_channel(self, call: Call) -> web.Response:
        channel = self._channel(call)
        self._require(channel, 0)  # Get Channel: a channel the bot cannot view is 50001
        return json_response(payloads.channel(self.world, channel))

    async def create_message(self, call: Call) -> web.Response:
        channel = self._channel(call)
        if channel.type == DM:
            self._may_message(channel)
        body = call.json or {}
        # Create Message: "requires the SEND_MESSAGES permission ... SEND_MESSAGES_IN_THREADS
        # in a thread; replies need READ_MESSAGE_HISTORY; files need ATTACH_FILES"
        # (https://discord.com/developers/docs/resources/message#create-message).
        needed = perm.SEND_MESSAGES
        if body.get("message_reference"):
            needed |= perm.READ_MESSAGE_HISTORY
        if call.uploads:
            needed |= perm.ATTACH_FILES
        self._require(channel, needed)
        _validate_message_body(body, call.files)
        await self._before_send(channel, self.world.bot_user.id)
        nonce = str(body["nonce"]) if body.get("enforce_nonce") and "nonce" in body else None
        earlier = self._nonces.get((channel.id, nonce)) if nonce is not None else None
        if earlier is not None and time.monotonic() - earlier[1] < NONCE_WINDOW_S:
            # Discord: a send repeating a recent nonce returns that message, creating none.
            repeated = self.world.messages.get(earlier[0])
            if repeated is not None:
                return json_response(payloads.message(self.world, repeated))
        reference = self._reply_reference(channel, body.get("message_reference"))
        message = self.world.add_message(
            channel,
            self.world.bot_user,
            content=body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            attachments=self._attachments(channel, call.uploads),
            flags=int(body.get("flags") or 0),
            reference=reference,
            type=MESSAGE_TYPE_REPLY if reference else 0,
        )
        if nonce is not None:
            self._nonces[(channel.id, nonce)] = (message.id, time.monotonic())
        data = payloads.message(self.world, message)
        await self._notify("MESSAGE_CREATE", data)
        return json_response(data)

    def _may_message(self, dm: FakeChannel) -> None:
        """A bot reaches a user privately only through a server they share, and only if
        they accept DMs from its members (docs: JSON error codes 50278, 50007)."""
        bot_id = self.world.bot_user.id
        for user_id in dm.recipient_ids:
            if not any(
                user_id in g.members and bot_id in g.members for g in self.world.guilds.values()
            ):
                raise ApiError(
                    403, 50278, "Cannot send messages to this user due to having no mutual guilds"
                )
            if not self.world.users[user_id].accepts_dms:
                raise ApiError(403, 50007, "Cannot send messages to this user")

    def _attachments(
        self, channel: FakeChannel, uploads: tuple[Upload, ...]
    ) -> list[dict[str, Any]]:
        """Attachment objects for the uploaded files, each at a CDN address (which the
        fake's resolver sends to the fake) that serves the bytes back."""
        result = []
        for upload in uploads:
            attachment_id = self.world.snowflakes.next()
            self.uploads[attachment_id] = upload
            url = f"{CDN}/attachments/{channel.id}/{attachment_id}/{upload.name}"
            result.append({
                "id": str(attachment_id), "filename": upload.name, "size": len(upload.data),
                "url": url, "proxy_url": url, "content_type": upload.content_type,
            })
        return result

    def _cdn_file(self, path: str) -> web.Response:
        found = CDN_PATH.fullmatch(path)
        upload = self.uploads.get(int(found["attachment"])) if found else None
        if upload is None or found is None or found["name"] != upload.name:
            return web.Response(status=404)
        return web.Response(body=upload.data, content_type=upload.content_type)

    async def get_message(self, call: Call) -> web.Response:
        # Get Channel Message: "requires VIEW_CHANNEL and READ_MESSAGE_HISTORY"
        # (https://discord.com/developers/docs/resources/message#get-channel-message).
        self._require(self._channel(call), perm.READ_MESSAGE_HISTORY, code=50001)
        return json_response(payloads.message(self.world, self._message(call)))

    async def edit_message(self, call: Call) -> web.Response:
        message = self._message(call)
        if message.author_id != self.world.bot_user.id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        _refuse(threads.refuse_in_archived(self._channel(call)))
        _apply_edit(message, call.json or {})
        data = payloads.message(self.world, message)
        await self._notify("MESSAGE_UPDATE", data)
        return json_response(data)

    async def delete_message(self, call: Call) -> web.Response:
        message = self._message(call)
        # Delete Message: another user's message needs MANAGE_MESSAGES
        # (https://discord.com/developers/docs/resources/message#delete-message).
        own = message.author_id == self.world.bot_user.id
        self._require(self._channel(call), 0 if own else perm.MANAGE_MESSAGES)
        del self.world.messages[message.id]
        await self._notify("MESSAGE_DELETE", _delete_event(message))
        return no_content()

    async def bulk_delete(self, call: Call) -> web.Response:
        """Discord's bulk delete, with its rules (message_rules): 204, then one
        MESSAGE_DELETE_BULK naming every id asked for."""
        channel = self._channel(call)
        try:
            ids = message_rules.bulk_delete_ids(call.json)
            found = message_rules.check_bulk_delete(self.world, channel, ids)
        except message_rules.Refused as refused:
            raise ApiError(refused.status, refused.code, refused.message) from None
        for message in found:
            del self.world.messages[message.id]
        await self._notify("MESSAGE_DELETE_BULK", message_rules.bulk_delete_event(channel, ids))
        return no_content()

    async def put_overwrite(self, call: Call) -> web.Response:
        channel = self._channel(call)
        body = call.json or {}
        target = call.id("target_id")
        self._may_edit_overwrite(channel, int(body.get("allow") or 0) | int(body.get("deny") or 0))
        if target not in channel.overwrites and (
            len(channel.overwrites) >= self.world.limits.max_overwrites
        ):  # docs: JSON error codes, 30060
            raise ApiError(
                400, 30060, "Maximum number of channel permission overwrites reached (1000)"
            )
        channel.overwrites[target] = FakeOverwrite(
            id=target,
            type=int(body.get("type", 0)),
            allow=int(body.get("allow") or 0),
            deny=int(body.get("deny") or 0),
        )
        await self._notify("CHANNEL_UPDATE", payloads.channel(self.world, channel))
        return no_content()

    async def delete_overwrite(self, call: Call) -> web.Response:
        channel = self._channel(call)
        existing = channel.overwrites.get(call.id("target_id"))
        self._may_edit_overwrite(channel, existing.allow | existing.deny if existing else 0)
        if channel.overwrites.pop(call.id("target_id"), None) is not None:
            await self._notify("CHANNEL_UPDATE", payloads.channel(self.world, channel))
        return no_content()

    async def create_thread(self, call: Call) -> web.Response:
        parent = self._channel(call)
        body = call.json or {}
        _refuse(threads.refuse_thread(parent, body))
        if parent.type in THREAD_ONLY_TYPES:
            return await self._forum_post(parent, body, call.uploads)
        thread_type = int(body.get("type", PRIVATE_THREAD))
        if parent.guild_id is None or thread_type not in (PRIVATE_THREAD, PUBLIC_THREAD):
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        # Start Thread without Message: CREATE_PRIVATE_THREADS for a private thread,
        # CREATE_PUBLIC_THREADS for a public one
        # (https://discord.com/developers/docs/resources/channel#start-thread-without-message).
        self._require(parent, perm.CREATE_PRIVATE_THREADS if thread_type == PRIVATE_THREAD
                      else perm.CREATE_PUBLIC_THREADS)
        thread = self.world.add_thread(
            parent,
            str(body.get("name", "")),
            private=thread_type == PRIVATE_THREAD,
            invitable=bool(body.get("invitable", True)),
        )
        thread.auto_archive_duration = int(body.get("auto_archive_duration") or 4320)
        data = payloads.channel(self.world, thread)
        await self._notify("THREAD_CREATE", {**data, "newly_created": True})
        return json_response(data, status=201)

    async def add_thread_member(self, call: Call) -> web.Response:
        thread = self._channel(call)
        user_id = call.id("user_id")
        # Add Thread Member: "Requires the ability to send messages in the thread"
        # (https://discord.com/developers/docs/resources/channel#add-thread-member).
        self._require(thread, perm.SEND_MESSAGES)
        if user_id not in self.world.users:
            raise unknown("User", 10013)
        _refuse(threads.refuse_in_archived(thread))
        if user_id not in thread.thread_member_ids:
            thread.thread_member_ids.add(user_id)
            await self._notify("THREAD_MEMBERS_UPDATE", {
                "id": str(thread.id),
                "guild_id": str(thread.guild_id),
                "member_count": len(thread.thread_member_ids),
                "added_members": [payloads.thread_member(thread, user_id)],
            })
        return no_content()

    async def remove_thread_member(self, call: Call) -> web.Response:
        thread = self._channel(call)
        user_id = call.id("user_id")
        # Remove Thread Member: MANAGE_THREADS, or the creator of a private thread
        # (https://discord.com/developers/docs/resources/channel#remove-thread-member).
        if thread.owner_id != self.world.bot_user.id:
            self._require(thread, perm.MANAGE_THREADS)
        if user_id in thread.thread_member_ids:
            thread.thread_member_ids.discard(user_id)
            await self._notify("THREAD_MEMBERS_UPDATE", {
                "id": str(thread.id),
                "guild_id": str(thread.guild_id),
                "member_count": len(thread.thread_member_ids),
                "removed_member_ids": [str(user_id)],
            })
        return no_content()

    async def _before_send(self, channel: FakeChannel, author_id: int) -> None:
        """Discord's rules for where a message can go (see ``threads.refuse_message``); a
        message into an archived, unlocked thread unarchives it first, announced by
        THREAD_UPDATE (Threads topic, "Unarchiving a Thread")."""
        _refuse(threads.refuse_message(self.world, channel, author_id))
        if threads.unarchives(channel):
            await self._notify("THREAD_UPDATE", payloads.channel(self.world, channel))

    async def _forum_post(
        self, forum: FakeChannel, body: dict[str, Any], uploads: tuple[Upload, ...]
    ) -> web.Response:
        """Start Thread in Forum or Media Channel: a public thread and its first message,
        which shares the thread's id; the answer is the thread with a nested ``message``, and
        THREAD_CREATE then MESSAGE_CREATE go out (Channel resource)."""
        first = body.get("message") or {}
        _validate_message_body(first, tuple(u.name for u in uploads))
        post_id = self.world.snowflakes.next()
        thread = self.world.add_thread(
            forum, str(body.get("name", "")), private=False, thread_id=post_id
        )
        thread.auto_archive_duration = int(body.get("auto_archive_duration") or 4320)
        message = FakeMessage(
            id=post_id,
            channel_id=thread.id,
            guild_id=thread.guild_id,
            author_id=self.world.bot_user.id,
            content=first.get("content") or "",
            embeds=first.get("embeds") or [],
            components=first.get("components") or [],
            attachments=self._attachments(thread, uploads),
        )
        self.world.messages[message.id] = message
        thread.last_message_id = forum.last_message_id = message.id
        data = payloads.channel(self.world, thread)
        message_data = payloads.message(self.world, message)
        await self._notify("THREAD_CREATE", {**data, "newly_created": True})
        await self._notify("MESSAGE_CREATE", message_data)
        return json_response({**data, "message": message_data}, status=201)

    # -- guilds -----------------------------------------------------------------------------

    async def get_roles(self, call: Call) -> web.Response:
        guild = self._guild(call)
        return json_response([payloads.role(r) for r in guild.roles.values()])

    async def get_member(self, call: Call) -> web.Response:
        guild = self._guild(call)
        member = guild.members.get(call.id("user_id"))
        if member is None:
            raise unknown("Member", 10007)
        return json_response(payloads.member(self.world, member))

    async def add_role(self, call: Call) -> web.Response:
        return await self._change_role(call, add=True)

    async def remove_role(self, call: Call) -> web.Response:
        return await self._change_role(call, add=False)

    async def _change_role(self, call: Call, *, add: bool) -> web.Response:
        guild = self._guild(call)
        member = guild.members.get(call.id("user_id"))
        if member is None:
            raise unknown("Member", 10007)
        role_id = call.id("role_id")
        if role_id not in guild.roles or role_id == guild.everyone_role_id:
            raise unknown("Role", 10011)
        self._may_manage_role(guild, role_id)
        changed = (role_id not in member.role_ids) if add else (role_id in member.role_ids)
        if changed:
            if add:
                member.role_ids.append(role_id)
            else:
                member.role_ids.remove(role_id)
            await self._notify(
                "GUILD_MEMBER_UPDATE",
                {**payloads.member(self.world, member), "guild_id": str(guild.id)},
            )
        return no_content()

    def _may_manage_role(self, guild: FakeGuild, role_id: int) -> None:
        """Discord's rule: Manage Roles, and only roles below the bot's highest role (the
        server owner is exempt), else 403 Missing Permissions."""
        bot_id = self.world.bot_user.id
        if bot_id == guild.owner_id:
            return
        role = guild.roles[role_id]
        if (
            not perm.base_permissions(guild, bot_id) & perm.MANAGE_ROLES
            or role.position >= self.world.top_role_position(guild, bot_id)
            or role.managed  # an integration's role is given by Discord only
        ):
            raise missing_permissions()

    def _may_edit_overwrite(self, channel: FakeChannel, bits: int) -> None:
        """Edit Channel Permissions: "Requires the MANAGE_ROLES permission. Only permissions
        your bot has in the guild or parent channel (if applicable) can be allowed/denied
        (unless your bot has a MANAGE_ROLES overwrite in the channel)"
        (https://discord.com/developers/docs/resources/channel#edit-channel-permissions)."""
        if channel.guild_id is None or channel.is_thread:
            raise ApiError(400, 50024, "Cannot execute action on this channel type")
        self._require(channel, perm.MANAGE_ROLES)
        guild = self.world.guilds[channel.guild_id]
        bot_id = self.world.bot_user.id
        own = channel.overwrites.get(bot_id)
        bot_role_overwrites = [
            channel.overwrites[r] for r in guild.members[bot_id].role_ids if r in channel.overwrites
        ]
        if any(o.allow & perm.MANAGE_ROLES for o in [*bot_role_overwrites, own] if o):
            return
        if bits & ~perm.base_permissions(guild, bot_id):
            raise missing_permissions()

    # -- application commands ---------------------------------------------------------------

    async def get_commands(self, call: Call) -> web.Response:
        scope = self._command_scope(call)
        return json_response(self.world.commands.get(scope, []))

    async def put_commands(self, call: Call) -> web.Response:
        scope = self._command_scope(call)
        if not isinstance(call.json, list):
            raise ApiError(400, 50035, "Invalid Form Body")
        if command_names.naming_errors(call.json):  # the naming rule (command_names.py)
            raise ApiError(400, 50035, "Invalid Form Body")
        previous = {(c["name"], c.get("type", 1)): c for c in self.world.commands.get(scope, [])}
        stored = []
        for command in call.json:
            key = (command["name"], command.get("type", 1))
            old = previous.get(key)
            stored.append({
                "id": old["id"] if old else str(self.world.snowflakes.next()),
                "application_id": str(self.world.application.id),
                "version": str(self.world.snowflakes.next()),
                "type": 1,
                "description": "",
                "options": [],
                "default_member_permissions": None,
                "nsfw": False,
                "name_localizations": None,
                "description_localizations": None,
                **command,
                **({"guild_id": str(scope)} if scope is not None else {}),
            })
        self.world.commands[scope] = stored
        return json_response(stored)

    def _command_scope(self, call: Call) -> int | None:
        if call.id("app_id") != self.world.application.id:
            raise ApiError(403, 50001, "Missing Access")
        if "guild_id" not in call.params:
            return None
        self._guild(call)
        return call.id("guild_id")

    # -- interactions -----------------------------------------------------------------------

    async def interaction_callback(self, call: Call) -> web.Response:
        interaction = self.world.interactions.get(call.id("interaction_id"))
        if interaction is None or interaction.token != call.params["token"]:
            raise unknown("interaction", 10062)
        if interaction.responded:
            raise ApiError(400, 40060, "Interaction has already been acknowledged.")
        if self.world.limits.initial_response_late(interaction.id):
            # docs: interactions/receiving-and-responding, the 3 s deadline (limits.py)
            raise unknown("interaction", 10062)
        body = call.json or {}
        kind = int(body.get("type", 0))
        data = body.get("data") or {}
        interaction.responded = True
        message = await self._callback_message(interaction, kind, data)
        if call.query.get("with_response", "").lower() not in ("1", "true"):
            return no_content()
        resource: dict[str, Any] = {"type": kind}
        if message is not None:
            resource["message"] = payloads.message(self.world, message)
        return json_response({
            "interaction": {
                "id": str(interaction.id),
                "type": interaction.type,
                "activity_instance_id": None,
                "response_message_id": str(message.id) if message else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(message and message.flags & EPHEMERAL),
            },
            "resource": resource,
        })

    async def _callback_message(
        self, interaction: FakeInteraction, kind: int, data: dict[str, Any]
    ) -> FakeMessage | None:
        if kind in (4, 5):
            flags = int(data.get("flags") or 0) | (LOADING if kind == 5 else 0)
            message = self._interaction_message(interaction, data, flags)
            interaction.original_message_id = message.id
            return message
        if kind == 7 and interaction.message_id is not None:
            message = self.world.messages[interaction.message_id]
            _apply_edit(message, data)
            await self._notify("MESSAGE_UPDATE", payloads.message(self.world, message))
            return message
        return None

    def _interaction_message(
        self, interaction: FakeInteraction, data: dict[str, Any], flags: int
    ) -> FakeMessage:
        channel = self.world.channels[interaction.channel_id] if interaction.channel_id else None
        if channel is None:
            channel = self.world.open_dm(self.world.users[interaction.user_id])
        return self.world.add_message(
            channel,
            self.world.bot_user,
            content=data.get("content") or "",
            embeds=data.get("embeds") or [],
            components=data.get("components") or [],
            flags=flags,
            webhook_id=self.world.application.id,
            interaction_user_id=interaction.user_id,
        )

    async def followup_create(self, call: Call) -> web.Response:
        interaction = self._interaction_for_webhook(call)
        body = call.json or {}
        _validate_message_body(body, call.files)
        message = self._interaction_message(interaction, body, int(body.get("flags") or 0))
        if call.query.get("wait", "").lower() in ("1", "true"):
            return json_response(payloads.message(self.world, message))
        return no_content()

    async def followup_get(self, call: Call) -> web.Response:
        return json_response(payloads.message(self.world, self._followup_message(call)))

    async def followup_edit(self, call: Call) -> web.Response:
        message = self._followup_message(call)
        _apply_edit(message, call.json or {})
        message.flags &= ~LOADING
        return json_response(payloads.message(self.world, message))

    async def followup_delete(self, call: Call) -> web.Response:
        message = self._followup_message(call)
        del self.world.messages[message.id]
        return no_content()

    def _interaction_for_webhook(self, call: Call) -> FakeInteraction:
        interaction = self.world.interaction_by_token(call.params["token"])
        if interaction is None or call.id("app_id") != self.world.application.id:
            raise unknown("Webhook", 10015)
        if self.world.limits.token_expired(interaction.id):
            # docs: "Interaction tokens are valid for 15 minutes" (limits.py)
            raise ApiError(401, 50027, "Invalid Webhook Token")
        if not interaction.responded:
            raise unknown("Webhook", 10015)  # Discord: follow-ups need an initial response
        return interaction

    def _followup_message(self, call: Call) -> FakeMessage:
        interaction = self._interaction_for_webhook(call)
        raw = call.params["message_id"]
        message_id = interaction.original_message_id if raw == "@original" else call.id(
            "message_id"
        )
        message = self.world.messages.get(message_id) if message_id else None
        if message is None:
            raise unknown("Message", 10008)
        return message

    # -- helpers ----------------------------------------------------------------------------

    def _reply_reference(
        self, channel: FakeChannel, reference: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """A reply's reference, always into the channel it is sent to: Discord looks the
        replied message up there and a reference naming another channel is refused
        (message_rules.check_reply_target). A message it cannot find fails the send unless
        ``fail_if_not_exists`` is false, then it goes out as a plain message
        (https://discord.com/developers/docs/resources/message#message-reference-structure;
        the exact error is a 400 Invalid Form Body)."""
        if not reference:
            return None
        target_channel = int(reference.get("channel_id") or channel.id)
        replied = self.world.messages.get(int(reference.get("message_id") or 0))
        if target_channel != channel.id or replied is None or replied.channel_id != channel.id:
            if reference.get("fail_if_not_exists", True):
                raise ApiError(400, message_rules.INVALID_FORM_BODY, "Invalid Form Body")
            return None
        result = {"type": 0, "message_id": str(replied.id), "channel_id": str(channel.id)}
        if channel.guild_id is not None:
            result["guild_id"] = str(channel.guild_id)
        return result

    def _channel(self, call: Call) -> FakeChannel:
        channel = self.world.channels.get(call.id("channel_id"))
        if channel is None:
            raise unknown("Channel", 10003)
        return channel

    def _message(self, call: Call) -> FakeMessage:
        channel = self._channel(call)
        message = self.world.messages.get(call.id("message_id"))
        if message is None or message.channel_id != channel.id:
            raise unknown("Message", 10008)
        return message

    def _require(self, channel: FakeChannel, needed: int, *, code: int = 50013) -> None:
        """403 unless the bot may do ``needed`` in ``channel``: 50001 Missing Access when it
        cannot even view the channel, else ``code`` (50013 Missing Permissions)."""
        if not perm.can_view(self.world, channel, self.world.bot_user.id):
            raise missing_access()
        if not perm.can(self.world, channel, self.world.bot_user.id, needed):
            raise missing_access() if code == 50001 else missing_permissions()

    def _guild(self, call: Call) -> FakeGuild:
        guild = self.world.guilds.get(call.id("guild_id"))
        if guild is None:
            raise unknown("Guild", 10004)
        return guild

    async def _notify(self, event: str, data: dict[str, Any]) -> None:
        """Echo a REST side effect on the gateway, as Discord does, if a client is connected."""
        if self.gateway.current is None:
            return
        with contextlib.suppress(GatewayError):
            await self.gateway.dispatch(event, data)


def _refuse(refusal: threads.Refusal | None) -> None:
    if refusal is not None:
        raise ApiError(*refusal)


def _validate_message_body(body: dict[str, Any], files: tuple[str, ...]) -> None:
    content = body.get("content") or ""
    if len(content) > MAX_CONTENT:
        raise ApiError(400, 50035, "Invalid Form Body")
    if not (content or body.get("embeds") or body.get("components") or files
            or body.get("sticker_ids") or body.get("poll")):
        raise ApiError(400, 50006, "Cannot send an empty message")


def _apply_edit(message: FakeMessage, body: dict[str, Any]) -> None:
    for key in ("content", "embeds", "components"):
        if key in body and body[key] is not None:
            setattr(message, key, body[key])
    message.edited_at = utcnow()




def _delete_event(message: FakeMessage) -> dict[str, Any]:
    data = {"id": str(message.id), "channel_id": str(message.channel_id)}
    if message.guild_id is not None:
        data["guild_id"] = str(message.guild_id)
    return data


def _bucket_headers(route: Route) -> dict[str, str]:
    """Ordinary rate-limit headers so discord.py's bucket bookkeeping runs as in production."""
    return {
        "X-RateLimit-Limit": "50",
        "X-RateLimit-Remaining": "49",
        "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
        "X-RateLimit-Reset-After": "1.000",
        "X-RateLimit-Bucket": f"fake{zlib.crc32(route.template.encode()):010d}",
    }


async def _read_body(request: web.Request) -> tuple[Any, tuple[Upload, ...]]:
    """JSON body, or for multipart the ``payload_json`` part plus the uploaded files."""
    if not request.can_read_body:
        return None, ()
    if request.content_type == "multipart/form-data":
        form = await request.post()
        files = tuple(
            Upload(v.filename, v.content_type, v.file.read())
            for v in form.values()
            if isinstance(v, web.FileField)
        )
        raw = form.get("payload_json")
        return (json.loads(raw) if isinstance(raw, str) else None), files
    text = await request.text()
    if not text:
        return None, ()
    try:
        return json.loads(text), ()
    except ValueError:
        return text, ()
