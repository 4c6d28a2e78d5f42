"""The producers' recovery code: the way back when the last producer is locked out or gone.

Every roster change needs a producer's PIN, so five wrong PINs typed for the only producer (by
anyone) would freeze the roster for good. `init` prints a recovery code once; the production keeps
it on paper, away from the laptop. `safetycli crew recover NAME --code CODE` gives a producer a
new PIN with it (which also ends a lock-out), records that the code was used, and prints the next
code: a code works once.

The code is stored like a PIN: only its salted scrypt hash, in the credentials store under a key
no crew name can take (names refuse private-use characters), with a fingerprint of the stored
string in the `recovery.set` event, so a swapped hash is refused. 16 characters from a 32-letter
alphabet (80 bits): guessing it is not a matter of five tries, so wrong codes are recorded but do
not lock anything.
"""

from __future__ import annotations

import hmac
import secrets

from safetycli import crew
from safetycli.errors import SafetyError
from safetycli.events import (
    CREW_RECOVERED,
    RECOVERY_SET,
    AuthFailed,
    CrewRecovered,
    NewEvent,
    RecoverySet,
)
from safetycli.ledger import Ledger

# The credentials key of the recovery code's hash: U+E000 is a private-use character, which
# crew.clean_name refuses in a name, so no crew member can collide with it.
KEY = "\ue000recovery-code"
# No 0/O, 1/I/L: a code read off paper is typed right the first time.
_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
_GROUPS, _GROUP = 4, 4
WRONG_CODE = "wrong-recovery-code"


class _Moved(Exception):
    """Under the write lock: the code was used or replaced since it was checked."""


def _new_code() -> str:
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(_GROUP)) for _ in range(_GROUPS))
    return "-".join(groups)


def _normal(code: str) -> str:
    """As typed from paper: any case, spaces or dashes anywhere."""
    plain = "".join(c for c in code.upper() if c not in " -")
    return "-".join(plain[i : i + _GROUP] for i in range(0, len(plain), _GROUP))


def issue(ledger: Ledger, why: str) -> str:
    """The first code, at `init`; returned once, for printing, and never stored."""
    code, event, encoded = _next(why)
    ledger.append_many([event], credential=(KEY, encoded))
    return code


def _next(why: str, by: str | None = None) -> tuple[str, NewEvent, str]:
    """A new code, its `recovery.set` event and its stored hash. The code is 80 random bits:
    it needs no pepper, and must not depend on the device key (the key may be what was lost)."""
    code = _new_code()
    encoded = crew.hash_pin(code)
    return (
        code,
        RecoverySet(code_fingerprint=crew.fingerprint(encoded), why=why, by=by).new(),
        encoded,
    )


def _current(ledger: Ledger) -> str | None:
    """The fingerprint of the code that works now, or None (none issued, or spent)."""
    latest = ledger.latest(kinds=(RECOVERY_SET, CREW_RECOVERED), limit=1)
    if not latest or latest[0].kind != RECOVERY_SET:
        return None
    return str(latest[0].data["code_fingerprint"])


def recover(ledger: Ledger, name: str, code: str, new_pin: str) -> tuple[crew.Member, str]:
    """A new PIN for producer `name`, proven by the recovery code; returns the member and the
    next code (the used one is spent in the same write that sets the PIN)."""
    member = crew.find(ledger, name)
    if not member.has_role("producer"):
        raise SafetyError(
            f"{member.name} is not a producer: the recovery code gives a producer a new PIN, "
            "who then unlocks or re-PINs everyone else"
        )
    crew.validate_pin(new_pin)
    current = _current(ledger)
    stored = None if current is None else ledger.credential(KEY, current)
    if current is None or stored is None:
        raise SafetyError(
            "this workspace has no recovery code that can be used (none was issued, or the last "
            "one was spent): a producer can issue one with `safetycli crew recovery-code`"
        )
    if not hmac.compare_digest(crew.fingerprint(stored), current):
        raise SafetyError(
            "the stored recovery code does not match the log: run `safetycli verify` and tell "
            "the production"
        )
    if not crew.check_pin(_normal(code), stored):
        failed = AuthFailed(
            name=member.name, role="producer", purpose="recovery code", reason=WRONG_CODE
        ).new()
        ledger.append(failed.kind, failed.data, person=failed.person)
        raise SafetyError("wrong recovery code: nothing was changed (the attempt is recorded)")
    encoded = crew.hash_pin(new_pin, ledger.pepper)

    def guard() -> None:
        if _current(ledger) != current:
            raise _Moved()

    used = CrewRecovered(
        name=member.name,
        pin_fingerprint=crew.fingerprint(encoded),
        code_fingerprint=current,
        replaces=crew.current_fingerprint(ledger, member.name),
    ).new()
    # The spent code and the next one in one transaction: a crash cannot leave the production
    # without a code. The next code's hash is stored first (an unused row until its event lands).
    code, replaced, code_hash = _next("used")
    ledger.credentials.put(KEY, code_hash)
    try:
        ledger.append_many([used, replaced], credential=(member.name, encoded), guard=guard)
    except _Moved:
        raise SafetyError(
            "the recovery code was used or replaced at the same moment: nothing was changed"
        ) from None
    return crew.find(ledger, member.name), code


def reissue(ledger: Ledger, approver: tuple[str, str]) -> str:
    """A producer replaces the code (lost paper, or a use that stopped before the next code was
    written): the old one stops working."""
    name, pin = approver
    producer, ok = crew.prove(ledger, name, pin, role="producer", purpose="issue a recovery code")
    code, event, encoded = _next("issued", by=producer.name)
    ledger.append_many([ok, event], credential=(KEY, encoded))
    return code
