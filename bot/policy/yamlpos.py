"""Bounded YAML parsing that remembers where every value came from.

PyYAML's ``safe_load`` throws positions away, silently keeps the last of two duplicate keys,
expands alias bombs until memory runs out and recurses until the stack does. Policies are
edited by hand and config files may come from anywhere, so we compose nodes ourselves under
hard limits and build plain Python values (dicts, tuples, scalars) alongside a map from each
value's path to its line and column. Validators then report problems where a moderator can
find them.

Scalars follow YAML 1.2's core schema rather than PyYAML's YAML 1.1 one: only ``true`` and
``false`` are booleans (``yes``, ``no``, ``on``, ``off`` stay text), there are no implicit
timestamps, and ``010`` is ten, not eight.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import Composer
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

MAX_BYTES = 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 50
MAX_INT = 2**63 - 1
_MAX_DIGITS = 30  # more significant digits than MAX_INT has in any base we read

Loc = tuple[str | int, ...]

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"

_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_DEC_RE = re.compile(r"^[-+]?[0-9]+$")
_HEX_RE = re.compile(r"^0x[0-9a-fA-F]+$")
_OCT_RE = re.compile(r"^0o[0-7]+$")
_INT_RE = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


@dataclass(frozen=True)
class Pos:
    """A 1-based line and column, as editors display them."""

    line: int
    column: int


START = Pos(1, 1)


@dataclass(frozen=True)
class Problem:
    """A problem in a file, before we know which path to show it under."""

    pos: Pos
    message: str


@dataclass(frozen=True)
class NodeInfo:
    """Where a value starts and, for mapping values, where its key starts."""

    value: Pos
    key: Pos | None


@dataclass(frozen=True)
class Document:
    """Plain data plus the positions needed to explain what is wrong with it.

    ``flagged`` holds paths already reported while parsing (bad tags, undefined variables),
    so validation does not report the same value a second time in vaguer words.
    ``substituted`` maps the paths of text values the string hook rewrote (``${VAR}``) to
    the text as written, so a message can say where a value really came from.
    """

    data: dict[str, Any]
    positions: Mapping[Loc, NodeInfo]
    flagged: frozenset[Loc] = frozenset()
    substituted: Mapping[Loc, str] = field(default_factory=dict)

    def value_pos(self, loc: Loc) -> Pos:
        """The value's position, or the nearest enclosing one we know."""
        for end in range(len(loc), -1, -1):
            info = self.positions.get(loc[:end])
            if info is not None:
                return info.value
        return START

    def key_pos(self, loc: Loc) -> Pos:
        """The key's position if the value sits under a key, else the value's position."""
        info = self.positions.get(loc)
        if info is not None and info.key is not None:
            return info.key
        return self.value_pos(loc)

    def is_flagged(self, loc: Loc) -> bool:
        return any(loc[: len(f)] == f for f in self.flagged)


@dataclass(frozen=True)
class ParseResult:
    document: Document | None
    problems: tuple[Problem, ...]


StringHook = Callable[[str], str]
"""Rewrites a text value (e.g. environment substitution); raises ValueError to report."""


class _LimitExceeded(Exception):
    def __init__(self, pos: Pos, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


class _Resolver(BaseResolver):
    """YAML 1.2 core schema: no yes/no booleans, no timestamps, no merge keys."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012


_Resolver.add_implicit_resolver(_BOOL, _BOOL_RE, list("tTfF"))
_Resolver.add_implicit_resolver(_INT, _INT_RE, list("-+0123456789"))
_Resolver.add_implicit_resolver(_FLOAT, _FLOAT_RE, list("-+.0123456789"))
_Resolver.add_implicit_resolver(_NULL, _NULL_RE, ["~", "n", "N", ""])


class _BoundedComposer(Composer):
    """Composer that refuses documents too deep or too large before building them."""

    _depth = 0
    _nodes = 0

    def compose_node(self, parent: Node | None, index: object) -> Node:
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _LimitExceeded(_mark_pos(self.peek_event().start_mark), _too_deep_message())
            if self._nodes > MAX_NODES:
                raise _LimitExceeded(
                    _mark_pos(self.peek_event().start_mark), _too_many_message(expanded=False)
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class _PureLoader(Reader, Scanner, Parser, _BoundedComposer, _Resolver):
    """PyYAML's own parser: slow, but its error messages are the ones we know how to reword."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)
        _Resolver.__init__(self)


_FastLoader: type | None
try:
    from yaml.cyaml import CParser

    class _LibyamlLoader(_BoundedComposer, _Resolver, CParser):
        """libyaml produces the events (several times faster); our composer keeps the limits."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            _BoundedComposer.__init__(self)
            _Resolver.__init__(self)

    _FastLoader = _LibyamlLoader
except ImportError:  # PyYAML built without libyaml
    _FastLoader = None

# Above this size a syntax error is explained from libyaml's message rather than spending
# seconds re-parsing in pure Python for friendlier ones.
_REPARSE_LIMIT = 64 * 1024


_SELF_REFERENCE = "this value contains a reference (*alias) to itself; remove it"


def _too_deep_message() -> str:
    return f"the file is nested more than {MAX_DEPTH} levels deep; refusing to read it"


def _too_many_message(expanded: bool = True) -> str:
    if not expanded:
        return f"the file has more than {MAX_NODES} values; refusing to read it"
    return (
        f"the file has more than {MAX_NODES} values once references (*aliases) are "
        "expanded; refusing to read it"
    )


def _mark_pos(mark: yaml.Mark | None) -> Pos:
    if mark is None:
        return START
    return Pos(mark.line + 1, mark.column + 1)


def _text_pos(text: str, index: int) -> Pos:
    line = text.count("\n", 0, index) + 1
    return Pos(line, index - (text.rfind("\n", 0, index) + 1) + 1)


def decode(raw: str | bytes) -> str | Problem:
    """Bytes to text, refusing oversized or non-UTF-8 input before any parsing happens."""
    if isinstance(raw, str):
        if len(raw) > MAX_BYTES or len(raw.encode("utf-8", "surrogatepass")) > MAX_BYTES:
            return Problem(START, "file is larger than 1 MiB")
        try:
            raw.encode("utf-8")
        except UnicodeEncodeError as exc:  # a lone surrogate: no file on disk can hold one
            return Problem(
                _text_pos(raw, exc.start),
                f"the invalid character #x{ord(raw[exc.start]):04x} (half of a UTF-16 pair) "
                "is not allowed; delete it",
            )
        return raw.removeprefix("\ufeff")
    if len(raw) > MAX_BYTES:
        return Problem(START, "file is larger than 1 MiB")
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = raw[: exc.start]
        line_start = prefix.rfind(b"\n") + 1
        column = len(prefix[line_start:].decode("utf-8", "replace")) + 1
        return Problem(
            Pos(prefix.count(b"\n") + 1, column),
            f"the file is not valid UTF-8 text (byte 0x{raw[exc.start]:02x}); "
            "save it with UTF-8 encoding",
        )


def parse_yaml(raw: str | bytes, string_hook: StringHook | None = None) -> ParseResult:
    """Parse one YAML document whose top level must be a mapping.

    Syntax errors stop parsing (one problem); structural problems such as duplicate keys are
    collected so that validation can still report everything else in the same pass.
    """
    text = decode(raw)
    if isinstance(text, Problem):
        return ParseResult(None, (text,))
    try:
        root = _compose(text)
    except _LimitExceeded as exc:
        return ParseResult(None, (Problem(exc.pos, exc.message),))
    except yaml.YAMLError as exc:
        return ParseResult(None, (_syntax_problem(exc, text),))
    if root is None or (isinstance(root, ScalarNode) and root.tag == _NULL):
        return ParseResult(None, (Problem(START, "the file is empty"),))
    if not isinstance(root, MappingNode):
        return ParseResult(
            None,
            (
                Problem(
                    _mark_pos(root.start_mark),
                    f"the top level of the file must be 'key: value' lines, not {_node_kind(root)}",
                ),
            ),
        )
    builder = _Builder(string_hook)
    try:
        data = builder.build(root, (), None, 1)
    except _LimitExceeded as exc:
        # Shared (aliased) nodes have no position of their own, so blame the top-level key
        # whose value grew too large: that is where the moderator has to look.
        info = builder.positions.get(builder.current[:1])
        pos = info.key if info is not None and info.key is not None else exc.pos
        return ParseResult(None, (Problem(pos, exc.message),))
    document = Document(
        data, builder.positions, frozenset(builder.flagged), dict(builder.substituted)
    )
    return ParseResult(document, tuple(builder.problems))


def _compose(text: str) -> Node | None:
    """Compose with libyaml when possible; on a syntax error, ask PyYAML for its wording."""
    if _FastLoader is not None:
        try:
            return _FastLoader(text).get_single_node()  # type: ignore[no-any-return]
        except yaml.YAMLError:
            if len(text) > _REPARSE_LIMIT:
                raise
    return _PureLoader(text).get_single_node()  # type: ignore[no-any-return]


def _node_kind(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    return "a single value"


def _short_tag(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _bounded(digits: str, base: int) -> int:
    """A whole number that fits the 64-bit integers SQLite stores.

    No setting needs more, and a bigger one is refused here rather than deep inside a
    timer or a database call (or Python's own limit on converting long numbers to text).
    """
    significant = digits.lstrip("+-").lstrip("0")
    number = int(digits, base) if len(significant) <= _MAX_DIGITS else None
    if number is None or abs(number) > MAX_INT:
        raise ValueError(
            f"this number is too big (at most {MAX_INT} either side of zero); "
            "if it is an id or text, put it in quotes"
        )
    return number


def _check_characters(value: str) -> None:
    """Refuse a lone surrogate (from a ``"\\ud800"`` escape, or an environment variable
    holding bytes that are not UTF-8): no message, database or log line can carry one."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        code = ord(value[exc.start])
        raise ValueError(
            f"this text holds the invalid character #x{code:04x} (half of a UTF-16 pair); remove it"
        ) from None


def _construct_scalar(tag: str, value: str) -> Any:
    """Turn a resolved scalar into a Python value; ValueError explains explicit-tag misuse."""
    _check_characters(value)
    if tag == _STR:
        return value
    if tag == _NULL:
        return None
    if tag == _BOOL:
        if _BOOL_RE.match(value):
            return value.lower() == "true"
        raise ValueError(f"expected true or false, got '{value}'")
    if tag == _INT:
        if _DEC_RE.match(value):
            return _bounded(value, 10)
        if _HEX_RE.match(value):
            return _bounded(value[2:], 16)
        if _OCT_RE.match(value):
            return _bounded(value[2:], 8)
        raise ValueError(f"expected a whole number, got '{value}'")
    if tag == _FLOAT:
        if not _FLOAT_RE.match(value) and not _INT_RE.match(value):
            raise ValueError(f"expected a number, got '{value}'")
        lowered = value.lower()
        if lowered.endswith(".inf"):
            return -math.inf if lowered.startswith("-") else math.inf
        if lowered == ".nan":  # compares false with every limit, so no range check stops it
            raise ValueError("'.nan' (not a number) fits no setting; write a number, or quote text")
        if value.startswith(("0x", "0o")):
            return float(_bounded(value[2:], 16 if value.startswith("0x") else 8))
        return float(value)
    raise ValueError(f"the YAML tag '{_short_tag(tag)}' is not supported here; remove it")


@dataclass
class _Builder:
    """Turns a node graph into plain values, counting every node after alias expansion."""

    string_hook: StringHook | None
    positions: dict[Loc, NodeInfo] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    flagged: set[Loc] = field(default_factory=set)
    substituted: dict[Loc, str] = field(default_factory=dict)
    count: int = 0
    current: Loc = ()
    open_nodes: set[int] = field(default_factory=set)

    def build(self, node: Node, loc: Loc, key_pos: Pos | None, depth: int) -> Any:
        pos = _mark_pos(node.start_mark)
        self.current = loc
        self.count += 1
        if self.count > MAX_NODES:
            raise _LimitExceeded(pos, _too_many_message())
        if depth > MAX_DEPTH:
            raise _LimitExceeded(pos, _too_deep_message())
        self.positions[loc] = NodeInfo(pos, key_pos)
        if isinstance(node, ScalarNode):
            return self._scalar(node, loc, pos)
        if id(node) in self.open_nodes:
            raise _LimitExceeded(pos, _SELF_REFERENCE)
        self.open_nodes.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                self._check_collection_tag(node, _SEQ, loc, pos)
                return tuple(
                    self.build(child, (*loc, index), None, depth + 1)
                    for index, child in enumerate(node.value)
                )
            assert isinstance(node, MappingNode)
            self._check_collection_tag(node, _MAP, loc, pos)
            return self._mapping(node, loc, depth)
        finally:
            self.open_nodes.discard(id(node))

    def _report(self, loc: Loc, pos: Pos, message: str) -> None:
        self.problems.append(Problem(pos, message))
        self.flagged.add(loc)

    def _check_collection_tag(self, node: Node, expected: str, loc: Loc, pos: Pos) -> None:
        if node.tag != expected:
            self._report(
                loc, pos, f"the YAML tag '{_short_tag(node.tag)}' is not supported here; remove it"
            )

    def _scalar(self, node: ScalarNode, loc: Loc, pos: Pos) -> Any:
        try:
            value = _construct_scalar(node.tag, node.value)
        except ValueError as exc:
            self._report(loc, pos, str(exc))
            return node.value
        if isinstance(value, str) and self.string_hook is not None:
            written = value
            try:
                value = self.string_hook(value)
                _check_characters(value)
            except ValueError as exc:
                self._report(loc, pos, str(exc))
            if value != written:
                self.substituted[loc] = written
        return value

    def _mapping(self, node: MappingNode, loc: Loc, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        seen: dict[str, Pos] = {}
        for key_node, value_node in node.value:
            key_pos = _mark_pos(key_node.start_mark)
            self.count += 1
            key = self._key(key_node, key_pos)
            if key is None:
                continue
            if key in seen:
                self.problems.append(
                    Problem(
                        key_pos,
                        f"duplicate key '{key}' (already given on line {seen[key].line})",
                    )
                )
                continue
            if key == "<<":
                # The merged keys are missing, so the rest of this mapping is not checked.
                self._report(
                    loc, key_pos, "merge keys ('<<') are not supported; write the keys out"
                )
                continue
            seen[key] = key_pos
            result[key] = self.build(value_node, (*loc, key), key_pos, depth + 1)
        return result

    def _key(self, node: Node, pos: Pos) -> str | None:
        if not isinstance(node, ScalarNode):
            self.problems.append(
                Problem(pos, f"a key must be a plain word like 'rooms', not {_node_kind(node)}")
            )
            return None
        try:
            key = _construct_scalar(node.tag, node.value)
        except ValueError as exc:
            self.problems.append(Problem(pos, str(exc)))
            return None
        if not isinstance(key, str):
            shown = "nothing" if key is None else node.value
            self.problems.append(
                Problem(pos, f"a key must be a plain word like 'rooms', not {shown}")
            )
            return None
        return key


def _syntax_problem(exc: yaml.YAMLError, text: str) -> Problem:
    """Reword PyYAML's parser-speak into something a volunteer moderator can act on."""
    if isinstance(exc, yaml.reader.ReaderError):
        pos = _text_pos(text, exc.position)
        return Problem(
            pos,
            f"the invisible control character #x{exc.character:04x} is not allowed; delete it",
        )
    if not isinstance(exc, yaml.MarkedYAMLError):
        return Problem(START, f"YAML syntax error: {exc}")
    problem = exc.problem or ""
    context = exc.context or ""
    pos = _mark_pos(exc.problem_mark)
    context_pos = _mark_pos(exc.context_mark) if exc.context_mark is not None else pos
    if "maximum nesting depth" in f"{context} {problem}":  # libyaml's own limit
        return Problem(pos, _too_deep_message())
    if "'\\t'" in problem:
        return Problem(pos, "tab character found: YAML needs spaces, not tabs")
    token = re.search(r"found character '(.)' that cannot start any token", problem)
    if token:
        return Problem(
            pos, f"a value cannot start with '{token.group(1)}'; put the value in quotes"
        )
    if "quoted scalar" in context:
        quote = text.splitlines()[context_pos.line - 1][context_pos.column - 1 : context_pos.column]
        return Problem(context_pos, f"the quote {quote} opened here is never closed")
    if "flow node" in context and "found '-'" in problem:
        return Problem(
            pos,
            "a '- ' list item inside a '[' or '{' that is still open above; write a list "
            "either as [a, b] or as '- ' lines, not both",
        )
    if "flow sequence" in context:
        return Problem(context_pos, "the list opened here with '[' is not closed with ']'")
    if "flow mapping" in context:
        return Problem(context_pos, "the mapping opened here with '{' is not closed with '}'")
    if "mapping values are not allowed" in problem:
        return Problem(
            pos,
            "unexpected ':' here; put text that contains ': ' in quotes, or check the indentation",
        )
    if "expected a single document" in context:
        return Problem(
            pos,
            "a file may hold only one YAML document; remove this '---' and what follows, "
            "or move it to its own file",
        )
    if "expected '<document start>'" in problem:
        return Problem(
            pos,
            "there is more after the end of the document ('...'); remove the '...' line, "
            "or move what follows to its own file",
        )
    if "undefined alias" in problem:
        name = problem.split("'")[1] if "'" in problem else ""
        return Problem(pos, f"'*{name}' refers to an anchor '&{name}' that is not defined above")
    if "duplicate anchor" in context:
        return Problem(pos, "this anchor name is already used above; anchor names must differ")
    if "<stream end>" in problem or "end of stream" in problem:
        return Problem(
            pos, "the file ends in the middle of a value; is a ']', '}' or a quote missing?"
        )
    if "could not find expected ':'" in problem:
        return Problem(context_pos, "expected 'key: value' here; is a ':' or a quote missing?")
    if "expected <block end>" in problem or "block collection" in context:
        return Problem(
            pos,
            "this line does not line up with the lines above; check the indentation "
            "(and do not mix '- ' list items with 'key: value' lines at one level)",
        )
    detail = f"{context} {problem}".strip() if context else problem
    return Problem(pos, f"YAML syntax error: {detail}")
