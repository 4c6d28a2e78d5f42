"""The roster and PIN sign-in, through the core API: who signed is the whole point, so every way
of signing as someone else must be refused and recorded."""

from __future__ import annotations

import functools
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetycli import crew
from safetycli.crew import AuthError, Member
from safetycli.errors import SafetyError
from safetycli.events import NewEvent
from safetycli.ledger import Ledger
from safetycli.rostercheck import RosterUnverified

REAL_SCRYPT_N = crew.SCRYPT_N
PAT, PAT_PIN = "Pat Producer", "739164"
SAM, SAM_PIN = "Sam Ortiz", "4821"
PRODUCER = (PAT, PAT_PIN)


@pytest.fixture(autouse=True)
def _cheap_scrypt(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests hash hundreds of PINs; the parameters travel inside each hash, so cheap ones are
    checked by the same code as real ones."""
    monkeypatch.setattr(crew, "SCRYPT_N", 2**8)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path / "log.db") as opened:
        yield opened


@pytest.fixture
def crewed(ledger: Ledger) -> Ledger:
    """A producer and an armorer on the roster."""
    crew.add_member(ledger, PAT, ["producer"], PAT_PIN, None)
    crew.add_member(ledger, SAM, ["armorer"], SAM_PIN, PRODUCER)
    return ledger


def sign(ledger: Ledger, name: str, pin: str, role: str | None = None) -> Member:
    return crew.authenticate(ledger, name, pin, role=role, purpose="test")


def kinds(ledger: Ledger) -> list[str]:
    return [e.kind for e in ledger.events()]


def fail_times(ledger: Ledger, name: str, times: int, role: str | None = None) -> None:
    for _ in range(times):
        with pytest.raises(AuthError):
            sign(ledger, name, "0000", role)


# --- PINs ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pin, message",
    [
        ("123", "a PIN is 4 to 12 digits (this one has 3)"),
        ("1234567890123", "a PIN is 4 to 12 digits (this one has 13)"),
        ("12a4", "a PIN is 4 to 12 digits, 0-9 only"),
        ("", "a PIN is 4 to 12 digits, 0-9 only"),
        (" 1234", "a PIN is 4 to 12 digits, 0-9 only"),
        ("١٢٣٤", "a PIN is 4 to 12 digits, 0-9 only"),  # Arabic-Indic digits are not on a keypad
        ("1111", "a PIN cannot be one digit repeated: choose another"),
        ("000000", "a PIN cannot be one digit repeated: choose another"),
    ],
)
def test_bad_pins_are_refused(pin: str, message: str) -> None:
    with pytest.raises(SafetyError) as err:
        crew.validate_pin(pin)
    assert err.value.message == message


@pytest.mark.parametrize("pin", ["1234", "4821", "739164", "012345678901"])
def test_good_pins_pass(pin: str) -> None:
    crew.validate_pin(pin)


def test_hash_carries_params_and_salt_and_checks() -> None:
    encoded = crew.hash_pin("4821")
    scheme, n, r, p, salt, digest = encoded.split("$")
    assert (scheme, n, r, p) == ("scrypt", str(2**8), "8", "1")
    assert "4821" not in encoded
    assert crew.check_pin("4821", encoded)
    assert not crew.check_pin("4822", encoded)
    assert crew.hash_pin("4821") != encoded  # a fresh salt every time


@pytest.mark.parametrize(
    "encoded",
    [
        "",
        "scrypt",
        "bcrypt$256$8$1$AAAA$AAAA",
        "scrypt$255$8$1$AAAA$AAAA",
        "scrypt$x$8$1$A$A",
        f"scrypt${2**30}$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
    ],
)
def test_malformed_or_absurd_hash_never_matches(encoded: str) -> None:
    assert not crew.check_pin("4821", encoded)


@functools.cache
def real_hash() -> str:
    """A hash made at the real cost, once."""
    saved, crew.SCRYPT_N = crew.SCRYPT_N, REAL_SCRYPT_N
    try:
        return crew.hash_pin("4821")
    finally:
        crew.SCRYPT_N = saved


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(alphabet="0123456789", min_size=1, max_size=14).filter(lambda p: p != "4821"))
def test_wrong_pin_never_matches_real_hash(wrong: str) -> None:
    encoded = real_hash()
    assert encoded.split("$")[1] == str(REAL_SCRYPT_N)
    assert not crew.check_pin(wrong, encoded)


def test_right_pin_matches_real_hash() -> None:
    assert crew.check_pin("4821", real_hash())


def test_real_scrypt_cost_is_sane() -> None:
    assert 2**14 <= REAL_SCRYPT_N <= 2**16


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.one_of(
        st.text(alphabet="0123456789", min_size=0, max_size=14),
        st.text(max_size=20),
    ).filter(lambda p: p != SAM_PIN)
)
def test_wrong_pin_never_authenticates(wrong: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, Ledger.open(Path(tmp) / "log.db") as ledger:
        crew.add_member(ledger, PAT, ["producer"], PAT_PIN, None)
        crew.add_member(ledger, SAM, ["armorer"], SAM_PIN, PRODUCER)
        with pytest.raises(AuthError) as err:
            sign(ledger, SAM, wrong, "armorer")
        assert err.value.reason == crew.WRONG_PIN
        assert err.value.message == "wrong PIN for Sam Ortiz (4 tries left before lock-out)"
        assert kinds(ledger)[-1] == "auth.failed"


# --- sign-in -------------------------------------------------------------------------------------


def test_right_pin_and_role_signs_in_and_is_recorded(crewed: Ledger) -> None:
    member = crew.authenticate(
        crewed, "sam ORTIZ", SAM_PIN, role="armorer", purpose="sign-in", run="r1"
    )
    assert member.name == SAM and member.roles == ("armorer",)
    last = list(crewed.events())[-1]
    assert (last.kind, last.person, last.run) == ("auth.ok", SAM, "r1")
    attempt = list(crewed.events())[-2]
    assert (attempt.kind, attempt.data["purpose"]) == ("auth.attempt", "sign-in")
    assert last.data == {
        "name": SAM,
        "role": "armorer",
        "purpose": "sign-in",
        "attempt": attempt.seq,
    }


def test_role_mismatch_is_refused_and_recorded(crewed: Ledger) -> None:
    with pytest.raises(AuthError) as err:
        crew.authenticate(crewed, SAM, SAM_PIN, role="first_ad", purpose="sign-in", run="r1")
    assert err.value.message == "Sam Ortiz is not on the roster as first_ad"
    assert err.value.exit_code == 2 and err.value.final
    last = list(crewed.events())[-1]
    assert (last.kind, last.person, last.run) == ("auth.failed", SAM, "r1")
    assert last.data == {"name": SAM, "role": "first_ad", "purpose": "sign-in", "reason": "role"}


def test_wrong_pin_counts_down_then_locks(crewed: Ledger) -> None:
    messages = []
    for _ in range(5):
        with pytest.raises(AuthError) as err:
            sign(crewed, SAM, "4822", "armorer")
        messages.append(err.value.message)
    assert messages == [
        "wrong PIN for Sam Ortiz (4 tries left before lock-out)",
        "wrong PIN for Sam Ortiz (3 tries left before lock-out)",
        "wrong PIN for Sam Ortiz (2 tries left before lock-out)",
        "wrong PIN for Sam Ortiz (1 try left before lock-out)",
        "wrong PIN for Sam Ortiz: Sam Ortiz is locked after 5 wrong PINs: a producer must run "
        "`safetycli crew unlock Sam Ortiz`",
    ]
    # Each try is admitted (auth.attempt) before its PIN is checked, then settled.
    assert kinds(crewed)[-11:] == ["auth.attempt", "auth.failed"] * 5 + ["auth.locked"]
    assert crew.find(crewed, SAM).locked


def test_sixth_attempt_is_refused_even_with_the_right_pin(crewed: Ledger) -> None:
    fail_times(crewed, SAM, 5)
    with pytest.raises(AuthError) as err:
        sign(crewed, SAM, SAM_PIN, "armorer")
    assert err.value.message == (
        "Sam Ortiz is locked after 5 wrong PINs: a producer must run "
        "`safetycli crew unlock Sam Ortiz`"
    )
    assert err.value.reason == "locked"
    last = list(crewed.events())[-1]
    assert last.kind == "auth.failed" and last.data["reason"] == "locked"
    assert kinds(crewed).count("auth.locked") == 1


def test_a_success_resets_the_count(crewed: Ledger) -> None:
    fail_times(crewed, SAM, 4)
    sign(crewed, SAM, SAM_PIN)
    fail_times(crewed, SAM, 4)
    assert not crew.find(crewed, SAM).locked
    assert crew.find(crewed, SAM).failures == 4


def test_other_refusals_neither_count_nor_hide_wrong_pins(crewed: Ledger) -> None:
    """Role refusals never test the PIN, so they do not count, and a long run of them between
    wrong PINs cannot stretch the five tries (the count walks past the window)."""
    for _ in range(3):
        fail_times(crewed, SAM, 1)
        fail_times(crewed, SAM, 25, role="actor")
    assert crew.find(crewed, SAM).failures == 3
    fail_times(crewed, SAM, 30, role="actor")
    fail_times(crewed, SAM, 2)
    assert crew.find(crewed, SAM).locked


def test_unknown_and_removed_people_cannot_sign(crewed: Ledger) -> None:
    with pytest.raises(AuthError) as err:
        sign(crewed, "Nobody", "4821")
    assert err.value.message == "nobody called Nobody on the roster: see `safetycli crew list`"
    crew.remove(crewed, SAM, PRODUCER)
    with pytest.raises(AuthError) as err:
        sign(crewed, SAM, SAM_PIN, "armorer")
    assert err.value.message == "Sam Ortiz was removed from the roster and can no longer sign"
    reasons = [e.data["reason"] for e in crewed.events(kinds=["auth.failed"])]
    assert reasons == ["unknown-name", "removed"]


def test_a_pin_typed_as_a_name_is_never_recorded_or_shown(crewed: Ledger) -> None:
    with pytest.raises(AuthError) as err:
        sign(crewed, PAT_PIN, PAT_PIN)
    assert PAT_PIN not in err.value.message
    assert err.value.message == "nobody called #### on the roster: see `safetycli crew list`"
    for event in crewed.events():
        assert PAT_PIN not in str(event.data) and PAT_PIN != event.person


def stored_hash(ledger: Ledger, name: str) -> str:
    """The person's PIN hash in credentials.db: exactly one row, the ones the log replaced are
    forgotten."""
    db = sqlite3.connect(ledger.path.with_name("credentials.db"))
    rows = db.execute("SELECT secret FROM credentials WHERE person = ?", (name,)).fetchall()
    db.close()
    assert len(rows) == 1, rows
    return str(rows[0][0])


def test_pins_and_hashes_stay_out_of_the_event_log(crewed: Ledger) -> None:
    fail_times(crewed, SAM, 2)
    sign(crewed, SAM, SAM_PIN)
    stored = stored_hash(crewed, SAM)
    assert stored is not None and stored.startswith("scrypt$")
    for event in crewed.events():
        text = str(event.data)
        assert SAM_PIN not in text and PAT_PIN not in text
        assert "scrypt" not in text and stored not in text
    added = next(crewed.events(kinds=["crew.added"], person=SAM))
    assert added.data == {
        "name": SAM,
        "roles": ["armorer"],
        "approved_by": PAT,
        "pin_fingerprint": crew.fingerprint(stored),
    }


def test_a_swapped_credential_row_is_refused(crewed: Ledger, tmp_path: Path) -> None:
    """Someone with the database file writes a hash of a PIN they know: the log's fingerprint
    no longer matches, so even their PIN is refused."""
    db = sqlite3.connect(tmp_path / "credentials.db")
    with db:
        db.execute(
            "UPDATE credentials SET secret = ? WHERE person = ?", (crew.hash_pin("2580"), SAM)
        )
    db.close()
    for pin in ("2580", SAM_PIN):
        with pytest.raises(AuthError) as err:
            sign(crewed, SAM, pin, "armorer")
        assert err.value.message == (
            "the stored PIN for Sam Ortiz does not match the log: run `safetycli verify` and tell "
            "the producer"
        )
    assert list(crewed.events())[-1].data["reason"] == "stored-pin-mismatch"
    assert not crew.find(crewed, SAM).locked  # not a guess: does not count


def test_a_missing_credential_row_is_refused(crewed: Ledger, tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "credentials.db")
    with db:
        db.execute("DELETE FROM credentials WHERE person = ?", (SAM,))
    db.close()
    with pytest.raises(AuthError, match="the stored PIN for Sam Ortiz does not match the log"):
        sign(crewed, SAM, SAM_PIN)


# --- roster changes ------------------------------------------------------------------------------


def test_first_member_must_be_a_producer(ledger: Ledger) -> None:
    with pytest.raises(SafetyError) as err:
        crew.add_member(ledger, SAM, ["armorer"], SAM_PIN, None)
    assert err.value.message == (
        "the first crew member must be a producer (--role producer): producers approve every "
        "later roster change"
    )
    assert crew.roster(ledger) == []
    member = crew.add_member(ledger, PAT, ["producer", "safety_rep"], PAT_PIN, None)
    assert member == Member(PAT, ("producer", "safety_rep"), True, False, 0, member.added_at)
    assert next(ledger.events(kinds=["crew.added"])).data["approved_by"] is None


def test_later_changes_need_a_producers_pin(crewed: Ledger) -> None:
    with pytest.raises(SafetyError) as err:
        crew.add_member(crewed, "Dana Reyes", ["first_ad"], "1170", None)
    assert "needs a producer's approval" in err.value.message
    with pytest.raises(AuthError) as err:
        crew.add_member(crewed, "Dana Reyes", ["first_ad"], "1170", (SAM, SAM_PIN))
    assert err.value.message == "Sam Ortiz is not on the roster as producer"
    with pytest.raises(AuthError) as err:
        crew.add_member(crewed, "Dana Reyes", ["first_ad"], "1170", (PAT, "739165"))
    assert err.value.message.startswith("wrong PIN for Pat Producer")
    assert [m.name for m in crew.roster(crewed)] == [PAT, SAM]
    dana = crew.add_member(
        crewed, "Dana Reyes", ["first_ad", "first_ad"], "1170", ("pat producer", PAT_PIN)
    )
    assert dana.roles == ("first_ad",)
    assert [m.name for m in crew.roster(crewed)] == [PAT, SAM, "Dana Reyes"]
    ok = list(crewed.events(kinds=["auth.ok"]))[-1]
    assert ok.data == {
        "name": PAT,
        "role": "producer",
        "purpose": "approve adding Dana Reyes",
        "attempt": ok.seq - 1,
    }


@pytest.mark.parametrize(
    "name, message",
    [
        ("sam ortiz", "Sam Ortiz is already on the roster: see `safetycli crew list`"),
        ("  SAM   ORTIZ ", "Sam Ortiz is already on the roster: see `safetycli crew list`"),
        ("Ｓam Ortiz", "Sam Ortiz is already on the roster: see `safetycli crew list`"),
        ("   ", "a crew member needs a name"),
        ("x" * 81, "a name can be at most 80 characters (this one has 81)"),
        (
            "Sam\x1b[2J",
            "the name `Sam\\u001b[2J` contains a control or invisible character (U+001B): "
            "type the name plainly",
        ),
        (
            "Sam\u200bOrtiz",
            "the name `Sam\\u200bOrtiz` contains a control or invisible character "
            "(U+200B): type the name plainly",
        ),
    ],
)
def test_bad_or_duplicate_names_are_refused(crewed: Ledger, name: str, message: str) -> None:
    with pytest.raises(SafetyError) as err:
        crew.add_member(crewed, name, ["actor"], "2468", PRODUCER)
    assert err.value.message == message
    assert kinds(crewed).count("auth.ok") == 1  # the fixture's; the producer's PIN went unused


def test_names_are_tidied_and_matched_case_insensitively(crewed: Ledger) -> None:
    crew.add_member(crewed, "  Ana   Lima ", ["actor"], "2468", PRODUCER)
    assert crew.find(crewed, "ANA LIMA").name == "Ana Lima"
    with pytest.raises(SafetyError) as err:
        crew.find(crewed, "Ana")
    assert err.value.message == "nobody called Ana on the roster: see `safetycli crew list`"


def test_unknown_role_is_refused_with_a_suggestion(crewed: Ledger) -> None:
    with pytest.raises(SafetyError) as err:
        crew.add_member(crewed, "Ana Lima", ["armourer"], "2468", PRODUCER)
    assert err.value.message.startswith(
        "unknown role `armourer` (did you mean `armorer`?): roles are"
    )
    with pytest.raises(SafetyError, match="needs at least one role"):
        crew.add_member(crewed, "Ana Lima", [], "2468", PRODUCER)


def test_only_a_producer_unlocks(crewed: Ledger) -> None:
    crew.add_member(crewed, "Ana Lima", ["actor"], "2468", PRODUCER)
    fail_times(crewed, "Ana Lima", 5)
    with pytest.raises(AuthError) as err:
        crew.unlock(crewed, "Ana Lima", (SAM, SAM_PIN))
    assert err.value.message == "Sam Ortiz is not on the roster as producer"
    assert crew.find(crewed, "Ana Lima").locked
    unlocked = crew.unlock(crewed, "ana lima", PRODUCER)
    assert not unlocked.locked and unlocked.failures == 0
    event = list(crewed.events(kinds=["crew.unlocked"]))[-1]
    assert (event.person, event.data) == ("Ana Lima", {"name": "Ana Lima", "by": PAT})
    sign(crewed, "Ana Lima", "2468", "actor")


def test_unlocking_someone_not_locked_is_refused(crewed: Ledger) -> None:
    with pytest.raises(SafetyError) as err:
        crew.unlock(crewed, SAM, PRODUCER)
    assert err.value.message == "Sam Ortiz is not locked: nothing to unlock"


def test_a_locked_producer_cannot_approve(crewed: Ledger) -> None:
    fail_times(crewed, PAT, 5)
    with pytest.raises(AuthError, match="Pat Producer is locked"):
        crew.add_member(crewed, "Ana Lima", ["actor"], "2468", PRODUCER)


def test_set_pin_with_the_old_pin(crewed: Ledger) -> None:
    before = crew.fingerprint(stored_hash(crewed, SAM))
    crew.set_pin(crewed, SAM, "5820", old_pin=SAM_PIN)
    with pytest.raises(AuthError):
        sign(crewed, SAM, SAM_PIN)
    sign(crewed, SAM, "5820")
    event = list(crewed.events(kinds=["crew.pin-set"]))[-1]
    assert event.data == {
        "name": SAM,
        "by": SAM,
        "pin_fingerprint": crew.fingerprint(stored_hash(crewed, SAM)),
        # The PIN it replaces: two laptops changing one PIN apart are told apart by it.
        "replaces": before,
    }


def test_set_pin_needs_the_old_pin_or_a_producer(crewed: Ledger) -> None:
    with pytest.raises(SafetyError, match="needs their current PIN, or a producer's approval"):
        crew.set_pin(crewed, SAM, "5820")
    with pytest.raises(AuthError, match="wrong PIN for Sam Ortiz"):
        crew.set_pin(crewed, SAM, "5820", old_pin="0000")
    with pytest.raises(SafetyError, match="one digit repeated"):
        crew.set_pin(crewed, SAM, "5555", old_pin=SAM_PIN)
    sign(crewed, SAM, SAM_PIN)  # nothing changed


def test_a_producers_new_pin_clears_a_lock(crewed: Ledger) -> None:
    fail_times(crewed, SAM, 5)
    with pytest.raises(AuthError, match="locked"):
        crew.set_pin(crewed, SAM, "5820", old_pin=SAM_PIN)  # locked: own PIN no longer helps
    # Issue 10: one producer alone no longer resets someone's PIN; a second producer confirms.
    with pytest.raises(SafetyError, match="confirmed by their current PIN or by a second"):
        crew.set_pin(crewed, SAM, "5820", approver=PRODUCER)
    crew.add_member(crewed, "Lee Kim", ["producer"], "3690", PRODUCER)
    member = crew.set_pin(crewed, SAM, "5820", approver=PRODUCER, second=("Lee Kim", "3690"))
    assert not member.locked
    event = list(crewed.events(kinds=["crew.pin-set"]))[-1]
    assert (event.data["by"], event.data["confirmed_by"]) == (PAT, "Lee Kim")
    sign(crewed, SAM, "5820", "armorer")


def test_remove_keeps_history_and_refuses_the_last_producer(crewed: Ledger) -> None:
    sign(crewed, SAM, SAM_PIN)
    with pytest.raises(SafetyError) as err:
        crew.remove(crewed, PAT, PRODUCER)
    assert err.value.message == (
        "Pat Producer is the last producer on the roster: add another producer first"
    )
    removed = crew.remove(crewed, "sam ortiz", PRODUCER)
    assert not removed.active
    assert [m.name for m in crew.roster(crewed)] == [PAT]
    # added, auth.attempt, auth.ok, removed: history stays
    assert len(list(crewed.events(person=SAM))) == 4
    with pytest.raises(SafetyError, match="nobody called Sam Ortiz"):
        crew.find(crewed, SAM)
    # A second producer makes removing the first possible, approved by either.
    crew.add_member(crewed, "Lee Kim", ["producer"], "3690", PRODUCER)
    crew.remove(crewed, PAT, PRODUCER)
    assert [m.name for m in crew.roster(crewed)] == ["Lee Kim"]
    assert crewed.verify().ok


def test_a_removed_person_can_be_added_again_with_a_new_pin(crewed: Ledger) -> None:
    crew.remove(crewed, SAM, PRODUCER)
    crew.add_member(crewed, SAM, ["armorer", "actor"], "9753", PRODUCER)
    with pytest.raises(AuthError):
        sign(crewed, SAM, SAM_PIN)
    assert sign(crewed, SAM, "9753", "actor").roles == ("armorer", "actor")


def test_an_unapproved_addition_is_refused_not_obeyed(crewed: Ledger) -> None:
    """An add with no producer's approval, appended behind the CLI's back (a valid chain, as an
    insider writing to the log would make): the roster refuses to act rather than skip it."""
    crewed.append(
        "crew.added",
        {"name": "Sly", "roles": ["producer"], "approved_by": None, "pin_fingerprint": "x"},
        person="Sly",
    )
    with pytest.raises(RosterUnverified, match=r"event \d+ \(crew.added, Sly\): no producer"):
        crew.roster(crewed)


def test_an_add_overtaken_by_a_racing_process_says_so(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two first producers at once: both checked an empty roster; under the write lock the one
    that lands second finds someone there, writes nothing, and its process says so."""
    real_append = ledger.append_many
    raced = []

    def racing_append(new: list[NewEvent], **kw: object) -> object:
        if new[-1].kind == "crew.added" and new[-1].data["name"] == "Lee Kim" and not raced:
            raced.append(True)
            crew.add_member(ledger, PAT, ["producer"], PAT_PIN, None)
        return real_append(new, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(ledger, "append_many", racing_append)
    with pytest.raises(SafetyError) as err:
        crew.add_member(ledger, "Lee Kim", ["producer"], "3690", None)
    assert err.value.message == (
        "Lee Kim was not added: someone changed the roster at the same moment; "
        "see `safetycli crew list` and try again"
    )
    assert [m.name for m in crew.roster(ledger)] == [PAT]
    sign(ledger, PAT, PAT_PIN, "producer")
