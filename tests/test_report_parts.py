"""A period's report reads each run's part without replaying it (`review._report_parts`): the
report must be exactly what replaying every run gave (`run_detail`), byte for byte in every
format, for any log: well-behaved crews' runs, and logs as they are (signatures before a
sign-in, a hold cleared twice, a run started twice, an event before its start)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from safetycli import crew, review, runner
from safetycli import events as ev
from safetycli.events import NewEvent
from safetycli.ledger import Ledger
from safetycli.render import report as render
from tests.reviewdata import Production, build
from tests.walk_helpers import protocol

GENERATED_AT = "2026-11-25T00:00:00.000000Z"


def replayed_part(ledger: Any, run_id: str, seen: Any, span: Any) -> None:
    """`review._summary_part` declining every run: the report as it was made before."""
    return None


def both_ways(
    ledger: Ledger, filters: review.RunFilter, monkeypatch: pytest.MonkeyPatch
) -> tuple[dict[str, Any], dict[str, Any]]:
    fast = review.build_report(ledger, filters, generated_at=GENERATED_AT)
    with monkeypatch.context() as mp:
        mp.setattr(review, "_summary_part", replayed_part)
        slow = review.build_report(ledger, filters, generated_at=GENERATED_AT)
    return fast, slow


def assert_same_report(
    fast: dict[str, Any], slow: dict[str, Any], *, rendered: bool = True
) -> None:
    """The same data, keys in the same order; and, for logs a crew wrote, the same text in every
    format (the renderers assume events the commands write)."""
    assert json.dumps(fast, sort_keys=False) == json.dumps(slow, sort_keys=False)
    assert render.to_json(fast) == render.to_json(slow)
    if not rendered:
        return
    assert render.to_csv(fast) == render.to_csv(slow)
    assert render.to_markdown(fast, "UTC") == render.to_markdown(slow, "UTC")
    assert render.to_html(fast, "Europe/Paris") == render.to_html(slow, "Europe/Paris")


# --- a small production's log, made through the real commands ----------------------------------


@pytest.fixture(scope="module")
def prod(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(crew, "SCRYPT_N", 2**8)
        yield build(tmp_path_factory.mktemp("parts") / "ws")


@pytest.mark.parametrize(
    "span", [(None, None), ("2026-03-02", "2026-03-02"), ("2026-03-03", "2026-03-04")]
)
def test_the_crews_log_reports_as_the_replay_did(
    prod: Production, span: tuple[str | None, str | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    with Ledger.open(prod.db) as ledger:
        fast, slow = both_ways(
            ledger, review.RunFilter(day_from=span[0], day_to=span[1]), monkeypatch
        )
    assert_same_report(fast, slow)


def test_the_crews_log_has_what_the_summary_must_get_right(prod: Production) -> None:
    """The production above is worth comparing: holds, refusals, items not applicable, failed
    PINs, a lock-out, an abort and runs from an answers file are all in it."""
    with Ledger.open(prod.db) as ledger:
        counts = review.build_report(ledger, review.RunFilter())["counts"]
    for key in ("holds", "refused", "not_applicable", "failed_pins", "lockouts", "aborted"):
        assert counts[key] > 0, key


# --- logs as they are: any events of a few runs, in any order -----------------------------------

PEOPLE = [
    ("Sam Ortiz", "armorer"),
    ("Dana Reyes", "first_ad"),
    ("Lee Park", "actor"),
    # What the signature count searches the stored text for, as a name (signtally.py).
    ('Zoë "Z" \\ ,"role":"producer","meaning":"performed"', "actor"),
]
# Checks of the shipped scene: once, per take, after a break (whose take counts breaks), and one
# asked per firearm.
CHECKS = [
    ("before-scene", None, "no-live-ammunition"),
    ("before-each-take", 1, "shown-clear"),
    ("before-each-take", 2, "shown-clear@4471"),
    ("after-break", 1, "custody-kept"),
    ("wrap", None, "not-an-item-of-it"),
]
DAYS = ["2026-03-02", "2026-03-03"]

person = st.sampled_from(PEOPLE)
check = st.sampled_from(CHECKS)


def signer(who: tuple[str, str]) -> dict[str, str]:
    return {"name": who[0], "role": who[1]}


def event_of(op: str, who: tuple[str, str], at: tuple[str, int | None, str], n: int) -> Any:
    """(kind, data, person) of one event of a run."""
    phase, take, item = at
    where = {"phase": phase, "take": take, "item": item}
    if op == "sign-in":
        return ev.RUN_SIGNED_IN, signer(who), who[0]
    if op == "sign-off":
        meanings = ["performed", "witnessed", "read-back", "not-applicable"]
        items = [
            {"item": f"{item}-{k}" if k else item, "meaning": meanings[(n + k) % 4], "answer": k}
            for k in range(1 + n % 3)
        ]
        data = {**signer(who), "phase": phase, "take": take, "items": items, "pin": "sign-off"}
        return ev.ITEM_SIGNED_OFF, data, who[0]
    if op in ("performed", "witnessed", "read-back"):
        kind = {"performed": ev.ITEM_PERFORMED, "witnessed": ev.ITEM_WITNESSED}.get(
            op, ev.ITEM_READ_BACK
        )
        return kind, {**where, **signer(who), "ok": True, "answer": n, "reason": None}, who[0]
    if op in ("ok", "refused", "not-applicable"):
        reason = None if op == "ok" else f"reason {n}"
        return ev.ITEM_DONE, {**where, "outcome": op, "reason": reason, "by": signer(who)}, None
    if op == "corrected":
        data = {
            **where,
            "answer": n,
            "was": n + 1,
            "note": "typo at wrap",
            "by": [signer(who)],
            "recheck": [["wrap", None, "blanks-fired"]],
        }
        return ev.ITEM_CORRECTED, data, who[0]
    if op == "raise":
        data = {**where, "reason": f"stop {n}", "raised_by": signer(who)}
        if n % 3 == 0:
            data = {"reason": "by hand", "raised_by": signer(who), "authenticated": False}
        return ev.HOLD_RAISED, data, who[0]
    if op == "clear":
        return ev.HOLD_CLEARED, {"note": f"cleared {n}", "cleared_by": [signer(who)]}, None
    if op == "failed":
        data = {**signer(who), "purpose": "sign-off", "reason": "wrong-pin"}
        return ev.AUTH_FAILED, data, who[0]
    if op == "locked":
        return ev.AUTH_LOCKED, {"name": who[0], "failures": 5}, who[0]
    if op == "ok-pin":
        return ev.AUTH_OK, {**signer(who), "purpose": "sign-off"}, who[0]
    if op == "take":
        return ev.TAKE_NEXT, {"group": "before-each-take", "take": 2}, None
    if op == "complete":
        return ev.RUN_COMPLETED, {}, None
    return ev.RUN_ABORTED, {"reason": "cut", "by": signer(who)}, who[0]


OPS = [
    "sign-in",
    "sign-in",
    "sign-off",
    "sign-off",
    "sign-off",
    "performed",
    "witnessed",
    "read-back",
    "ok",
    "ok",
    "refused",
    "not-applicable",
    "corrected",
    "raise",
    "clear",
    "failed",
    "locked",
    "ok-pin",
    "take",
    "complete",
    "abort",
]
step = st.tuples(
    st.integers(0, 3),  # which run
    st.sampled_from(["start", *OPS]),
    person,
    check,
    st.integers(0, 11),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(step, min_size=20, max_size=80), st.integers(0, 255), st.booleans())
def test_any_log_reports_as_the_replay_did(
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
    steps: list[tuple[int, str, tuple[str, str], tuple[str, int | None, str], int]],
    early: int,
    answers_file: bool,
) -> None:
    path = tmp_path_factory.mktemp("parts") / "log.db"
    scene = protocol()
    started: set[str] = set()
    new: list[NewEvent] = []
    # Runs started before anything else happens (bit n: run n), the crew signed in at once when
    # bit n + 4 is set; a "start" step starts a run late, or a second time.
    first = [
        (n, "start", PEOPLE[0], CHECKS[0], 1 if early >> (n + 4) & 1 else 0)
        for n in range(4)
        if early >> n & 1
    ]
    for run_no, op, who, at, n in [*first, *steps]:
        run = f"r-{run_no}"
        if op == "start":
            mode = "answers-file" if answers_file and run_no % 2 else "interactive"
            context = {"blanks": bool(n % 2)}
            for event in runner.start(scene, run, f"{n}A", DAYS[run_no % 2], context):
                data = {**event.data, "mode": mode} if event.kind == ev.RUN_STARTED else event.data
                new.append(NewEvent(event.kind, data, run, event.person))
            if n % 4:  # mostly, the crew signs in first: such runs are summarised, not replayed
                for who_in in PEOPLE:
                    new.append(NewEvent(ev.RUN_SIGNED_IN, signer(who_in), run, who_in[0]))
            started.add(run)
            continue
        if run not in started and n % 4:  # now and then, an event before the run's start
            continue
        kind, data, by = event_of(op, who, at, n)
        new.append(NewEvent(kind, data, run, by))
    # Failed PINs outside any run are in the report too.
    new.append(NewEvent(ev.AUTH_FAILED, {"name": "Lee Park", "reason": "wrong-pin"}, None, None))
    with Ledger.open(path) as ledger:
        ledger.append_many(new)
        for span in [(None, None), (DAYS[0], DAYS[0]), (DAYS[1], DAYS[1])]:
            filters = review.RunFilter(day_from=span[0], day_to=span[1])
            fast, slow = both_ways(ledger, filters, monkeypatch)
            assert_same_report(fast, slow, rendered=False)


def test_a_clean_run_is_summarised_and_an_unclean_one_replayed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The summary is used where it can vouch for the run, and only there: a signature by
    someone not signed in sends the run to the replay, which lists each such signature."""
    scene = protocol()
    new = [
        *runner.start(scene, "r-1", "1A", DAYS[0], {}),
        *runner.start(scene, "r-2", "2A", DAYS[0], {}),
    ]
    new = [NewEvent(e.kind, e.data, e.run, e.person) for e in new]
    armorer = PEOPLE[0]
    sign_in = event_of("sign-in", armorer, CHECKS[0], 0)
    sign_off = event_of("sign-off", armorer, CHECKS[0], 0)
    new += [NewEvent(*sign_in[:2], "r-1", sign_in[2]), NewEvent(*sign_off[:2], "r-1", armorer[0])]
    new += [NewEvent(*sign_off[:2], "r-2", armorer[0])]  # r-2: never signed in
    # r-3: signed, then signed in (the very next event): that signature was not signed in for.
    new += [
        *(
            NewEvent(e.kind, e.data, e.run, e.person)
            for e in runner.start(scene, "r-3", "3A", DAYS[0], {})
        )
    ]
    new += [NewEvent(*sign_off[:2], "r-3", armorer[0]), NewEvent(*sign_in[:2], "r-3", sign_in[2])]
    summarised: list[str] = []
    original = review._summary_part

    def watching(ledger: Any, run_id: str, seen: Any, span: Any) -> Any:
        part = original(ledger, run_id, seen, span)
        if part is not None:
            summarised.append(run_id)
        return part

    monkeypatch.setattr(review, "_summary_part", watching)
    with Ledger.open(tmp_path / "log.db") as ledger:
        ledger.append_many(new)
        report = review.build_report(ledger, review.RunFilter(), generated_at=GENERATED_AT)
    assert summarised == ["r-1"]
    assert report["counts"]["not_signed_in"] == 2
    assert report["counts"]["signatures"] == 3
