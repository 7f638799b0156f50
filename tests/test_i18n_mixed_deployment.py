"""One deployment serving a Spanish and an English community: each alert reaches its own
moderators wholly in their community's language, the labels the adapter adds when it sends
the alert (after the core has handled the event) included, and an alert owed across a
restart keeps its language."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.actions import AlertModerators
from bot.alert_outbox import from_json, to_json
from bot.events import MessageRef
from bot.i18n import speaking
from bot.store.alert_rows import OwedAlert
from tests.conftest import make_config, start_rig, write_policy
from tests.leak_rig import LEAK_POLICY, QUOTE, SHARED, alerts

SPANISH = LEAK_POLICY.replace("name: circle\n", "name: circulo\nlanguage: es\n", 1).replace(
    "name: recovery", "name: recuperacion"
).replace("name: women", "name: mujeres").replace("name: mods", "name: moderacion")
ENGLISH = LEAK_POLICY
OTHER = (
    "my brother lost his job at the plant in March and now he drinks every single night "
    "alone at home"
)


async def test_each_communitys_alert_is_in_its_own_language(tmp_path: Path) -> None:
    write_policy(tmp_path / "policies", SPANISH, name="circulo.yaml")
    write_policy(tmp_path / "policies", ENGLISH, name="circle.yaml")
    rig = await start_rig(make_config(tmp_path))
    try:
        await rig.say(":room recuperacion", f"ana: {SHARED}")
        [spanish] = alerts(await rig.say(":room lobby", f"bob: {QUOTE}"))
        assert spanish.startswith("[alert → #moderacion]")
        assert "\n    Copia: " in spanish and "Copy:" not in spanish
        await rig.say(":room recovery", f"alice: {OTHER}")
        [english] = alerts(await rig.say(":room lobby", f"carl: guess what, {OTHER}"))
        assert english.startswith("[alert → #mods]")
        assert "\n    Copy: " in english and "Copia:" not in english
    finally:
        await rig.app.close()


def test_an_owed_alert_keeps_the_language_it_was_worded_in() -> None:
    copy = MessageRef("console", "lobby", "7")
    with speaking("de"):
        made = AlertModerators("console", "mods", "Möglicher Abfluss", about=copy)
    assert made.language == "de"
    row = OwedAlert("k", "console", b"", datetime.now(UTC), 0)
    with speaking("en"):  # sent later, outside the core's handling of the event
        again = from_json(row, to_json(made))
        assert again.language == "de"
        assert again.with_links(lambda _: None).split("\n")[1].startswith("Kopie: ")
        older = from_json(row, to_json(made).replace('"language": "de", ', ""))
        assert older.with_links(lambda _: None).split("\n")[1].startswith("Copy: ")
