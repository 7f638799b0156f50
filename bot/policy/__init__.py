"""Moderators' policies: which rooms Confidant protects, and how.

Policies are hand-written YAML, so loading them is strict and every mistake is reported with
its file, line and column; see :mod:`bot.policy.loader`.
"""

from bot.policy.errors import PolicyError, PolicyLoadError
from bot.policy.loader import load_policy_dir, load_policy_text
from bot.policy.model import (
    Platform,
    Policy,
    PolicySet,
    ReminderSpec,
    RepeatSpec,
    RoomRef,
    UserRef,
)

__all__ = [
    "Platform",
    "Policy",
    "PolicyError",
    "PolicyLoadError",
    "PolicySet",
    "ReminderSpec",
    "RepeatSpec",
    "RoomRef",
    "UserRef",
    "load_policy_dir",
    "load_policy_text",
]
