"""A report's signature counts (`Ledger.signature_tally`) read the sign-offs' stored text without
decoding it (`signtally`). Whatever a crew types into a name, a role, an item's id or an answer,
the counts must be what reading each sign-off item by item gives (`events.expand`): the number a
producer reads as "N signatures", and who signed before signing in."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from safetycli import events as ev
from safetycli.events import NewEvent
from safetycli.ledger import Ledger

# Text that looks like the markers the tally searches for, inside values where they are data.
AWKWARD = [
    '"meaning":"performed"',
    '","meaning":"performed"},{"answer":1,"item":"x',
    ',"name":"Eve","phase":"p","pin":null,"role":"producer","take":null}',
    ',"role":"producer"',
    ',"take":',
    'Zoë "Z" O\\\'Neil \\',
    "\\",
    "}]",
    "\u202e\x1b[2J",
    "",
]
awkward = st.one_of(
    st.sampled_from(AWKWARD),
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=12),
)
MEANINGS = ["performed", "witnessed", "read-back", "not-applicable"]
item = st.fixed_dictionaries(
    {
        "item": awkward,
        "meaning": st.sampled_from(MEANINGS),
        "answer": st.one_of(st.booleans(), st.integers(0, 99), awkward, st.none()),
    },
    # Not written today: an item that named someone must not be taken for the signer.
    optional={"name": awkward},
)
# What translation.py adds to a sign-off (absent from older ones): the keys sort around `name`.
extra = st.fixed_dictionaries(
    {},
    optional={
        "lang": st.sampled_from(["es", "en"]),
        "text_sha256": st.just("ab" * 32),
        "fallback": st.lists(awkward, max_size=2),
    },
)
sign_off = st.tuples(
    st.integers(0, 2),  # which run
    awkward,  # name
    st.one_of(awkward, st.just("armorer"), st.none()),  # role (None: a log as it is)
    awkward,  # phase
    st.lists(item, max_size=4),
    extra,
)
older = st.tuples(
    st.integers(0, 2),
    st.sampled_from([ev.ITEM_PERFORMED, ev.ITEM_WITNESSED, ev.ITEM_READ_BACK]),
    awkward,
    st.sampled_from(["armorer", "actor"]),
)


def by_expanding(events: Iterable[ev.Event]) -> list[tuple[Any, ...]]:
    """The tally as reading every signature one by one gives it."""
    tally: dict[tuple[Any, Any, Any], list[int]] = {}
    for event in events:
        for signed in ev.expand(event):
            if signed.kind not in ev.SIGNATURE_KINDS or signed.run is None:
                continue
            key = (signed.run, signed.data["name"], signed.data["role"])
            got = tally.setdefault(key, [signed.seq, 0, 0])
            got[0] = min(got[0], signed.seq)
            got[1] += 1
            got[2] += signed.kind == ev.ITEM_PERFORMED
    return sorted(((*key, *counts) for key, counts in tally.items()), key=repr)


def tallied(ledger: Ledger) -> list[tuple[Any, ...]]:
    return sorted(ledger.signature_tally(1, ledger.head()[0]), key=repr)


def kinds_read(ledger: Ledger) -> list[ev.Event]:
    return list(ledger.events(kinds=[ev.ITEM_SIGNED_OFF, *ev.SIGNATURE_KINDS]))


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.one_of(sign_off, older), min_size=1, max_size=25))
@example(
    [
        (
            0,
            AWKWARD[1],
            AWKWARD[3],
            AWKWARD[2],
            [{"item": AWKWARD[0], "meaning": "witnessed", "answer": AWKWARD[1]}],
            {"lang": "es"},
        ),
        (
            0,
            AWKWARD[1],
            AWKWARD[3],
            "p",
            [{"item": "a", "meaning": "performed", "answer": True}],
            {},
        ),
    ]
)
def test_the_tally_is_each_sign_off_read_item_by_item(
    tmp_path_factory: Any, steps: list[tuple[Any, ...]]
) -> None:
    new = []
    for step in steps:
        run = f"r-{step[0]}"
        if len(step) == 4:  # a signature of an older log, one per item
            _, kind, name, role = step
            data = {"phase": "p", "take": None, "item": "i", "name": name, "role": role}
            new.append(NewEvent(kind, {**data, "ok": True, "answer": 1, "reason": None}, run, name))
            continue
        _, name, role, phase, items, more = step
        data = {"name": name, "role": role, "phase": phase, "take": None, "items": items}
        new.append(NewEvent(ev.ITEM_SIGNED_OFF, {**data, "pin": None, **more}, run, name))
    path = Path(tmp_path_factory.mktemp("tally")) / "log.db"
    with Ledger.open(path) as ledger:
        ledger.append_many(new)
        assert tallied(ledger) == by_expanding(kinds_read(ledger))


def test_a_season_of_sign_offs_counts_as_read_item_by_item(tmp_path: Path) -> None:
    """The sign-offs the runner writes: a mix of performed, witnessed and read back in one
    sign-off, some not applicable, per take, in several runs."""
    new = []
    for n in range(60):
        run = f"r-{n % 7}"
        meanings = [MEANINGS[(n + k) % 4] for k in range(1 + n % 5)]
        items = [
            {"item": f"check-{k}", "meaning": m, "answer": None if m == "not-applicable" else k}
            for k, m in enumerate(meanings)
        ]
        name = ["Sam Ortiz", "Dana Reyes", "Lee Park"][n % 3]
        data = {
            "name": name,
            "role": ["armorer", "first_ad", "actor"][n % 3],
            "phase": "before-each-take",
            "take": 1 + n % 4,
            "items": items,
            "pin": "sign-off",
        }
        new.append(NewEvent(ev.ITEM_SIGNED_OFF, data, run, name))
    with Ledger.open(tmp_path / "log.db") as ledger:
        ledger.append_many(new)
        counted = tallied(ledger)
        assert counted == by_expanding(kinds_read(ledger))
    assert sum(row[4] for row in counted) > 100  # signatures counted, not nothing at all
