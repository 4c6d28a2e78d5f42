"""The crew roster and PIN-proven identity: who may sign, and proof that it was them.

Who signed is the whole point of a sign-off, so identity follows the same rule as everything else:
the roster is not a table anyone edits, it is derived by replaying `crew.*` events from the log.
Every roster change needs a producer's PIN (except the very first producer, who has nobody to ask),
and every sign-in attempt, good or bad, is an event: a reviewer sees who tried to sign as whom.

PINs are short, so the stored hash is the secret worth protecting: it lives only in the
workspace's `credentials.db` (a file of its own, so a copy of the log carries no hash), as a salted
scrypt hash. The event that set it carries a fingerprint of the stored string, which selects the
row, so a credential row swapped behind the log's back is refused at sign-in instead of quietly
letting someone else's PIN through. The fingerprint is useless for guessing PINs offline: it hashes
the salt too, and the salt is not in the log.

Lock-out is derived, not stored (`lockout.py`): each try is admitted under the write lock before
its PIN is checked, so five wrong or pending tries lock the person however many processes guess
at once, and a producer's `crew.unlocked` event is all it takes to clear it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from safetycli import events as ev  # the declared types load on first use (events.py)
from safetycli import lockout, rostermerge
from safetycli.confusables import skeleton
from safetycli.credentials import fingerprint
from safetycli.devicekey import pepper_pin
from safetycli.digests import compare_digest
from safetycli.errors import SafetyError
from safetycli.events import (
    AUTH_OK,
    ROSTER_KINDS,
    Event,
    NewEvent,
)
from safetycli.i18n import _, ngettext
from safetycli.ledger import Ledger
from safetycli.lockout import LOCK_AFTER, WRONG_PIN
from safetycli.names import fold_name, plain_line, shown_escaped
from safetycli.render.safe import one_line
from safetycli.roles import known as known_roles
from safetycli.roster import Entry, checked_events, replay
from safetycli.roster import producer_warning as producer_warning  # crew's API too
from safetycli.rostercheck import RosterUnverified as RosterUnverified  # raised by crew's reads

# scrypt cost: about 40 ms and 16 MiB per check on a laptop. Slow enough that guessing a 4-digit
# PIN offline from a stolen hash takes minutes rather than milliseconds, fast enough that a crew
# member signing does not notice. Module-level so tests can make it cheap; the parameters travel
# inside each stored hash, so old hashes keep working when these change.
SCRYPT_N = 2**14
SCRYPT_R = 8
SCRYPT_P = 1
SALT_BYTES = 16
HASH_BYTES = 32
_SCHEME = "scrypt"
# Peppered: scrypt of HMAC(production secret, PIN). The secret lives with the device key, outside
# the workspace (devicekey.py), so a copied credentials.db cannot be guessed from on its own.
_PEPPERED = "scryptp"

PIN_MIN, PIN_MAX = 4, 12
NAME_MAX = 80

# Reasons recorded in auth.failed. Only a wrong PIN counts towards lock-out: the lock exists to stop
# PIN guessing, and the other refusals never test the PIN.
UNKNOWN = "unknown-name"
GONE = "removed"
NOT_ROLE = "role"
LOCKED = "locked"
MISMATCH = "stored-pin-mismatch"

_PIN_RE = re.compile(r"[0-9]+")
# A run of digits typed where a name belongs is probably a PIN in the wrong field: never record it.
_PIN_LIKE = re.compile(r"[0-9]{4,}")


class AuthError(SafetyError):
    """A refused sign-in. `reason` is what the log recorded; `final` is True when typing the PIN
    again cannot help (unknown, removed, locked, wrong role, tampered credential), so a prompt
    loop knows when to stop asking."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.final = reason != WRONG_PIN


@dataclass(frozen=True)
class Member:
    """One person on the roster, as the log says now."""

    name: str
    roles: tuple[str, ...]
    active: bool
    locked: bool
    failures: int = 0  # wrong PINs in a row since the last reset
    added_at: str = ""
    lang: str | None = None  # the language they read protocols in; None: each protocol's own

    def has_role(self, role: str) -> bool:
        return role in self.roles


# --- names, roles and PINs --------------------------------------------------------------------


_key = fold_name  # one name, one person: the same folding as reports and reviews


def clean_name(name: str) -> str:
    """The name as it will be shown and signed: NFC, single spaces, 1 to 80 characters, and no
    control or invisible format characters (a zero-width space or a right-to-left override
    would let two different people look like the same signer)."""
    text, bad = plain_line(name)
    if not text:
        raise SafetyError("a crew member needs a name")
    if len(text) > NAME_MAX:
        raise SafetyError(f"a name can be at most {NAME_MAX} characters (this one has {len(text)})")
    if bad:
        shown = shown_escaped(text, bad)
        raise SafetyError(
            f"the name `{shown}` contains a control or invisible character "
            f"(U+{ord(bad[0]):04X}): type the name plainly"
        )
    return text


def check_roles(roles: Iterable[str], extra: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """Known roles only (shipped, or the production's own `extra`, roles.py), each once, in the
    order given; a typo gets a suggestion."""
    vocabulary = known_roles(extra)
    out: list[str] = []
    for role in roles:
        role = role.strip()
        if role not in vocabulary:
            import difflib  # only for a typo: not worth loading on every command

            near = difflib.get_close_matches(role.lower(), list(vocabulary), n=1)
            hint = f" (did you mean `{near[0]}`?)" if near else ""
            raise SafetyError(
                f"unknown role `{one_line(role)}`{hint}: roles are {', '.join(vocabulary)} "
                "(see `safetycli crew roles`)"
            )
        if role not in out:
            out.append(role)
    if not out:
        raise SafetyError("a crew member needs at least one role (--role ROLE)")
    return tuple(out)


def validate_pin(pin: str) -> None:
    """4 to 12 digits, not one digit repeated: long enough to survive a few guesses before the
    lock-out, short enough to type with gloves on."""
    said = {"least": PIN_MIN, "most": PIN_MAX, "n": len(pin)}
    if not _PIN_RE.fullmatch(pin):
        raise SafetyError(_("a PIN is {least} to {most} digits, 0-9 only").format(**said))
    if not PIN_MIN <= len(pin) <= PIN_MAX:
        raise SafetyError(_("a PIN is {least} to {most} digits (this one has {n})").format(**said))
    if len(set(pin)) == 1:
        raise SafetyError(_("a PIN cannot be one digit repeated: choose another"))


def hash_pin(pin: str, pepper: bytes | None = None) -> str:
    """`scrypt$N$r$p$salt$hash` (base64), or `scryptp$...` peppered with the production secret:
    the scheme and parameters travel with the hash so they can change and rise."""
    salt = os.urandom(SALT_BYTES)
    scheme, secret = (_SCHEME, pin) if pepper is None else (_PEPPERED, pepper_pin(pin, pepper))
    digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return "$".join((scheme, str(SCRYPT_N), str(SCRYPT_R), str(SCRYPT_P), _b64(salt), _b64(digest)))


def check_pin(pin: str, encoded: str, pepper: bytes | None = None) -> bool:
    """True only for the PIN that made `encoded`; a malformed or absurd hash is never a match
    (the bounds keep a planted hash from asking for gigabytes of memory), nor is a peppered one
    without the production secret."""
    import base64  # here, beside the scrypt it precedes: `status` reads the roster, no PIN

    try:
        scheme, n_text, r_text, p_text, salt_text, digest_text = encoded.split("$")
        n, r, p = int(n_text), int(r_text), int(p_text)
        salt = base64.b64decode(salt_text, validate=True)
        expected = base64.b64decode(digest_text, validate=True)
    except ValueError:
        return False
    if scheme == _PEPPERED:
        if pepper is None:
            return False
        pin = pepper_pin(pin, pepper)
    elif scheme != _SCHEME:
        return False
    if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32):
        return False
    if not 1 <= p <= 16 or not 16 <= len(expected) <= 64:
        return False
    actual = _scrypt(pin, salt, n, r, p, len(expected))
    return compare_digest(actual, expected)


def _scrypt(pin: str, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    import hashlib  # here: listing the crew hashes no PIN, and OpenSSL costs ~3 ms to load

    maxmem = 128 * r * (n + p + 2) + 1024 * 1024
    secret = pin.encode("utf-8", "surrogatepass")  # odd bytes on stdin are a wrong PIN, not a crash
    return hashlib.scrypt(secret, salt=salt, n=n, r=r, p=p, maxmem=maxmem, dklen=dklen)


def _b64(raw: bytes) -> str:
    import base64

    return base64.b64encode(raw).decode("ascii")


# --- the roster, replayed from the log ---------------------------------------------------------


def _write(ledger: Ledger, event: ev.Declared, credential: tuple[str, str] | None = None) -> None:
    new = event.new()
    ledger.append(new.kind, new.data, run=new.run, person=new.person, credential=credential)


def own_credentials(ledger: Ledger) -> list[tuple[str, str, str]]:
    """The PIN hashes this laptop's own roster events select now (person, fingerprint, hash):
    what sync sends the server for the production's other laptops. Only peppered ones travel
    (an older plain hash would be guessable from the server's copy)."""
    out = []
    for entry in replay(ledger).values():
        if not entry.active or entry.device is not None:
            continue
        stored = ledger.credentials.get(entry.name, entry.fingerprint)
        if stored is not None and stored.startswith(f"{_PEPPERED}$"):
            out.append((entry.name, entry.fingerprint, stored))
    return out


def roster_events(ledger: Ledger) -> list[Event]:
    """The roster's events as the roster is folded from them: this laptop's merged with the
    production's other laptops' (rostermerge.py), each checked (`roster.checked_events`)."""
    return checked_events(ledger)


def current_fingerprint(ledger: Ledger, name: str) -> str | None:
    """The fingerprint of `name`'s PIN as this laptop's roster has it: what a new one replaces."""
    entry = replay(ledger).get(_key(name))
    return entry.fingerprint if entry is not None else None


def change_conflicts(ledger: Ledger) -> list[str]:
    """One person's PIN changed, or one person added, on two laptops apart (each offline): the
    roster keeps its defined order (time, then device) and the later change stands, but it is
    shown, never resolved silently."""
    here = ledger.device or "this laptop"
    merged = [e for e in checked_events(ledger) if e.kind in ROSTER_KINDS]
    return rostermerge.change_conflicts(merged, here)


def removal_conflicts(ledger: Ledger) -> list[str]:
    """People removed on one laptop who signed on another after the removal (both pulled): shown
    as exceptions, never resolved silently (the signature stays in its log as it was made)."""
    removed = [e for e in replay(ledger).values() if e.removed is not None]
    if not removed:
        return []
    here = ledger.device or "this laptop"
    signed: list[tuple[str, str, str]] = []
    for person in removed:
        signed += [
            (e.at, here, person.name) for e in ledger.events(person=person.name, kinds=(AUTH_OK,))
        ]
    foreign = ledger.foreign()
    devices = rostermerge.production_devices(ledger)
    names = {_key(e.name) for e in removed}
    if foreign is not None and devices:
        signed += [
            (e.at, str(e.device), str(e.data.get("name", "")))
            for e in foreign.events((AUTH_OK,))
            if e.device in devices and _key(str(e.data.get("name", ""))) in names
        ]
    removals = [(*e.removed, e.name) for e in removed if e.removed is not None]
    return rostermerge.removal_conflicts(removals, signed)


def _member(ledger: Ledger, entry: Entry) -> Member:
    failures = lockout.failures(ledger, entry.name) if entry.active else 0
    return Member(
        name=entry.name,
        roles=entry.roles,
        active=entry.active,
        locked=failures >= LOCK_AFTER,
        failures=failures,
        added_at=entry.added_at,
        lang=entry.lang,
    )


def roster(ledger: Ledger) -> list[Member]:
    """Active members, in the order they were (last) added."""
    entries = sorted((e for e in replay(ledger).values() if e.active), key=lambda e: e.added_seq)
    return [_member(ledger, e) for e in entries]


def _shown(name: str) -> str:
    """A typed name fit for a message or the log: one line, no control characters, and never a
    PIN typed into the name field by mistake."""
    text = one_line(name.strip())[:NAME_MAX]
    return _PIN_LIKE.sub("####", text)


def _not_found(name: str) -> SafetyError:
    return SafetyError(
        _("nobody called {name} on the roster: see `safetycli crew list`").format(name=_shown(name))
    )


def find(ledger: Ledger, name: str) -> Member:
    """The active member with this name, matched case-insensitively."""
    entry = replay(ledger).get(_key(name))
    if entry is None or not entry.active:
        raise _not_found(name)
    return _member(ledger, entry)


def producers(ledger: Ledger) -> list[Member]:
    return [m for m in roster(ledger) if m.has_role("producer")]


# --- sign-in -------------------------------------------------------------------------------------


def _unlock_hint(name: str) -> str:
    return _(
        "{name} is locked after {n} wrong PINs: a producer must run `safetycli crew unlock {name}`"
    ).format(name=name, n=LOCK_AFTER)


def authenticate(
    ledger: Ledger,
    name: str,
    pin: str,
    *,
    role: str | None,
    purpose: str,
    run: str | None = None,
) -> Member:
    """Prove that `name` (holding `role`, if given) is the one at the keyboard, or refuse.

    Every attempt lands in the log: `auth.ok`, or `auth.failed` with the reason (never the PIN).
    The order of checks matters: a locked person is refused before the PIN is looked at, so the
    sixth try cannot succeed even with the right PIN, and a role mismatch is refused before the
    PIN is tested, so the refusal says nothing about whether the PIN was right.
    """
    member, ok = prove(ledger, name, pin, role=role, purpose=purpose, run=run)
    ledger.append_many([ok])
    return member


def prove(
    ledger: Ledger,
    name: str,
    pin: str,
    *,
    role: str | None,
    purpose: str,
    run: str | None = None,
) -> tuple[Member, NewEvent]:
    """`authenticate` without writing its `auth.ok`: a roster change writes that in the same
    transaction as the change it approves (rostercheck.py checks that it did)."""
    entry = replay(ledger).get(_key(name))

    def refuse(reason: str, message: str, person: str) -> AuthError:
        _write(
            ledger, ev.AuthFailed(run=run, name=person, role=role, purpose=purpose, reason=reason)
        )
        return AuthError(message, reason)

    if entry is None:
        raise refuse(UNKNOWN, str(_not_found(name)), _shown(name))
    who = entry.name
    if not entry.active:
        raise refuse(GONE, f"{who} was removed from the roster and can no longer sign", who)
    if lockout.failures(ledger, who) >= LOCK_AFTER:  # a quick refusal; admit() decides
        raise refuse(LOCKED, _unlock_hint(who), who)
    if role is not None and role not in entry.roles:
        raise refuse(NOT_ROLE, f"{who} is not on the roster as {one_line(role)}", who)
    stored = ledger.credential(who, entry.fingerprint)
    # A PIN set since the log has a device key is always peppered: a plain hash there was
    # planted by someone without the production secret.
    planted = (
        stored is not None
        and (entry.device is not None or ledger.keyed_at is not None)
        and (entry.device is not None or entry.set_seq > (ledger.keyed_at or 0))
        and not stored.startswith(f"{_PEPPERED}$")
    )
    if stored is None or planted or not compare_digest(fingerprint(stored), entry.fingerprint):
        raise refuse(
            MISMATCH,
            f"the stored PIN for {who} does not match the log: run `safetycli verify` and tell "
            "the producer",
            who,
        )
    try:
        attempt = lockout.admit(ledger, who, role, purpose, run)
    except lockout.Locked:
        raise refuse(LOCKED, _unlock_hint(who), who) from None
    # scrypt runs outside the write lock: the attempt already counts as a wrong PIN.
    if not check_pin(pin, stored, ledger.pepper):
        _write(
            ledger,
            ev.AuthFailed(
                run=run, name=who, role=role, purpose=purpose, reason=WRONG_PIN, attempt=attempt
            ),
        )
        lockout.record_lock(ledger, who, run)
        failures = lockout.failures(ledger, who)
        if failures >= LOCK_AFTER:
            locked = _("wrong PIN for {name}: {hint}").format(name=who, hint=_unlock_hint(who))
            raise AuthError(locked, LOCKED)
        left = LOCK_AFTER - failures
        wrong = ngettext(
            "wrong PIN for {name} ({n} try left before lock-out)",
            "wrong PIN for {name} ({n} tries left before lock-out)",
            left,
        )
        raise AuthError(wrong.format(name=who, n=left), WRONG_PIN)
    # Admitted while fewer than five tries were wrong or pending: this was one of the five.
    ok = ev.AuthOk(run=run, name=who, role=role, purpose=purpose, attempt=attempt).new()
    return Member(who, entry.roles, active=True, locked=False, added_at=entry.added_at), ok


def _approve(
    ledger: Ledger, approver: tuple[str, str] | None, what: str
) -> tuple[Member, NewEvent]:
    if approver is None:
        raise SafetyError(
            f"{what} needs a producer's approval (--approve-by PRODUCER and their PIN)"
        )
    name, pin = approver
    return prove(ledger, name, pin, role="producer", purpose=f"approve {what}")


class _Raced(Exception):
    """Under the write lock: the roster is no longer what the change was checked against."""


def _commit(
    ledger: Ledger,
    proofs: list[NewEvent],
    change: ev.Declared,
    *,
    credential: tuple[str, str] | None = None,
    guard: Callable[[], None] | None = None,
) -> None:
    """A roster change and the `auth.ok` of everyone whose PIN approved it, in one transaction:
    an approval is never written apart from what it approved. When the change itself is
    refused under the lock, the approvals are still written (the PINs were right; their tries
    must not stay pending towards a lock-out)."""
    new = change.new()
    try:
        ledger.append_many([*proofs, new], credential=credential, guard=guard)
    except _Raced:
        if proofs:
            ledger.append_many(proofs)
        raise


# --- roster changes ------------------------------------------------------------------------------


def check_add(
    ledger: Ledger, name: str, roles: Iterable[str], extra: Mapping[str, str] | None = None
) -> tuple[str, tuple[str, ...], bool]:
    """Everything about an addition that needs no PIN: the clean name, the roles, and whether it
    is the first member (so the CLI can refuse before asking anyone to type a PIN)."""
    clean = clean_name(name)
    checked = check_roles(roles, extra)
    entries = replay(ledger)
    first = not any(e.active for e in entries.values())
    existing = entries.get(_key(clean))
    if existing is not None and existing.active:
        raise SafetyError(f"{existing.name} is already on the roster: see `safetycli crew list`")
    _refuse_look_alike(clean, entries.values())
    if first and "producer" not in checked:
        raise SafetyError(
            "the first crew member must be a producer (--role producer): producers approve "
            "every later roster change"
        )
    return clean, checked, first


def _refuse_look_alike(name: str, entries: Iterable[Entry]) -> None:
    """A name that reads like someone else's on the roster (now or before) is refused: on a
    report nobody could tell who signed."""
    shape = skeleton(name)
    for entry in entries:
        if _key(entry.name) != _key(name) and skeleton(entry.name) == shape:
            odd = [f"U+{ord(c):04X}" for c in name if not c.isascii() and c not in entry.name]
            which = f" ({', '.join(odd[:3])})" if odd else ""
            raise SafetyError(
                f"`{one_line(name)}` looks like {entry.name}, already on the roster{which}: type "
                "the name in plain letters, or tell the two apart (a middle initial)"
            )


def add_member(
    ledger: Ledger,
    name: str,
    roles: Iterable[str],
    pin: str,
    approver: tuple[str, str] | None,
    extra: Mapping[str, str] | None = None,
    lang: str | None = None,
) -> Member:
    """Add someone to the roster. The first member is a producer who needs no approval; everyone
    after needs a producer's name and PIN. A removed person can be added again, with a new PIN.
    `extra` are the production's own roles, which they may hold beside the shipped ones."""
    clean, checked, first = check_add(ledger, name, roles, extra)
    validate_pin(pin)
    proofs: list[NewEvent] = []
    approved_by = None
    if not first:
        by, ok = _approve(ledger, approver, f"adding {clean}")
        approved_by, proofs = by.name, [ok]
    encoded = hash_pin(pin, ledger.pepper)
    added = ev.CrewAdded(
        name=clean,
        roles=checked,
        approved_by=approved_by,
        pin_fingerprint=fingerprint(encoded),
        lang=check_lang(lang) if lang is not None else None,
    )

    def still_first() -> None:
        # Checked again under the write lock: two "first producers" at once, one loses.
        if first and any(e.active for e in replay(ledger).values()):
            raise _Raced()

    try:
        _commit(ledger, proofs, added, credential=(clean, encoded), guard=still_first)
    except _Raced:
        raise SafetyError(
            f"{clean} was not added: someone changed the roster at the same moment; "
            "see `safetycli crew list` and try again"
        ) from None
    entry = replay(ledger).get(_key(clean))
    if entry is None or not entry.active or entry.fingerprint != added.pin_fingerprint:
        raise SafetyError(
            f"{clean} was not added: someone changed the roster at the same moment; "
            "see `safetycli crew list` and try again"
        )
    return _member(ledger, entry)


def set_pin(
    ledger: Ledger,
    name: str,
    new_pin: str,
    *,
    old_pin: str | None = None,
    approver: tuple[str, str] | None = None,
    second: tuple[str, str] | None = None,
) -> Member:
    """A new PIN, proven by the member's current PIN; or a producer's reset, confirmed by the
    member's current PIN or by a second producer's. One producer alone cannot reset someone's PIN
    (and then sign as them): that was how one person walked a whole run alone. A reset also
    clears a lock-out: two people vouch for the person at the keyboard."""
    member = check_set_pin(
        ledger, name, approver is not None, old_pin is not None, second, approver and approver[0]
    )
    validate_pin(new_pin)
    confirmed_by = None
    proofs: list[NewEvent] = []
    if approver is None:
        assert old_pin is not None  # check_set_pin refused the rest
        own, ok = prove(ledger, member.name, old_pin, role=None, purpose="change own PIN")
        by, proofs = own.name, [ok]
    else:
        producer, ok = _approve(ledger, approver, f"a new PIN for {member.name}")
        by, proofs = producer.name, [ok]
        try:
            if second is not None:
                purpose = f"confirm a new PIN for {member.name} (reset by {by})"
                other, ok = prove(ledger, second[0], second[1], role="producer", purpose=purpose)
            else:
                assert old_pin is not None
                purpose = f"confirm own new PIN (reset by {by})"
                other, ok = prove(ledger, member.name, old_pin, role=None, purpose=purpose)
        except SafetyError:
            ledger.append_many(proofs)  # the producer's PIN was right: settle that try
            raise
        confirmed_by = other.name
        proofs.append(ok)
    encoded = hash_pin(new_pin, ledger.pepper)
    fp = fingerprint(encoded)
    _commit(
        ledger,
        proofs,
        ev.CrewPinSet(
            name=member.name,
            by=by,
            pin_fingerprint=fp,
            confirmed_by=confirmed_by,
            replaces=current_fingerprint(ledger, member.name),
        ),
        credential=(member.name, encoded),
    )
    entry = replay(ledger).get(_key(member.name))
    if entry is None or not entry.active or entry.fingerprint != fp:
        raise SafetyError(
            f"the PIN for {member.name} was not changed: the roster changed at the same moment; "
            "see `safetycli crew list` and try again"
        )
    return _member(ledger, entry)


def check_set_pin(
    ledger: Ledger,
    name: str,
    approved: bool,
    old_pin: bool,
    second: tuple[str, str] | None,
    approver_name: str | None = None,
) -> Member:
    """Who proves a new PIN, checked before anyone types one: the member's current PIN alone, or
    a producer plus either that PIN or a second, different producer."""
    member = find(ledger, name)
    if not approved and (not old_pin or second is not None):
        raise SafetyError(
            f"changing the PIN for {member.name} needs their current PIN, or a producer's "
            "approval (--approve-by) with their current PIN or a second producer's"
        )
    if approved and old_pin == (second is not None):
        raise SafetyError(
            f"a producer's reset of the PIN for {member.name} is confirmed by their current PIN "
            "or by a second producer (--second-producer), one of the two; with neither, remove "
            "and add them again"
        )
    if second is not None:
        other = find(ledger, second[0])
        if not other.has_role("producer"):
            raise SafetyError(
                f"{other.name} is not on the roster as producer: only a producer confirms"
            )
        if approver_name is not None and _key(other.name) == _key(approver_name):
            raise SafetyError("the second producer must be someone other than the approving one")
    return member


def check_add_role(
    ledger: Ledger, name: str, role: str, extra: Mapping[str, str] | None = None
) -> tuple[Member, str]:
    """The member and the role to add, refused before anyone types a PIN: an unknown role (with
    a suggestion), or one they already hold."""
    member = find(ledger, name)
    (checked,) = check_roles([role], extra)
    if member.has_role(checked):
        raise SafetyError(f"{member.name} is already on the roster as {checked}: nothing to add")
    return member, checked


def add_role(
    ledger: Ledger,
    name: str,
    role: str,
    approver: tuple[str, str] | None,
    extra: Mapping[str, str] | None = None,
) -> Member:
    """Someone on the roster takes on another role (the stunt performer is also the medic), a
    roster change like any other: a producer approves it with their PIN, and it is an event
    the roster is replayed from. Their PIN, history and lock-out count stay as they are."""
    member, checked = check_add_role(ledger, name, role, extra)
    by, ok = _approve(ledger, approver, f"adding the role {checked} to {member.name}")
    _commit(ledger, [ok], ev.CrewRoleAdded(name=member.name, by=by.name, role=checked))
    entry = replay(ledger).get(_key(member.name))
    if entry is None or not entry.active or checked not in entry.roles:
        raise SafetyError(
            f"{member.name} was not given the role {checked}: the roster changed at the same "
            "moment; see `safetycli crew list` and try again"
        )
    return _member(ledger, entry)


def check_lang(lang: str) -> str:
    """A language code (`es`), or one line saying what one looks like."""
    from safetycli.translation import check_lang as checked

    try:
        return checked(lang)
    except ValueError as err:
        raise SafetyError(str(err)) from None


def check_set_lang(ledger: Ledger, name: str, lang: str) -> tuple[Member, str]:
    """The member and the language, refused before anyone types a PIN."""
    member = find(ledger, name)
    code = check_lang(lang)
    if member.lang == code:
        raise SafetyError(f"{member.name} already reads protocols in {code}: nothing to change")
    return member, code


def set_lang(ledger: Ledger, name: str, lang: str, approver: tuple[str, str] | None) -> Member:
    """Someone reads protocols in another language from now on: a roster change, approved by a
    producer's PIN, because the language decides what a person's signature says they read."""
    member, code = check_set_lang(ledger, name, lang)
    by, ok = _approve(ledger, approver, f"changing {member.name}'s language to {code}")
    _commit(ledger, [ok], ev.CrewLangSet(name=member.name, by=by.name, lang=code))
    entry = replay(ledger).get(_key(member.name))
    if entry is None or not entry.active or entry.lang != code:
        raise SafetyError(
            f"{member.name}'s language was not changed: the roster changed at the same moment; "
            "see `safetycli crew list` and try again"
        )
    return _member(ledger, entry)


def check_unlock(ledger: Ledger, name: str) -> Member:
    """The member to unlock, refused before anyone types a PIN if there is nothing to do."""
    member = find(ledger, name)
    if not member.locked:
        raise SafetyError(f"{member.name} is not locked: nothing to unlock")
    return member


def unlock(ledger: Ledger, name: str, approver: tuple[str, str] | None) -> Member:
    """A producer lets a locked-out person sign again."""
    member = check_unlock(ledger, name)
    by, ok = _approve(ledger, approver, f"unlocking {member.name}")
    _commit(ledger, [ok], ev.CrewUnlocked(name=member.name, by=by.name))
    return find(ledger, member.name)


def check_remove(ledger: Ledger, name: str) -> Member:
    """The member to remove, refused before anyone types a PIN if they are the last producer."""
    member = find(ledger, name)
    if member.has_role("producer") and [m.name for m in producers(ledger)] == [member.name]:
        raise SafetyError(
            f"{member.name} is the last producer on the roster: add another producer first"
        )
    return member


def remove(ledger: Ledger, name: str, approver: tuple[str, str] | None) -> Member:
    """Take someone off the roster: their past signatures stay in the log; they cannot sign again.
    The last producer stays, or nobody could ever approve a change again."""
    member = check_remove(ledger, name)
    by, ok = _approve(ledger, approver, f"removing {member.name}")
    _commit(ledger, [ok], ev.CrewRemoved(name=member.name, by=by.name))
    entry = replay(ledger).get(_key(member.name))
    if entry is None or entry.active:
        raise SafetyError(
            f"{member.name} was not removed: they would have been the last producer; "
            "see `safetycli crew list`"
        )
    return Member(entry.name, entry.roles, active=False, locked=False, added_at=entry.added_at)


def qualify(
    ledger: Ledger,
    name: str,
    kind: str,
    number: str,
    expires: str,
    approver: tuple[str, str] | None,
) -> Member:
    """Record a permit or training card with its expiry (qualifications.py), a roster change
    like any other: a producer's PIN, in the same transaction. A renewal is recorded again."""
    from safetycli.qualifications import KINDS, check_new

    member = find(ledger, name)
    kind, number, expires = check_new(kind, number, expires)
    by, ok = _approve(ledger, approver, f"recording the {KINDS[kind]} of {member.name}")
    change = ev.CrewQualified(
        name=member.name, by=by.name, qualification=kind, number=number, expires=expires
    )
    _commit(ledger, [ok], change)
    return member
