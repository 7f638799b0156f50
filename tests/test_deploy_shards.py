"""deploy/confidant@.service and deploy/shards.yaml: one hardened instance per Discord
shard, the shard id from the instance name, every instance on one PostgreSQL and one key."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bot.config import load_config
from tests.test_deploy_files import BINARY, DEPLOY, ETC, STATE, _verify, one, parse_unit, unit

TEMPLATE = "confidant@.service"


def test_the_template_is_the_service_per_shard() -> None:
    single, per_shard = unit("confidant.service"), unit(TEMPLATE)
    service = per_shard["Service"]
    assert "CONFIDANT_SHARD=%i" in service["Environment"]
    assert one(service, "ExecStart").endswith(f"run --config {ETC}/shards.yaml")
    assert one(service, "ExecStartPre").endswith(f"check --config {ETC}/shards.yaml")
    # the same hardening, state directory and limits as the single service: only the
    # description, the shard and the config file differ
    differs = {"Environment", "ExecStart", "ExecStartPre"}
    for key, values in single["Service"].items():
        if key not in differs:
            assert service.get(key) == values, key
    assert per_shard["Install"] == single["Install"]
    assert "%i" in one(per_shard["Unit"], "Description")


def test_each_instance_reads_its_shard_from_the_instance_name() -> None:
    """What systemd hands instance N (CONFIDANT_SHARD=N) gives the config shard N."""
    env = {
        "CONFIDANT_DISCORD_TOKEN": "token",
        "CONFIDANT_DB_PASSWORD": "secret",
    }
    for instance in ("0", "1"):
        config = load_config(DEPLOY / "shards.yaml", {**env, "CONFIDANT_SHARD": instance})
        discord = config.adapters.discord
        assert discord is not None and discord.shard == (int(instance), 2)
        assert str(config.key_file) == f"{STATE}/confidant.key"
        assert not isinstance(config.database, type(config.key_file))  # PostgreSQL, not a file
        assert config.adapters.matrix is None  # one Matrix account: not in every shard


def test_the_template_parses_like_the_other_units() -> None:
    text = (DEPLOY / TEMPLATE).read_text(encoding="utf-8")
    assert parse_unit(text)["Service"]["User"] == ["confidant"]


def test_systemd_accepts_an_instance_of_the_template(tmp_path: Path) -> None:
    """systemd-analyze verifies a template through an instance of it (confidant@1)."""
    if shutil.which("systemd-analyze") is None:
        return  # the structural checks above are what is possible (as for the other units)
    executable = Path(sys.executable).with_name("confidant")
    text = (DEPLOY / TEMPLATE).read_text(encoding="utf-8").replace(BINARY, str(executable))
    (tmp_path / TEMPLATE).write_text(text, encoding="utf-8")
    instance = tmp_path / "confidant@1.service"
    instance.symlink_to(tmp_path / TEMPLATE)
    assert _verify([instance]) == ""
    broken = tmp_path / "confidant-broken@.service"
    broken.write_text(text.replace("NoNewPrivileges=", "NoNewPrivilege="), encoding="utf-8")
    (tmp_path / "confidant-broken@1.service").symlink_to(broken)
    assert "Unknown key 'NoNewPrivilege'" in _verify([tmp_path / "confidant-broken@1.service"])
