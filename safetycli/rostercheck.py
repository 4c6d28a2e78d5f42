"""What the roster's events mean, checked: each change approved by someone allowed to make it.

The chain proves events were not edited after they were written; it says nothing about whether
they should have been written. An insider who can append to the log (with a valid chain) could add
an armorer nobody approved, unlock a locked person or set someone's PIN. The CLI never writes such
events: every roster change, PIN change and unlock is written in one transaction with the `auth.ok`
of each person whose PIN approved it, right before it. So the rule is checkable from the log alone:

- a change written with a device key (devicekey.py) follows its approvals immediately, in the same
  transaction (nothing else can come between under the write lock);
- an older change (before the log had a device key, when approval and change were two writes)
  follows its approvals within a few events, with no other roster change in between.

Who approves what: a producer adds (the first member, a producer, excepted), removes, unlocks,
gives someone another role and records a permit or training card;
a PIN is changed with the person's own PIN, or reset by a producer and confirmed by the person or a
second producer; the recovery code re-PINs a producer and is replaced with a producer's PIN.

`verify` runs this over the whole log; crew.py runs it before acting on the roster, so a roster
whose own events do not hold is refused rather than obeyed.
"""

from __future__ import annotations

from collections.abc import Sequence

from safetycli.errors import SafetyError
from safetycli.events import (
    AUTH_OK,
    CREW_ADDED,
    CREW_LANG_SET,
    CREW_PIN_SET,
    CREW_QUALIFIED,
    CREW_RECOVERED,
    CREW_REMOVED,
    CREW_ROLE_ADDED,
    CREW_UNLOCKED,
    DEVICE_KEYED,
    RECOVERY_SET,
    ROSTER_KINDS,
    Event,
)
from safetycli.names import fold_name
from safetycli.records import Frozen, Record

# Every kind whose meaning is checked, in log order.
AUDITED_KINDS = (*ROSTER_KINDS, RECOVERY_SET, DEVICE_KEYED)
# How far back an older change may find its approvals (approval, attempt, a second approval...).
LEGACY_WINDOW = 12
_PRODUCER = "producer"
_LEGACY_ISSUED = "issued by "


class RosterUnverified(SafetyError):
    """The roster's own events do not hold: commands refuse to act on it (stop-work excepted)."""

    def __init__(self, line: str) -> None:
        super().__init__(
            f"the roster in the log does not verify ({line}): nothing was done; run "
            "`safetycli verify` and tell the producer"
        )


class _Person(Record):
    """One person while the audit folds the roster (a plain record: records.py)."""

    __slots__ = ("name", "roles", "active", "fingerprint", "set_at", "removed_on")
    name: str
    roles: tuple[str, ...]
    active: bool
    fingerprint: str
    set_at: int
    removed_on: str | None  # the device that removed them ("": this laptop)

    def __init__(
        self,
        name: str,
        roles: tuple[str, ...],
        active: bool,
        fingerprint: str,
        set_at: int,
        removed_on: str | None = None,
    ) -> None:
        self.name = name
        self.roles = roles
        self.active = active
        self.fingerprint = fingerprint
        self.set_at = set_at
        self.removed_on = removed_on


class Credential(Frozen):
    """A credential the log says must be stored: whose (`key`), which (`fingerprint`), and the
    event that set it. A plain record (records.py): only `verify` and the PIN checks make one,
    and the dataclass cost every command that reads the roster about 0.5 ms of its start-up."""

    __slots__ = ("key", "fingerprint", "seq")
    key: str
    fingerprint: str
    seq: int

    def __init__(self, key: str, fingerprint: str, seq: int) -> None:
        object.__setattr__(self, "key", key)
        object.__setattr__(self, "fingerprint", fingerprint)
        object.__setattr__(self, "seq", seq)


class RosterAudit:
    """Fed the audited events in log order, each with the events just before it (`window`);
    returns for each what is wrong with it, or None."""

    def __init__(self, strict_from: int | None) -> None:
        # The device key's seq: from there on, approvals are in the same transaction.
        self.strict_from = strict_from
        self.people: dict[str, _Person] = {}
        self.code: tuple[str, int] | None = None  # the usable recovery code: fingerprint, seq
        self.ever_added = False
        self.had_code = False  # this laptop's own recovery code was ever set (they are not pulled)
        self.keyed = False
        # Other devices of the production (their events pulled, central/foreign.py): from each
        # one's key event on, its changes follow their approvals in the same transaction.
        self.strict_for: dict[str, int] = {}

    def _active(self, name: str) -> _Person | None:
        person = self.people.get(fold_name(name))
        return person if person is not None and person.active else None

    def _is_producer(self, name: str | None) -> bool:
        person = None if name is None else self._active(name)
        return person is not None and _PRODUCER in person.roles

    def holds(self, name: str, role: str | None) -> bool:
        """Whether `name` is on the roster now (folded so far), in `role` when one is given:
        what a custody event's proofs are checked against (custodycheck.py)."""
        person = self._active(name)
        return person is not None and (role is None or role in person.roles)

    def feed(self, event: Event, window: Sequence[Event]) -> str | None:
        problem = self._check(event, window)
        self._apply(event)
        return problem

    def credentials(self, recovery_key: str) -> list[Credential]:
        """What credentials.db must hold for the log as it stands."""
        people = self.people.values()
        out = [Credential(p.name, p.fingerprint, p.set_at) for p in people if p.active]
        if self.code is not None:
            out.append(Credential(recovery_key, *self.code))
        return out

    # --- the rules ------------------------------------------------------------------------------

    def _check(self, event: Event, window: Sequence[Event]) -> str | None:
        data = event.data
        kind = event.kind
        if kind == DEVICE_KEYED:
            if event.device is not None:
                return None
            return "a second device key for one log" if self.keyed else None
        if kind == CREW_RECOVERED:
            if event.device is not None:  # its recovery code is its own laptop's: checked there
                name = str(data.get("name", ""))
                return None if self._is_producer(name) else f"{name} is not a producer"
            return self._check_recovered(event)
        if kind == RECOVERY_SET:
            return self._check_recovery_set(event, window)
        name = str(data.get("name", ""))
        if kind == CREW_ADDED:
            if not any(p.active for p in self.people.values()):
                if _PRODUCER not in tuple(data.get("roles", ())):
                    return "the first member of a roster must be a producer"
                return None
            return self._approved(event, window, [(data.get("approved_by"), _PRODUCER)])
        if kind == CREW_PIN_SET:
            by, confirmed = data.get("by"), data.get("confirmed_by")
            if by is not None and fold_name(str(by)) == fold_name(name):
                return self._approved(event, window, [(by, None)])
            needed: list[tuple[object, str | None]] = [(by, _PRODUCER)]
            if confirmed is not None:
                own = fold_name(str(confirmed)) == fold_name(name)
                if not own and fold_name(str(confirmed)) == fold_name(str(by)):
                    return f"{confirmed} confirmed their own reset: a second producer must"
                needed.append((confirmed, None if own else _PRODUCER))
            elif self._strict(event):
                return f"a producer reset {name}'s PIN without the person's or a second producer's"
            return self._approved(event, window, needed)
        if kind in (CREW_UNLOCKED, CREW_REMOVED, CREW_ROLE_ADDED, CREW_QUALIFIED, CREW_LANG_SET):
            return self._approved(event, window, [(data.get("by"), _PRODUCER)])
        return None

    def _check_recovered(self, event: Event) -> str | None:
        name = str(event.data.get("name", ""))
        if not self._is_producer(name):
            return f"the recovery code re-PINed {name}, who is not a producer on the roster"
        if self.code is None or self.code[0] != event.data.get("code_fingerprint"):
            return "the recovery code it names is not the one in force (spent or never issued)"
        return None

    def _check_recovery_set(self, event: Event, window: Sequence[Event]) -> str | None:
        why = str(event.data.get("why", ""))
        by = event.data.get("by")
        if by is None and why.startswith(_LEGACY_ISSUED):
            by = why[len(_LEGACY_ISSUED) :]
        if by is not None:
            return self._approved(event, window, [(by, _PRODUCER)])
        if why == "init":
            return None if not self.ever_added else "a recovery code set as at `init` later on"
        if why == "join":  # a laptop that joined a production (its roster is pulled): its first
            return None if not self.had_code else "a recovery code set as at a join later on"
        if why == "used":
            last = window[-1] if window else None
            if self._strict(event):
                if last is None or last.kind != CREW_RECOVERED or last.seq != event.seq - 1:
                    return "a new recovery code that no use of the old one preceded"
                return None
            recent = [e for e in window if e.kind == CREW_RECOVERED]
            return None if recent else "a new recovery code that no use of the old one preceded"
        return f"a recovery code set for an unknown reason ({why})"

    def _strict(self, event: Event) -> bool:
        if event.device is not None:
            start = self.strict_for.get(event.device)
            return start is not None and event.seq > start
        return self.strict_from is not None and event.seq > self.strict_from

    def _approved(
        self,
        event: Event,
        window: Sequence[Event],
        needed: Sequence[tuple[object, str | None]],
    ) -> str | None:
        """Each (name, role) in `needed` proved their PIN for this change: in the same transaction
        (right before it) for a change written with a device key, close before it otherwise."""
        proofs = _proofs(event, window, strict=self._strict(event))
        for name, role in needed:
            if not name:
                return "no producer approved it"
            text = str(name)
            if self._removed_elsewhere(text, event, role):
                # Removed on another laptop while this one, offline, still had them: a conflict
                # shown as an exception (crew.removal_conflicts), not a forged change.
                if not any(_proves(ok, text, role) for ok in proofs):
                    return f"no PIN-proven approval by {text}"
                continue
            if role == _PRODUCER and not self._is_producer(text):
                return f"{text}, who approved it, was not a producer on the roster then"
            if role is None and self._active(text) is None:
                return f"{text} was not on the roster then"
            if not any(_proves(ok, text, role) for ok in proofs):
                where = "in the same transaction" if self._strict(event) else "just before it"
                return f"no PIN-proven approval by {text} {where}"
        return None

    def _removed_elsewhere(self, name: str, event: Event, role: str | None) -> bool:
        person = self.people.get(fold_name(name))
        return (
            person is not None
            and not person.active
            and person.removed_on is not None
            and person.removed_on != (event.device or "")
            and (role is None or role in person.roles)
        )

    # --- the fold -------------------------------------------------------------------------------

    def _apply(self, event: Event) -> None:
        data = event.data
        kind = event.kind
        if kind == DEVICE_KEYED:
            if event.device is not None:
                self.strict_for[event.device] = event.seq
            else:
                self.keyed = True
            return
        if kind == RECOVERY_SET:
            self.code = (str(data.get("code_fingerprint", "")), event.seq)
            self.had_code = True
            return
        name = str(data.get("name", ""))
        key = fold_name(name)
        person = self.people.get(key)
        if kind == CREW_ADDED:
            self.ever_added = True
            self.people[key] = _Person(
                name,
                tuple(data.get("roles", ())),
                True,
                str(data.get("pin_fingerprint", "")),
                event.seq,
            )
        elif person is None or not person.active:
            return
        elif kind in (CREW_PIN_SET, CREW_RECOVERED):
            person.fingerprint, person.set_at = str(data.get("pin_fingerprint", "")), event.seq
            if kind == CREW_RECOVERED and event.device is None:
                self.code = None  # spent
        elif kind == CREW_REMOVED:
            person.active = False
            person.removed_on = event.device or ""
        elif kind == CREW_ROLE_ADDED:
            role = str(data.get("role", ""))
            if role and role not in person.roles:
                person.roles = (*person.roles, role)


def _proofs(event: Event, window: Sequence[Event], *, strict: bool) -> list[Event]:
    """The `auth.ok` events that may approve `event`: the unbroken run right before it (same
    transaction), or, for an older change, any since the roster change before it."""
    if strict:
        proofs: list[Event] = []
        expected = event.seq - 1
        for candidate in reversed(window):
            if candidate.seq != expected or candidate.kind != AUTH_OK:
                break
            proofs.append(candidate)
            expected -= 1
        return proofs
    since: list[Event] = []
    for candidate in reversed(window):
        if candidate.kind in AUDITED_KINDS:
            break
        if candidate.kind == AUTH_OK:
            since.append(candidate)
    return since


# What a PIN typed to approve a roster change says it was for (crew.py): a PIN typed to sign in
# or to sign off a check is not an approval of anything on the roster.
APPROVALS = ("approve ", "confirm ", "change own PIN", "issue a recovery code")


def _proves(ok: Event, name: str, role: str | None) -> bool:
    who = str(ok.data.get("name", ""))
    if fold_name(who) != fold_name(name):
        return False
    if not str(ok.data.get("purpose", "")).startswith(APPROVALS):
        return False
    return role is None or ok.data.get("role") == role


def describe(event: Event, problem: str) -> str:
    """One line naming the event: what a producer reads in `verify` or a refusal."""
    name = event.data.get("name")
    who = f", {name}" if isinstance(name, str) and name else ""
    return f"event {event.seq} ({event.kind}{who}): {problem}"
