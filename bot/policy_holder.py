"""The running set of policies, with live reload that never drops the last good one.

A moderator editing YAML on a live server will make mistakes; a typo must produce a clear
file:line message and leave the room protected by the policy that was working before.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from bot.logs import fields
from bot.policy import Policy, PolicyError, PolicyLoadError, PolicySet, load_policy_dir
from bot.policy.loader import display_path, policy_files

log = logging.getLogger("confidant.policy")


@dataclass(frozen=True, slots=True)
class ReloadResult:
    changed: bool
    errors: tuple[str, ...] = ()
    # The same errors as moderators read them (one for each of ``errors``, in order): files
    # named within the policy folder ("circle.yaml:13:13: ..."), not as the server has them.
    notices: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors

    def errors_of(self, policy: Policy) -> tuple[str, ...]:
        """The errors in this policy's own file (they read ``path:line:col: message``, with
        the path the policy keeps as its source): its moderators' business, nobody else's."""
        return tuple(e for e in self.errors if e.startswith(f"{policy.source}:"))

    def notice(self, error: str) -> str:
        """One of ``errors`` as moderators read it."""
        if len(self.notices) != len(self.errors) or error not in self.errors:
            return error
        return self.notices[self.errors.index(error)]

    def notices_of(self, policy: Policy) -> tuple[str, ...]:
        return tuple(self.notice(e) for e in self.errors_of(policy))


class PolicyHolder:
    def __init__(self, directory: Path, initial: PolicySet, display_root: Path | None = None):
        self.directory = directory
        self.display_root = display_root
        self.current = initial
        self._fingerprint = directory_fingerprint(directory)

    @classmethod
    def load(cls, directory: Path, display_root: Path | None = None) -> PolicyHolder:
        """Raises PolicyLoadError: at start there is no last good policy to fall back on."""
        return cls(directory, load_policy_dir(directory, display_root), display_root)

    def changed_on_disk(self) -> bool:
        return directory_fingerprint(self.directory) != self._fingerprint

    def reload(self) -> ReloadResult:
        fingerprint = directory_fingerprint(self.directory)
        try:
            policies = load_policy_dir(self.directory, self.display_root)
        except PolicyLoadError as error:
            self._fingerprint = fingerprint  # report a broken edit once, not every poll
            messages = tuple(str(e) for e in error.errors)
            for message in messages:
                log.error(
                    "policy error, keeping the last good policies: %s",
                    message,
                    extra=fields("policy_reload_failed", errors=len(messages)),
                )
            notices = tuple(self._for_moderators(e) for e in error.errors)
            return ReloadResult(changed=False, errors=messages, notices=notices)
        self._fingerprint = fingerprint
        changed = policies != self.current
        self.current = policies
        if changed:
            names = ",".join(p.name for p in policies.policies)
            log.info(
                "policies reloaded: %s",
                names,
                extra=fields("policy_reloaded", policies=names),
            )
        return ReloadResult(changed=changed)

    def _for_moderators(self, error: PolicyError) -> str:
        """An error with its files named within the policy folder: where moderators edit
        them, they see the folder's own files, not the server's paths (the log keeps
        those, for the admin). A problem with the folder itself names it by its name."""
        folder = display_path(self.directory, self.display_root)
        inside = "" if folder == "." else folder.rstrip("/") + "/"
        path = error.path
        if path == folder:
            path = Path(folder).name or folder
        elif inside and path.startswith(inside):
            path = path[len(inside) :]
        message = error.message
        if inside:  # another file it points at ("already used by policies/a.yaml:1:1")
            message = re.sub(re.escape(inside) + r"(?=[^/\n]+?:\d+:\d+)", "", message)
        return str(PolicyError(path, error.line, error.column, message))


def directory_fingerprint(directory: Path) -> str:
    """A digest of the policy entries' names and contents (mtime alone misses quick edits).

    It covers the same entries the loader reads or refuses (a link to nowhere, a folder named
    x.yaml, an .YAML file), so adding or fixing one of them is noticed like any other edit.
    """
    digest = hashlib.sha256()
    if not directory.is_dir():
        return digest.hexdigest()
    try:
        entries = policy_files(directory)
    except OSError:
        return "unlistable"
    for path in entries:
        digest.update(path.name.encode() + b"\0")
        digest.update(_entry_digest(path))
    return digest.hexdigest()


def _entry_digest(path: Path) -> bytes:
    try:
        target = os.readlink(path).encode() if path.is_symlink() else b""
        mode = path.stat().st_mode
        if not stat.S_ISREG(mode):  # a folder, or a pipe that reading would block on
            return f"special:{stat.S_IFMT(mode)}:".encode() + target
        return b"file:" + target + hashlib.sha256(path.read_bytes()).digest()
    except OSError as exc:  # a link to nowhere or in a loop, an unreadable file ...
        return f"unreadable:{exc.errno}".encode()
