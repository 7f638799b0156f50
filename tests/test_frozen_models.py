"""The models' own validator (bot/policy/frozen.py): strict types, every error in one pass
with its path, secrets never quoted, frozen values."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import pytest

from bot.config import Config, DiscordConfig, MatrixConfig
from bot.policy.frozen import ValidationError
from bot.policy.model import BurstSpec, LeaksSpec, ReminderSpec, RoomRef
from bot.secret import SecretStr


def kinds(error: ValidationError) -> list[tuple[tuple[object, ...], str]]:
    return [(tuple(e["loc"]), e["type"]) for e in error.errors()]


@pytest.mark.parametrize(
    ("data", "loc", "kind"),
    [
        ({"room_is_enough": "yes"}, ("room_is_enough",), "bool_type"),
        ({"room_is_enough": 1}, ("room_is_enough",), "bool_type"),
        ({"queue_over": "7"}, ("queue_over",), "int_type"),
        ({"queue_over": True}, ("queue_over",), "int_type"),
        ({"queue_over": 7.0}, ("queue_over",), "int_type"),
        ({"room_every_seconds": "5"}, ("room_every_seconds",), "float_type"),
        ({"queue_over": 0}, ("queue_over",), "greater_than_equal"),
        ({"room_every_seconds": 601}, ("room_every_seconds",), "less_than_equal"),
        ({"queue": 3}, ("queue",), "extra_forbidden"),
    ],
)
def test_strict_types_and_limits(data: dict[str, object], loc: tuple[str], kind: str) -> None:
    with pytest.raises(ValidationError) as caught:
        BurstSpec.model_validate(data, strict=True)
    assert kinds(caught.value) == [(loc, kind)]


def test_a_float_field_takes_a_whole_number_as_a_float_and_states_limits_as_floats() -> None:
    spec = BurstSpec.model_validate({"room_every_seconds": 7}, strict=True)
    assert spec.room_every_seconds == 7.0 and isinstance(spec.room_every_seconds, float)
    with pytest.raises(ValidationError) as caught:
        BurstSpec.model_validate({"room_every_seconds": 0.5}, strict=True)
    assert caught.value.errors()[0]["ctx"] == {"ge": 1.0}
    with pytest.raises(ValidationError) as caught:
        BurstSpec.model_validate({"room_every_seconds": 0}, strict=True)
    (error,) = caught.value.errors()
    assert repr(error["input"]) == "0"  # quoted as written: "got 0", not "got 0.0"


def test_every_error_is_found_in_one_pass_with_its_path() -> None:
    with pytest.raises(ValidationError) as caught:
        ReminderSpec.model_validate(
            {"delivery": "shout", "burst": {"queue_over": "x"}, "repeat": {"every_days": 0}},
            strict=True,
        )
    assert kinds(caught.value) == [
        (("text",), "missing"),
        (("delivery",), "literal_error"),
        (("repeat", "every_days"), "greater_than_equal"),
        (("burst", "queue_over"), "int_type"),
    ]


def test_a_moderators_message_is_kept_verbatim_and_checks_see_earlier_fields() -> None:
    with pytest.raises(ValidationError) as caught:
        RoomRef.model_validate({"platform": "discord", "name": "#general"}, strict=True)
    (error,) = caught.value.errors()
    assert error["type"] == "confidant"
    assert error["msg"] == "'#general': write the Discord channel name without '#', as 'general'"


def test_the_whole_model_is_checked_only_once_its_fields_are_valid() -> None:
    with pytest.raises(ValidationError) as caught:
        RoomRef.model_validate({"platform": "matrix"}, strict=True)
    assert kinds(caught.value) == [((), "confidant")]
    with pytest.raises(ValidationError) as caught:
        RoomRef.model_validate({"platform": "irc"}, strict=True)
    assert kinds(caught.value) == [(("platform",), "literal_error")]


def test_secrets_stay_out_of_reprs_dumps_and_errors() -> None:
    token = "canary-token-8f3a"
    config = DiscordConfig.model_validate({"token": token}, strict=True)
    assert isinstance(config.token, SecretStr) and config.token.get_secret_value() == token
    for shown in (repr(config), str(config), config.model_dump_json(), str(config.model_dump())):
        assert token not in shown
    with pytest.raises(ValidationError) as caught:
        MatrixConfig.model_validate(
            {"homeserver": "https://example.org", "user_id": "@bot:example.org",
             "password": token, "access_token": token, "device_name": 5},
            strict=True,
        )
    assert token not in str(caught.value)


def test_models_are_frozen_comparable_and_survive_copies() -> None:
    spec = LeaksSpec.model_validate({"k": 9, "actions": {"delete_copy": True}}, strict=True)
    with pytest.raises(ValidationError):
        spec.k = 3  # type: ignore[misc]
    assert spec == LeaksSpec(k=9, actions={"delete_copy": True})
    assert spec != LeaksSpec()
    assert hash(spec) == hash(copy.deepcopy(spec)) == hash(pickle.loads(pickle.dumps(spec)))
    assert spec.model_fields_set == {"k", "actions"}
    changed = spec.model_copy(update={"w": 4})
    assert (changed.k, changed.w, spec.w) == (9, 4, 2)


def test_a_database_setting_is_a_path_or_a_postgresql_url() -> None:
    def database(value: object) -> object:
        data = {"database": value, "adapters": {"console": None}, "source": "x"}
        return Config.model_validate(data, strict=True, context={"base_dir": Path("/srv")})

    assert database("state/c.db").database == Path("/srv/state/c.db")  # type: ignore[attr-defined]
    url = database("postgresql://me:pw@db.example.org/confidant").database  # type: ignore[attr-defined]
    assert "pw" not in repr(url) and url.reveal().endswith("/confidant")
    with pytest.raises(ValidationError) as caught:
        database(["a"])
    assert kinds(caught.value) == [(("database",), "path_type")]
