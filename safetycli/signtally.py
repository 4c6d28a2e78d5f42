"""Who signed how much in each run, counted from the sign-offs' stored text without decoding it.

A period's report counts every signature of every run (`Ledger.signature_tally`). A sign-off
(`item.signed-off`) stands for one signature per item it lists with a signing meaning
(`events.expand`), and a season has some 200,000 of them: decoding each (SQLite's `json_each`,
or `json.loads`) was a third of a month's report. The log stores each event's data as canonical
JSON (`ledger.canonical_json`: keys sorted, no spaces, the text the chain hashes), and in that text
a sign-off's signatures can be counted and its signer read by plain substring search, because:

- a `"` inside a text is always written `\\"`, so a quote right after a letter ends a string:
  in `"meaning":"performed"` the quote after `meaning`, followed by a colon, ends a key ending in
  `meaning` (our keys hold no quotes: the key `meaning`), and the one after `performed` ends its
  value, which the colon's quote began: never text inside a name, a note or an answer;
- the only `meaning` keys of a sign-off are its items' (`declared.ItemSignedOff`: the top level is
  `fallback`, `items`, `lang`, `name`, `phase`, `pin`, `role`, `take`, `text_sha256`; an item is
  `answer`, `item`, `meaning`, and an answer is a boolean, a whole number or a text, never an
  object: `runner.check_answer`), so the count of each pattern is the count of that meaning;
- keys are sorted, so at the top level `name` is followed by `phase` and `role` by `take` (both
  always present), and the text between is the value, as JSON; and everything after `name` is a
  flat value, so its last `,"name":` is the top level's, whatever an item may hold.

A row where the markers are not all found, or whose name or role does not read back as a text, is
decoded and counted item by item instead, as `events.expand` reads it: the answer never depends on
the shortcut (tests/test_signtally.py compares both on awkward text).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from safetycli.events import SIGNED_OFF_AS

_PERFORMED = '"meaning":"performed"'
_WITNESSED = '"meaning":"witnessed"'
_READ_BACK = '"meaning":"read-back"'
_NAME, _PHASE, _ROLE, _TAKE = ',"name":', ',"phase":', ',"role":', ',"take":'

# (run, name, role) -> [first seq, signatures, performed]
Tally = dict[tuple[str, Any, Any], list[int]]


class SignOffReader:
    """Reads sign-offs' stored text one at a time (`read`), remembering each signer's text:
    a season has a few hundred signers and roles, and 200,000 sign-offs."""

    def __init__(self) -> None:
        # The signer's text (`"name":...,"role":...`) -> (name, role); None when it is not as
        # expected, and each sign-off with it then decoded.
        self._signers: dict[str, tuple[str, str] | None] = {}

    def read(self, text: str) -> tuple[Any, Any, int, int] | None:
        """(name, role, signatures, performed) of one sign-off's data text, as `expand` reads
        it; None when it stands for no signature (every item not applicable)."""
        performed = text.count(_PERFORMED)
        count = performed + text.count(_WITNESSED) + text.count(_READ_BACK)
        if not count:
            return None
        # `"name":...,"role":...`: the signer, as the top level's keys say it. Its last
        # `name` key: only flat values (texts, numbers, null) follow it.
        at_name = text.rfind(_NAME)
        at_phase = text.find(_PHASE, at_name)
        at_role = text.find(_ROLE, at_phase)
        at_take = text.find(_TAKE, at_role)
        part = ""
        if 0 <= at_name < at_phase < at_role < at_take:
            part = text[at_name + 1 : at_phase] + text[at_role:at_take]
        signers = self._signers
        if part not in signers:
            signers[part] = _signer(part)
        who = signers[part]
        if who is None:
            decoded = _decoded(text)
            return decoded if decoded[2] else None
        return who[0], who[1], count, performed


def add_signoffs(tally: Tally, rows: Iterable[tuple[str, int, str]]) -> None:
    """Count `(run, seq, data text)` of sign-offs, in log order, into `tally`."""
    read = SignOffReader().read
    for run, seq, text in rows:
        signed = read(text)
        if signed is None:
            continue
        key = (run, signed[0], signed[1])
        got = tally.get(key)
        if got is None:
            tally[key] = [seq, signed[2], signed[3]]
        else:
            if seq < got[0]:
                got[0] = seq
            got[1] += signed[2]
            got[2] += signed[3]


def add_signature(tally: Tally, run: str, seq: int, name: Any, role: Any, performed: bool) -> None:
    """Count one per-item signature of an older log (`item.performed` and the like)."""
    _add(tally, (run, name, role), seq, 1, int(performed))


def rows(tally: Tally) -> Iterator[tuple[str, Any, Any, int, int, int]]:
    """(run, name, role, first seq, signatures, performed), as `Ledger.signature_tally` yields."""
    for (run, name, role), (seq, count, performed) in tally.items():
        yield run, name, role, seq, count, performed


def _signer(part: str) -> tuple[str, str] | None:
    """The name and role in `part` (`"name":...,"role":...`), or None when it is not exactly
    that with both a text."""
    if not part.startswith('"name":'):
        return None
    try:
        data = json.loads("{" + part + "}")
    except ValueError:
        return None
    if not isinstance(data, dict) or set(data) != {"name", "role"}:
        return None
    name, role = data["name"], data["role"]
    if isinstance(name, str) and isinstance(role, str):
        return name, role
    return None


def _decoded(text: str) -> tuple[Any, Any, int, int]:
    """(name, role, signatures, performed) of a sign-off read item by item, as `expand` does."""
    data = json.loads(text)
    if not isinstance(data, dict):
        return None, None, 0, 0
    items = data.get("items")
    entries = [e for e in items if isinstance(e, dict)] if isinstance(items, list) else []
    meanings = [entry.get("meaning") for entry in entries]
    signed = sum(1 for m in meanings if m in SIGNED_OFF_AS)
    return data.get("name"), data.get("role"), signed, meanings.count("performed")


def _add(tally: Tally, key: tuple[str, Any, Any], seq: int, count: int, performed: int) -> None:
    got = tally.get(key)
    if got is None:
        tally[key] = [seq, count, performed]
    else:
        if seq < got[0]:
            got[0] = seq
        got[1] += count
        got[2] += performed
