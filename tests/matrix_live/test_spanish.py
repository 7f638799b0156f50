"""Matrix in Spanish end to end: a circle whose policy says ``language: es`` hears the
bot's own sentences in Spanish, in the private chat and in the room, and !help lists the
commands in Spanish (the command words stay as declared)."""

from __future__ import annotations

from pathlib import Path

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.rig import POLICY, create_world, say, wait_until, watch
from tests.matrix_live.test_bot import join_member, read_dm

SPANISH = POLICY.replace("name: circle\n", "name: circle\nlanguage: es\n", 1).replace(
    "  text: What is shared in the circle stays in the circle.\n",
    "  text:\n    es: Lo que se comparte en el círculo se queda en el círculo.\n"
    "    en: What is shared in the circle stays in the circle.\n",
)
REMINDER = "Lo que se comparte en el círculo se queda en el círculo."


async def test_a_spanish_circle_on_matrix(
    synapse: LocalSynapse, tmp_path: Path, matrix_client
) -> None:  # type: ignore[no-untyped-def]
    world = await create_world(synapse, tmp_path, matrix_client, policy=SPANISH)
    try:
        await world.start_bot()
        await wait_until([world.mod], world.bot_joined, "the bot joined the covered room")
        ana = await matrix_client("ana")
        notices = await join_member(world, ana)
        body = await read_dm(world, ana, notices, REMINDER)
        assert body.startswith("Te damos la bienvenida a ")
        assert "Responde !agree para confirmar que lo vas a cumplir." in body
        assert "What is shared" not in body  # the policy's language picks its text
        dm_room = notices.containing(REMINDER)[0][0]
        await say(ana, dm_room, "!agree")
        await wait_until(
            [ana], lambda: bool(notices.containing("Gracias. Tu aceptación")), "her agreement"
        )
        await say(ana, dm_room, "!help")
        await wait_until(
            [ana], lambda: bool(notices.containing("Comandos que puedes usar:")), "!help"
        )
        [(_, help_text)] = notices.containing("Comandos que puedes usar:")
        assert "!rules - mostrar el recordatorio de confidencialidad de esta sala" in help_text
        mod_notices = watch(world.mod)
        await say(world.mod, world.room_id, "!nada")
        await wait_until(
            [world.mod],
            lambda: bool(mod_notices.containing("No conozco !nada.")),
            "the unknown command's answer",
        )
        assert not any("Welcome" in body or "Thank you" in body for _, body in notices.seen)
    finally:
        await world.stop_bot()
