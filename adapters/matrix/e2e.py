"""End-to-end key upkeep after each sync, shared by the bot and by every test client.

nio's sync_forever does these steps; code that syncs by hand must too. Forgetting one makes
encryption fail silently: without keys_upload nobody can encrypt for this device, without
send_to_device_messages room keys never leave it.
"""

from __future__ import annotations

import asyncio
import contextlib

from nio import AsyncClient


async def keep_keys(client: AsyncClient, query_lock: asyncio.Lock | None = None) -> None:
    """``query_lock`` serialises key queries with other code that queries before sending."""
    await client.send_to_device_messages()
    if client.should_upload_keys:
        await client.keys_upload()
    if client.should_query_keys:
        async with query_lock if query_lock is not None else contextlib.nullcontext():
            if client.should_query_keys:
                await client.keys_query()
    if client.should_claim_keys:
        await client.keys_claim(client.get_users_for_key_claiming())
