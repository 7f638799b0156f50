"""Discord: with DMs closed, /mydata and /checkin never claim to have sent anything
privately; the ephemeral answer says plainly that nothing was sent and how to open DMs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.discord_fake import FakeDiscord

from .conftest import AdapterScene
from .test_adapter_checkins import CHECKIN_POLICY, EPHEMERAL


async def test_closed_dms_are_answered_plainly(
    fake: FakeDiscord, adapter_scene: AdapterScene, start_app: Callable[..., Any]
) -> None:
    scene = adapter_scene
    erin = fake.world.add_user("erin", accepts_dms=False)
    fake.world.add_member(scene.guild, erin)
    await start_app(policy=CHECKIN_POLICY.replace("{mod_id}", str(scene.mod.id)))
    for name, sub in (("mydata", None), ("checkin", "start")):
        mark = fake.requests.mark()
        interaction = await fake.events.slash_command(
            name, user=erin, channel=scene.lobby, subcommand=sub
        )
        route = f"/interactions/{interaction.id}/{interaction.token}/callback"
        [callback] = await fake.wait_for_call("POST", route, since=mark)
        assert callback.json["type"] == 4  # answered, not left "thinking"
        assert callback.json["data"]["flags"] == EPHEMERAL
        texts = str(callback.json["data"]["content"])
        assert "Sent to you privately" not in texts and "continues in our private" not in texts
        assert "I could not reach you privately, so nothing was sent" in texts, texts
        assert "allow direct messages from this server's members" in texts
        command = "/mydata" if sub is None else "/checkin start"
        assert f"send {command} again" in texts
