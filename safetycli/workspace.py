"""The workspace: one production's folder of state (config, roster and log, own protocols).

Found through `--home`, `SAFETYCLI_HOME`, or the nearest `.safetycli/` from the current folder up,
the way git finds `.git/`, so every crew laptop command works from anywhere inside the production.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from safetycli.errors import SafetyError
from safetycli.filemodes import make_private_dir, tighten_workspace, write_private_text
from safetycli.i18n import N_, _

if TYPE_CHECKING:
    from safetycli.headmark import HeadMarks, Mark
    from safetycli.ledger import Ledger
    from safetycli.verdict import Verdict

DIRNAME = ".safetycli"
ENV_HOME = "SAFETYCLI_HOME"
NO_WORKSPACE = N_("no workspace here: run `safetycli init` (or pass --home DIR)")


class Workspace:
    """One workspace folder, immutable; equal to another for the same folder. A plain class
    rather than a frozen dataclass: every command finds a workspace, and making the dataclass
    and importing `dataclasses` cost about 1 ms of each start-up (bench/startup.py)."""

    __slots__ = ("root", "production_secret", "notice")
    root: Path
    # A joining laptop's production secret (central/join.py): its device key is made with it
    # instead of a fresh one, so PIN hashes made on the production's other laptops check here.
    production_secret: bytes | None
    # Told each alarm about the log when it is opened (the head mark's, when the log is opened
    # to read what is left, and verify's standing verdict): how the CLI prints its `ALARM:`
    # lines, for every command, without a core module printing (cli/common.py `workspace`).
    notice: Callable[[str], None] | None

    def __init__(
        self,
        root: Path,
        production_secret: bytes | None = None,
        notice: Callable[[str], None] | None = None,
    ) -> None:
        object.__setattr__(self, "root", root)
        object.__setattr__(self, "production_secret", production_secret)
        object.__setattr__(self, "notice", notice)

    def telling(self, notice: Callable[[str], None]) -> Workspace:
        """This workspace, its alarms told to `notice`."""
        return Workspace(self.root, self.production_secret, notice)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"a Workspace cannot be changed (tried to set {name})")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"a Workspace cannot be changed (tried to delete {name})")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workspace) and other.root == self.root

    def __hash__(self) -> int:
        return hash(self.root)

    def __repr__(self) -> str:  # never the production secret
        return f"Workspace(root={self.root!r})"

    @property
    def config_path(self) -> Path:
        return self.root / "config.toml"

    @property
    def db_path(self) -> Path:
        return self.root / "log.db"

    @property
    def checklists(self) -> Path:
        return self.root / "checklists"

    def config(self) -> dict[str, object]:
        """config.toml, read afresh on every call. Its plain form (what safetycli writes) is
        read by `plaintoml`, anything else by `tomllib`, loaded only then (about 2.5 ms of
        every start-up otherwise); the result is the same either way."""
        try:
            text = self.config_path.read_text(encoding="utf-8")
        except OSError as err:
            raise SafetyError(f"cannot read {self.config_path}: {err}") from None
        from safetycli.plaintoml import loads

        plain = loads(text)
        if plain is not None:
            return plain
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise SafetyError(f"cannot read {self.config_path}: {err}") from None

    @property
    def production(self) -> str:
        return str(self.config().get("production", ""))

    @property
    def timezone(self) -> str:
        """The zone people read times in (zones.py): config.toml's `timezone`, set at `init`.
        A workspace made before it existed reads UTC, as it always did. Only the type is checked
        here: the name meets the tz database when a time is shown, which keeps `zoneinfo` out of
        commands that show none."""
        value = self.config().get("timezone", "UTC")
        if not isinstance(value, str) or not value.strip():
            raise SafetyError(
                f'{self.config_path}: `timezone` must be a zone name such as "America/Denver"'
            )
        return value.strip()

    @property
    def language(self) -> str | None:
        """config.toml's `language` (`es`): the interface's language for everyone at this
        laptop unless SAFETYCLI_LANG or `--lang` says otherwise (i18n.resolve). Anything else
        than a string is no preference: a broken setting must never stop a command."""
        try:
            value = self.config().get("language")
        except SafetyError:
            return None
        return value if isinstance(value, str) else None

    def zone_or_utc(self) -> str:
        """The zone, or UTC when config.toml's `timezone` is broken: for what must show whatever
        a file says (a HOLD panel, the set's status). Stopping work never fails on a file."""
        try:
            return self.timezone
        except SafetyError:
            return "UTC"

    def roles(self) -> dict[str, str]:
        """The production's own roles, checked: those received with its published protocols
        (sharedroles.py), under config.toml's own, which win; empty when there are none."""
        from safetycli import sharedroles

        return {**sharedroles.read(self.root), **self.own_roles()}

    def own_roles(self) -> dict[str, str]:
        """The roles this workspace's config.toml declares (`[roles]`, see roles.py), checked."""
        from safetycli.roles import production_roles

        return production_roles(self.config().get("roles"), str(self.config_path))

    def open_log(self, *, create: bool = False, strict: bool = True) -> Ledger:
        """The workspace's log, checked against its high-water mark (headmark.py) and kept
        private (filemodes.py). The one way commands open the log.

        Only `create` (for `init`) makes a new log. A log that is missing or emptied while the
        mark says it held events, or that does not reach the mark, is an alarm: `strict` refuses
        to open it (every command that writes); otherwise it opens with `ledger.alarm` set, for
        commands that only read to show it, and any append is refused."""
        from safetycli.headmark import (
            FORGED,
            REFUSED,
            REPLACED,
            WENT_BACK,
            HeadMarks,
            holes,
            vanished,
            went_back,
        )
        from safetycli.ledger import Ledger
        from safetycli.storage import LogEmpty, LogWentBack

        tighten_workspace(
            self.root,
            (
                "config.toml",
                "log.head",
                "credentials.db",
                "credentials.db-journal",
                "received-roles.toml",
            ),
        )
        marks = HeadMarks(self.root)
        # The mark is read before the log: it is written after each commit, so read in this
        # order it can only be behind the log, never ahead of it, whatever runs meanwhile.
        mark = None if create else marks.read()
        if mark is not None and mark.seq > 0 and not self.db_path.exists():
            raise LogWentBack(f"{vanished(mark, self.db_path, 'missing')}; {REFUSED}")
        try:
            ledger = Ledger.open(self.db_path, create=create)
        except LogEmpty:
            if mark is None or mark.seq == 0:
                raise
            raise LogWentBack(f"{vanished(mark, self.db_path, 'empty')}; {REFUSED}") from None
        ledger.after_append = marks.record
        ledger.after_close = marks.close
        marks.device = ledger.device
        alarm = kind = None
        with ledger.snapshot() as (head_seq, _):
            if mark is not None:
                alarm = went_back(mark, head_seq, ledger.hash_at(mark.seq))
                kind = WENT_BACK if head_seq < mark.seq else REPLACED
            # Rows deleted from the middle (a hold taken out while its run is resumed): counted
            # by the commands that write, where it would let someone past a hold. Counting is a
            # pass over an index (9 ms warm at a million events, most of a second cold), so the
            # commands that only read leave it to `verify`, whose chain scan finds the gap.
            if strict and alarm is None:
                count = ledger.count()
                if count < head_seq:
                    alarm = holes(head_seq, count, ledger.first_missing())
        if alarm is None:
            alarm = self._device_alarm(ledger, mark)
            kind = FORGED if alarm is not None and ledger.head_unsealed() else REPLACED
        if alarm is not None and strict:
            ledger.close()
            raise LogWentBack(f"{alarm}; {REFUSED}")
        ledger.alarm = alarm
        if alarm is not None:
            ledger.alarm_kind = kind
            ledger.alarm_written = mark.seq if kind == WENT_BACK and mark is not None else None
        if not create:
            # What verify last found wrong with this log, if anything (verdict.py): shown, never
            # a refusal. One small file read; the log is asked only when there is a verdict.
            ledger.verdict = self.verdict(ledger, marks)
        if self.notice is not None:
            # One line: a log that fails its head mark says that (verify's verdict on it, if
            # any, says the same thing from further away).
            line = ledger.alarm or (ledger.verdict.line() if ledger.verdict else None)
            if line:
                self.notice(line)
        if alarm is None and ledger.keyed_at is None and (create or strict):
            try:
                self._key(ledger, marks)
            except BaseException:
                ledger.close()
                raise
        return ledger

    def verdict(self, ledger: Ledger, marks: HeadMarks | None = None) -> Verdict | None:
        """verify's standing verdict on this log (verdict.py), or None: read afresh on every
        call, so the set board sees a verify run beside it."""
        if marks is None:
            from safetycli.headmark import HeadMarks

            marks = HeadMarks(self.root)
        try:
            raw = marks.verdict.read_bytes()
        except OSError:  # none (the usual case), or none that can be read: nothing to say
            return None
        import sqlite3

        from safetycli import verdict

        def first() -> str | None:
            try:
                return ledger.hash_at(1)
            except sqlite3.DatabaseError:  # an unreadable page: the verdict stands, and a
                return None  # hold is still written wherever the log can take it

        return verdict.standing(raw, marks.root, first)

    def _device_alarm(self, ledger: Ledger, mark: Mark | None = None) -> str | None:
        """The device the config and the mark outside the workspace name must be the one the
        log's key event names: a log put in place of this workspace's, or one whose key event
        was hidden so that it would take a new key, names another or none. And the newest event
        must carry that device's MAC (devicekey.py)."""
        if ledger.head_unsealed():
            seq = ledger.head()[0]
            return (
                f"event {seq} has no valid device MAC: it was added by someone with the log file "
                "alone"
            )
        return self.device_mismatch(ledger, mark)

    def device_mismatch(self, ledger: Ledger, mark: Mark | None) -> str | None:
        """Why the log is not this workspace's keyed log (config.toml and the mark outside the
        workspace name its device), or None. `verify` reports it too."""
        if mark is not None and mark.device is not None and mark.device != ledger.device:
            return (
                f"{mark.where} says this log is MACed by device {mark.device}, but the log names "
                f"{ledger.device or 'no device key'}: its key event was hidden or replaced"
            )
        named = self.config().get("device")
        if named is None or named == ledger.device:
            return None
        if ledger.device is None:
            return (
                f"{self.config_path} says this log is MACed by device {named}, but the log has no "
                "device key: it was replaced or rewritten"
            )
        return (
            f"the log is MACed by device {ledger.device}, but {self.config_path} says this "
            f"workspace's device is {named}: the log was replaced"
        )

    def _key(self, ledger: Ledger, marks: HeadMarks | None = None) -> None:
        """Give a log its device key (devicekey.py): a new workspace at `init`, an older one at
        its first command that writes. The log's event comes first, then the config line: a
        crash in between leaves a keyed log whose config is completed next time, never a config
        that names a key the log lacks."""
        from safetycli import devicekey

        key = devicekey.create(self.root, self.production_secret)
        if marks is not None:
            marks.device = key.device  # the key event's own mark names it
        try:
            ledger.adopt_key(key)
        except SafetyError:
            # Another command keyed the log first (both opened it before it had a key): theirs
            # is the log's key; this one was never used.
            key.path.unlink(missing_ok=True)
            ledger.reload_key()
            if marks is not None:
                marks.device = ledger.device
            return
        import json

        text = self.config_path.read_text(encoding="utf-8")
        if not text.endswith("\n"):
            text += "\n"
        write_private_text(self.config_path, f"{text}device = {json.dumps(key.device)}\n")


def _is_workspace(path: Path) -> bool:
    return (path / "config.toml").is_file()


def find_workspace(home: Path | str | None = None) -> Workspace:
    """The workspace to use, or a SafetyError that tells the user what to do."""
    named = home if home is not None else os.environ.get(ENV_HOME) or None
    if named is not None:
        path = Path(named).expanduser()
        if _is_workspace(path):
            return Workspace(path.resolve())
        if _is_workspace(path / DIRNAME):
            return Workspace((path / DIRNAME).resolve())
        raise SafetyError(
            _("no workspace at {path}: run `safetycli init --home {path}`").format(path=path)
        )
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if _is_workspace(folder / DIRNAME):
            return Workspace(folder / DIRNAME)
    raise SafetyError(_(NO_WORKSPACE))


def optional_workspace(home: Path | str | None = None) -> Workspace | None:
    """For commands that work without a workspace (listing shipped protocols). A workspace the
    user named (--home, SAFETYCLI_HOME) must exist: silently listing only the shipped protocols
    would hide the production's own."""
    if home is not None or os.environ.get(ENV_HOME):
        return find_workspace(home)
    try:
        return find_workspace(None)
    except SafetyError:
        return None


def toml_string(text: str) -> str:
    """A TOML basic string for a value we write into a workspace file: JSON's escapes are
    TOML's, but TOML wants DEL escaped too and takes no surrogates (none is a character: each is
    written as U+FFFD), so a name with either never leaves a file no command can read."""
    import json  # here: the commands that only read a workspace never write TOML

    safe = "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text)
    return json.dumps(safe, ensure_ascii=False).replace("\x7f", "\\u007f")


def production_name(typed: str) -> str:
    """The production's name as `init` records it: one line, single spaces, and no control or
    invisible character (it heads every report, and config.toml must stay readable)."""
    from safetycli.names import plain_line, shown_escaped

    text, bad = plain_line(typed)
    if not text or bad:
        shown = shown_escaped(text, bad)
        raise SafetyError(
            f"the production's name `{shown}` is empty or has a control or invisible character: "
            "type it plainly (--production NAME); nothing was created"
        )
    return text


def init_workspace(home: Path | str | None, production: str, timezone: str = "UTC") -> Workspace:
    """A new workspace: its folders and config.toml (the production's name and time zone, both
    checked by the caller)."""
    import json

    named = home if home is not None else os.environ.get(ENV_HOME) or None
    root = Path(named).expanduser() if named is not None else Path.cwd() / DIRNAME
    if _is_workspace(root):
        raise SafetyError(f"a workspace already exists at {root}: nothing was changed")
    try:
        # Only this laptop account may read or change the production's files (filemodes.py).
        make_private_dir(root)
        make_private_dir(root / "checklists")
        text = (
            "# safetycli workspace\n"
            f"production = {toml_string(production)}\n"
            "# Times in reports and on screen; the log keeps UTC. An IANA name (America/Denver).\n"
            f"timezone = {json.dumps(timezone)}\n"
        )
        write_private_text(root / "config.toml", text)
    except OSError as err:
        raise SafetyError(f"cannot create a workspace at {root}: {err.strerror}") from None
    return Workspace(root.resolve())
