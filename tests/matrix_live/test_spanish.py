"""Matrix in Spanish end to end: a circle whose policy says ``language: es`` hears the
bot's own sentences in Spanish, in the private chat and in the room, and !help lists the
commands in Spanish. The policy allows the language's command words (``command_aliases:
true``): ``!normas`` and ``!ayuda`` reach !rules and !help on the real homeserver, !help shows
both words, and the declared words keep working."""

from __future__ import annotations

from pathlib import Path

from adapters.matrix.homeserver import LocalSynapse
from tests.matrix_live.rig import POLICY, create_world, say, wait_until, watch
from tests.matrix_live.test_bot import join_member, read_dm

SPANISH = POLICY.replace("name: circle\n", "name: circle\nlanguage: es\n", 1).replace(
    "  text: What is shared in the circle stays in the circle.\n",
    "  text:\n    es: Lo que se comparte en el círculo se queda en el círculo.\n"
    "    en: What is shared in the circle stays in the circle.\n",
) + "command_aliases: true\n"
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
        assert "!rules (!normas) - mostrar el recordatorio de confidencialidad de esta sala" in (
            help_text
        )
        await say(ana, dm_room, "!ayuda")  # the language's word for help
        await wait_until(
            [ana], lambda: len(notices.containing("Comandos que puedes usar:")) == 2, "!ayuda"
        )
        assert notices.containing("Comandos que puedes usar:")[1][1] == help_text
        await wait_until(
            [ana],
            lambda: ana.rooms[world.room_id].power_levels.get_user_level(ana.user_id) >= 0,
            "ana may post in the room",
        )
        rules = "Recordatorio de confidencialidad de esta sala:"
        await say(ana, world.room_id, "!normas")  # the language's word for rules, in the room
        await wait_until([ana], lambda: len(notices.containing(rules)) == 1, "!normas")
        [(_, answer)] = notices.containing(rules)
        assert REMINDER in answer and "What is shared" not in answer
        await say(ana, world.room_id, "!rules")  # the declared word still works
        await wait_until([ana], lambda: len(notices.containing(rules)) == 2, "!rules")
        assert notices.containing(rules)[1][1] == answer
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
