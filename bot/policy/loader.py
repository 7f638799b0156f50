"""Load policy files into a :class:`PolicySet`, or explain everything wrong with them.

Loading is all-or-nothing: a half-loaded set of policies could leave a room without its
confidentiality reminder, so any error in any file refuses the whole directory and the
caller keeps running on the previous snapshot.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from bot.policy.conflicts import find_conflicts
from bot.policy.errors import PolicyError, PolicyLoadError
from bot.policy.languages import frozen, per_language
from bot.policy.model import POLICY_NAME_RE, Policy, PolicySet
from bot.policy.validate import platform_limits, validate_document
from bot.policy.yamlpos import MAX_BYTES, START, Document, Loc, Problem, parse_yaml

POLICY_SUFFIXES = (".yaml", ".yml")
_PLACEHOLDER_NAME = "unnamed"


@dataclass(frozen=True)
class _Loaded:
    policy: Policy
    document: Document


def display_path(path: Path, display_root: Path | None = None) -> str:
    """The path as a moderator should see it: relative to the root when it is inside it."""
    # abspath, not resolve(): a symlinked policy folder should show the path the admin used.
    root = Path(os.path.abspath(display_root if display_root is not None else Path.cwd()))
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(root).as_posix()
    except ValueError:
        return str(absolute)


def to_errors(path: str, problems: Sequence[Problem]) -> list[PolicyError]:
    return [PolicyError(path, p.pos.line, p.pos.column, p.message) for p in problems]


def _parse_policy(text: str | bytes, path: str) -> tuple[_Loaded | None, list[PolicyError]]:
    parsed = parse_yaml(text)
    problems = list(parsed.problems)
    if parsed.document is None:
        return None, to_errors(path, problems)
    defaults: dict[str, str] = {}
    if "name" not in parsed.document.data:
        stem = PurePath(path).stem
        if POLICY_NAME_RE.match(stem):
            defaults["name"] = stem
        else:
            defaults["name"] = _PLACEHOLDER_NAME
            problems.append(
                Problem(
                    START,
                    f"the file name '{stem}' cannot be used as the policy name (only lowercase "
                    "letters, digits, '-' and '_'); rename the file or add a 'name:' line",
                )
            )
    document, translations, more_texts = per_language(parsed.document)
    problems.extend(more_texts)
    policy, more = validate_document(
        Policy,
        document,
        injected={"source": path, "translations": frozen(translations)},
        defaults=defaults,
    )
    problems.extend(more)
    if policy is not None:
        problems.extend(platform_limits(policy, parsed.document))
    if policy is None or problems:
        return None, to_errors(path, problems)
    loaded = _Loaded(policy, parsed.document)
    conflict_errors = _conflict_errors([loaded])
    if conflict_errors:
        return None, conflict_errors
    return loaded, []


def _conflict_errors(loaded: Sequence[_Loaded]) -> list[PolicyError]:
    def position(index: int, loc: Loc) -> tuple[int, int]:
        document = loaded[index].document
        pos = document.key_pos(loc) if loc == ("name",) else document.value_pos(loc)
        return pos.line, pos.column

    def where(index: int, loc: Loc) -> str:
        line, column = position(index, loc)
        return f"{loaded[index].policy.source}:{line}:{column}"

    errors = []
    for conflict in find_conflicts([item.policy for item in loaded], where):
        line, column = position(conflict.policy_index, conflict.loc)
        source = loaded[conflict.policy_index].policy.source
        errors.append(PolicyError(source, line, column, conflict.message))
    return errors


def load_policy_text(text: str | bytes, path: str) -> Policy:
    """Load a single policy; ``path`` is only used in messages and for the default name."""
    loaded, errors = _parse_policy(text, path)
    if loaded is None:
        raise PolicyLoadError(errors)
    return loaded.policy


def read_limited(file: Path, shown: str) -> tuple[bytes | None, list[PolicyError]]:
    """Read at most 1 MiB: anything bigger is refused before a single byte is parsed."""
    try:
        with file.open("rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_BYTES:
                return None, [PolicyError(shown, 1, 1, "file is larger than 1 MiB")]
            return handle.read(MAX_BYTES + 1), []
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return None, [PolicyError(shown, 1, 1, f"cannot read the file: {reason}")]


def policy_files(directory: Path) -> list[Path]:
    """Every entry a moderator may have meant as a policy file, in load order.

    Names ending in .yaml or .yml in any letter case count, whatever they are (a link to
    nowhere, a folder, a pipe): skipping one silently would drop a running policy on the next
    reload, so :func:`entry_problem` refuses those instead. Hidden entries (editor backups,
    lock files) are left out on purpose.
    """
    return sorted(
        entry
        for entry in directory.iterdir()
        if entry.suffix.lower() in POLICY_SUFFIXES and not entry.name.startswith(".")
    )


def entry_problem(entry: Path) -> str | None:
    """Why a policy folder entry cannot be read as a policy file, or None when it can."""
    if entry.suffix not in POLICY_SUFFIXES:
        return (
            f"policy files must end in .yaml or .yml in lowercase letters, so this file would "
            f"be skipped; rename it to '{entry.stem}{entry.suffix.lower()}'"
        )
    try:
        status = entry.stat()
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "this link leads round in a loop and never reaches a file; replace it"
        if entry.is_symlink():
            return (
                f"this is a link to '{os.readlink(entry)}', which does not exist; fix the "
                "link or remove it"
            )
        return f"cannot read the file: {exc.strerror or type(exc).__name__}"
    if stat.S_ISDIR(status.st_mode):
        return (
            "this is a folder, not a policy file; policies are not read from folders inside "
            "the policy folder, so rename it or move it out"
        )
    if not stat.S_ISREG(status.st_mode):
        return "this is not a regular file (a pipe or a device?); replace it with a file"
    return None


def load_policy_files(files: Sequence[Path], display_root: Path | None = None) -> PolicySet:
    """Load the given policy files as one set (conflicts between them included), raising
    with every error of every file."""
    errors: list[PolicyError] = []
    loaded: list[_Loaded] = []
    for file in files:
        shown = display_path(file, display_root)
        problem = entry_problem(file)
        if problem is not None:
            errors.append(PolicyError(shown, 1, 1, problem))
            continue
        raw, read_errors = read_limited(file, shown)
        errors.extend(read_errors)
        if raw is None:
            continue
        item, file_errors = _parse_policy(raw, shown)
        errors.extend(file_errors)
        if item is not None:
            loaded.append(item)
    errors.extend(_conflict_errors(loaded))
    if errors:
        raise PolicyLoadError(errors)
    return PolicySet(policies=tuple(item.policy for item in loaded))


def load_policy_dir(directory: Path, display_root: Path | None = None) -> PolicySet:
    """Load every policy file in ``directory``, raising with every error of every file."""
    shown_dir = display_path(directory, display_root)
    if not directory.is_dir():
        raise PolicyLoadError(
            [PolicyError(shown_dir, 1, 1, "the policy folder does not exist or is not a folder")]
        )
    try:
        files = policy_files(directory)
    except OSError as exc:  # a folder this user may not list
        reason = exc.strerror or type(exc).__name__
        raise PolicyLoadError(
            [PolicyError(shown_dir, 1, 1, f"cannot list the policy folder: {reason}")]
        ) from None
    if not files:
        raise PolicyLoadError(
            [PolicyError(shown_dir, 1, 1, "the policy folder has no .yaml files")]
        )
    return load_policy_files(files, display_root)
