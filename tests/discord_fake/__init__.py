"""A protocol-level fake of Discord (gateway + REST, API v10) for driving unmodified discord.py.

How discord.py is pointed at it — nothing in discord.py is patched:

1. ``FakeDiscord().start()`` serves REST (``/api/v10/...``) and the gateway (``/``, websocket)
   over TLS on one free 127.0.0.1 port, with a certificate for discord.com / *.discord.gg /
   *.discordapp.com issued by a CA made at test time (``tls``, via trustme).
2. ``fake.connector()`` returns an ``aiohttp.TCPConnector`` whose resolver
   (``connect.FakeDiscordResolver``) maps every Discord host name to ``127.0.0.1`` *and the fake's
   port* (aiohttp dials the port from the resolve result, so URLs keep their real :443) and
   raises for every other name; its SSL context trusts only the test CA.
3. ``discord.Client(intents=..., connector=fake.connector())`` — the documented ``connector``
   argument. discord.py sends REST, interaction webhooks and the gateway (including the
   ``resume_gateway_url`` from READY) through the one session built on that connector.
4. ``connect.running(client, fake.token)`` logs in, connects, waits (bounded) for READY and
   always closes the client. For speed give the client a small ``guild_ready_timeout`` and
   override ``before_identify_hook`` (by default it sleeps 5 s before every re-IDENTIFY).

Only raw IP literals would bypass the resolver; discord.py never uses them.

Driving it: ``fake.world`` builds the scene (guilds, channels, roles, members), ``fake.events``
injects gateway events, ``fake.gateway`` closes sockets / invalidates sessions, ``fake.faults``
makes the next N matching REST calls answer 429/403/5xx (also shared-scope and Cloudflare
429s), ``fake.limits`` keeps Discord's counters and deadlines (invalid requests per 10 minutes,
IDENTIFYs per day, the 3 s to answer an interaction, new DMs per minute; see ``limits``), and
``fake.requests`` / ``fake.frames`` record everything the client sent (with bounded
``wait_for``).
"""

from .connect import FakeDiscordResolver, fake_connector, running
from .server import DEFAULT_TOKEN, FakeDiscord
from .state import (
    INTENT_GUILD_MEMBERS,
    INTENT_GUILD_PRESENCES,
    INTENT_MESSAGE_CONTENT,
    World,
)

__all__ = [
    "DEFAULT_TOKEN",
    "INTENT_GUILD_MEMBERS",
    "INTENT_GUILD_PRESENCES",
    "INTENT_MESSAGE_CONTENT",
    "FakeDiscord",
    "FakeDiscordResolver",
    "World",
    "fake_connector",
    "running",
]
