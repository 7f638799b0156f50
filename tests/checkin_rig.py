"""Shared pieces of the check-in tests: a policy with check-ins, a rig, output helpers."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

from bot.clock import FakeClock
from tests.conftest import ConsoleRig, policy_rig

QUESTIONS = """\
  questions:
    - id: mood
      prompt: How is your mood today?
      kind: scale
      min: 1
      max: 5
      labels: [very low, low, okay, good, very good]
    - id: slept
      prompt: Did you sleep well?
      kind: yesno
    - id: support
      prompt: What helped most this week?
      kind: choice
      options: [meeting, sponsor, friends, nothing]
    - id: note
      prompt: Anything you want to note for yourself?
      kind: text
"""  # the check-in questions every check-in test asks (one of each kind)

CHECKIN_POLICY = (
    """\
name: circle
rooms:
  - platform: console
    name: recovery
moderators:
  - platform: console
    user: mod
alerts:
  - platform: console
    name: mods
reminder:
  text: What is shared here stays here.
checkins:
  intro: >-
    Check-ins are private. Confidant records your answers, encrypted, and only you can
    read them. Moderators see counts only. A peer supporter hears from you only if you say yes.
  retention_days: 90
  timeout_minutes: 20
"""
    + QUESTIONS
    + """  crisis:
    keywords:
      en: [hopeless, end it]
      de: [hoffnungslos]
    thresholds:
      - question: mood
        at_most: 1
    resources:
      - name: Samaritans
        number: "116 123"
        link: https://www.samaritans.org
  supporters:
    - platform: console
      user: sam
    - platform: console
      user: sue
  supporters_room:
    platform: console
    name: supporters
"""
)


def checkin_rig(
    tmp: Path, policy: str = CHECKIN_POLICY, clock: FakeClock | None = None
) -> AbstractAsyncContextManager[ConsoleRig]:
    return policy_rig(tmp, policy, clock)


def dm(who: str, *texts: str) -> list[str]:
    """Console lines for ``who`` writing privately to the bot."""
    return [f":dm {who} {text}" for text in texts]


def private_to(who: str, output: str) -> str:
    """Only the bot's private messages to ``who`` (with continuation lines)."""
    kept: list[str] = []
    keep = False
    for line in output.splitlines():
        if line.startswith("["):
            keep = line.startswith(f"[private → {who}]")
        if keep:
            kept.append(line)
    return "\n".join(kept)


def alerts_to(room: str, output: str) -> list[str]:
    found: list[str] = []
    keep = False
    for line in output.splitlines():
        if line.startswith("["):
            keep = line.startswith(f"[alert → #{room}]")
            if keep:
                found.append(line)
        elif keep and found:
            found[-1] += "\n" + line
    return found


def file_block(private: str, name: str) -> str:
    """The content of a JSON file the console printed in a private message, as a block
    between a ``[file: ...]`` line and ``[end of file]``."""
    lines = private.splitlines()
    [start] = [i for i, line in enumerate(lines) if line.startswith(f"    [file: {name}, ")]
    end = lines.index("    [end of file]", start)
    assert lines[start].startswith(f"    [file: {name}, application/json, ")
    return "\n".join(line[4:] for line in lines[start + 1 : end])
