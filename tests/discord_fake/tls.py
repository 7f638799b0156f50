"""A throwaway CA and a certificate for Discord's host names, made at test time.

The client keeps talking to ``https://discord.com`` and ``wss://gateway.discord.gg`` with full
certificate verification; only the trust anchor differs, so no TLS check in discord.py or aiohttp
is weakened and nothing signed here is trusted outside the test process.
"""

from __future__ import annotations

import functools
import ssl

import trustme

DISCORD_HOSTS = (
    "discord.com",
    "*.discord.com",
    "discord.gg",
    "*.discord.gg",
    "discordapp.com",
    "*.discordapp.com",
    "discordapp.net",
    "*.discordapp.net",
)


@functools.cache
def _authority() -> tuple[trustme.CA, trustme.LeafCert]:
    # One CA per test process: key generation is the slow part and the CA never leaves memory.
    ca = trustme.CA(organization_name="Confidant test CA (not Discord)")
    return ca, ca.issue_cert(*DISCORD_HOSTS)


def server_context() -> ssl.SSLContext:
    _, leaf = _authority()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    leaf.configure_cert(context)
    return context


def client_context() -> ssl.SSLContext:
    ca, _ = _authority()
    # PROTOCOL_TLS_CLIENT verifies certificate and host name; only the test CA is trusted.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca.configure_trust(context)
    return context
