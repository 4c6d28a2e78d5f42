"""The laptop's side of `safetycli sync`: push what the server lacks, pull what this laptop needs.

Push: the server's head for this device decides what to send, so a sync cut anywhere simply
starts again from where the server got to, and sending twice stores once. It sends from the
server's head itself (one event of overlap): if this laptop's event at that number is not the one
the server holds, its log was rewritten or another laptop uses its device id, and the server
raises the alarm rather than taking a second history.

Pull: for each other device, its events of `foreign.PULLED_KINDS` after what this laptop already
took, and its PIN hashes, into `foreign.db` (never into this laptop's chain), each row sealed with
this laptop's device key as it lands. This laptop's own PIN hashes go up before its events.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from safetycli import devicekey
from safetycli.central import CentralAlarm
from safetycli.central import foreign as foreign_log
from safetycli.central.schema import REFUSING_ALARMS
from safetycli.central.store import Alarm, CentralStore, Row
from safetycli.errors import SafetyError

if TYPE_CHECKING:
    from safetycli.ledger import Ledger

BATCH = 5_000


@dataclass
class SyncResult:
    device: str
    pushed: int = 0
    already: int = 0  # events the server held before this sync (a retry, or nothing new)
    server_head: tuple[int, str] = (0, "")
    pulled: int = 0
    devices: int = 0  # other devices the pull looked at
    alarms: list[Alarm] = field(default_factory=list)
    unit: int | None = None  # this device's unit number on the server: its run ids' prefix
    installed: list[str] = field(default_factory=list)  # protocols brought up to the production's
    refused: list[str] = field(default_factory=list)  # pulled protocols that were not installed
    conflicts: list[str] = field(default_factory=list)  # between laptops: shown, never resolved
    approved: bool = False  # the server let this device in: it pushed (or had nothing to push)
    # This laptop's open stop-work the server kept beside its alarm, unverified (sent, new there)
    unverified: tuple[int, int | None] | None = None
    pulled_unverified: int = 0  # other laptops' unverified stop-work events new here

    def lines(self, zone: str = "UTC") -> list[str]:
        """What `sync` prints, in the crew's language (what other laptops wrote is data); the
        times of the conflicts in the production's `zone`."""
        from safetycli.i18n import _
        from safetycli.render.fmt import local_times

        seq, digest = self.server_head
        # Translators: the marks of sync's lines; the same words `status` prints.
        warning, exception = _("warning: {line}"), _("EXCEPTION") + ": {line}"
        return [
            _(
                "Pushed {pushed} event(s) of device {device}; the server holds its chain to event "
                "{seq} ({digest})."
            ).format(pushed=self.pushed, device=self.device, seq=seq, digest=digest[:16]),
            _("Pulled {pulled} event(s) from {devices} other device(s).").format(
                pulled=self.pulled, devices=self.devices
            ),
            *self._unverified_lines(),
            *self.installed,
            *(warning.format(line=line) for line in self.refused),
            *(exception.format(line=local_times(line, zone)) for line in self.conflicts),
        ]

    def _unverified_lines(self) -> list[str]:
        from safetycli.i18n import _, ngettext

        out = []
        if self.unverified is not None:
            sent, new = self.unverified
            if not sent:
                out.append(_("This laptop has no open stop-work to send."))
            elif new is None:
                out.append(
                    ngettext(
                        "warning: this laptop's {sent} open stop-work event was not taken: the "
                        "server records no alarm that refused it; tell the producer, and stop "
                        "work on the other laptops by hand (`safetycli hold --scene ...`).",
                        "warning: this laptop's {sent} open stop-work events were not taken: the "
                        "server records no alarm that refused it; tell the producer, and stop "
                        "work on the other laptops by hand (`safetycli hold --scene ...`).",
                        sent,
                    ).format(sent=sent)
                )
            else:
                out.append(
                    ngettext(
                        "Sent this laptop's {sent} open stop-work event all the same: the server "
                        "keeps those not in its record apart as unverified ({new} new this "
                        "time), and every other laptop stops on them until a producer clears "
                        "them there.",
                        "Sent this laptop's {sent} open stop-work events all the same: the "
                        "server keeps those not in its record apart as unverified ({new} new "
                        "this time), and every other laptop stops on them until a producer "
                        "clears them there.",
                        sent,
                    ).format(sent=sent, new=new)
                )
        if self.pulled_unverified:
            out.append(
                ngettext(
                    "HOLD: pulled {n} unverified stop-work event of laptops whose sync the "
                    "server refused: it stops work here, see `safetycli status`.",
                    "HOLD: pulled {n} unverified stop-work events of laptops whose sync the "
                    "server refused: they stop work here, see `safetycli status`.",
                    self.pulled_unverified,
                ).format(n=self.pulled_unverified)
            )
        return out


def push(
    ledger: Ledger,
    store: CentralStore,
    *,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    approved_by: str | None = None,
    join_token: str | None = None,
) -> SyncResult:
    batch = batch or BATCH
    device, key = ledger.device, ledger.key
    if device is None or key is None:
        raise SafetyError(
            ledger.keyless
            or "this log has no device key yet: run any command that writes (or `safetycli "
            "verify`), then sync"
        )
    result = SyncResult(device)
    production = _production(ledger)
    alarm = store.register(device, key.central_key, key.key_id, production, join_token=join_token)
    if alarm is not None:
        result.alarms.append(alarm)
        return result
    _approved(store, device, approved_by)
    result.approved = True
    result.unit = store.unit(device)
    # The PIN hashes before the events that name them (as credentials.py orders the two files):
    # a laptop that pulls the events in between finds every hash they select.
    store.put_credentials(device, _roster(ledger, "own_credentials") or [])
    head_seq, head_hash = store.head(device)
    local_seq, _ = ledger.head()
    result.server_head = (head_seq, head_hash)
    if head_seq > local_seq:
        # The server holds more of this device than the laptop: the log went back (restored from
        # an old copy?) or another laptop uses this device id. Never pushed over. Its last event
        # goes to the server all the same, which holds that number: a different one there is
        # recorded as an alarm (equivocation) on the server, where the producer's `verify
        # --central` and reports see it, not only on this laptop's screen.
        if local_seq > 0:
            for stored in ledger.stored_rows(local_seq - 1, 1):
                rows, _unsealed = _for_the_server(ledger, stored[:1])
                ingested = store.ingest(device, rows)
                if ingested.alarm is not None:
                    result.alarms.append(ingested.alarm)
                    return result
                break
        result.alarms.append(
            Alarm(
                device,
                local_seq + 1,
                "fork",
                f"the server holds this device's chain to event {head_seq}, but this laptop's "
                f"log ends at event {local_seq}: it went back, or another laptop uses its id",
            )
        )
        return result
    total = local_seq - max(head_seq - 1, 0)
    done = 0
    if progress:
        progress(0, total)
    for stored in ledger.stored_rows(max(head_seq - 1, 0), batch):
        rows, unsealed = _for_the_server(ledger, stored)
        ingested = store.ingest(device, rows)
        result.pushed += ingested.stored
        result.already += ingested.already
        result.server_head = (ingested.head_seq, ingested.head_hash)
        done += len(rows)
        if progress:
            progress(done, total)
        if ingested.alarm is not None:
            result.alarms.append(ingested.alarm)
        elif unsealed is not None:
            result.alarms.append(unsealed)
        if result.alarms:
            break
    return result


def _approved(store: CentralStore, device: str, producer: str | None) -> None:
    """Go on only as a device the server has approved; a producer named (their PIN checked by
    the caller) approves the server's first laptop."""
    from safetycli.central import approval

    if store.approved(device) is not None:
        return
    if producer is not None:
        refused = store.approve_first(device, producer)
        if refused is not None:
            from safetycli.i18n import _

            # Translators: {refused} says why (the server already has approved laptops).
            said = _(
                "{refused}, so this one is approved from one of them: a producer runs "
                "`safetycli join approve-device {device}` there, then sync again here"
            )
            raise approval.WaitingForApproval(device, said.format(refused=refused, device=device))
        return
    raise approval.WaitingForApproval(device, approval.waiting_line(device))


def _for_the_server(
    ledger: Ledger, stored: list[tuple[Any, ...]]
) -> tuple[list[Row], Alarm | None]:
    """The rows as the server takes them: each MAC under the device's central key instead of
    the laptop's own, made only for an event whose own MAC holds (an event added by someone
    with the log file alone is never vouched for); the rows up to the first that does not, and
    the alarm it raises."""
    key, keyed_at, device = ledger.key, ledger.keyed_at, ledger.device
    assert key is not None and device is not None
    central = key.central_key
    rows: list[Row] = []
    for seq, at, kind, run, person, data, prev, digest, mac in stored:
        mac_c = None
        if keyed_at is not None and seq >= keyed_at:
            if mac is None or not hmac.compare_digest(mac, key.mac(seq, digest)):
                return rows, Alarm(
                    device,
                    seq,
                    "unsealed",
                    "this laptop's own event has no valid device MAC (added or rewritten by "
                    "someone with the log file alone): run `safetycli verify`",
                )
            mac_c = devicekey.mac_of(central, device, seq, digest)
        rows.append((seq, at, kind, run, person, data, prev, digest, mac_c))
    return rows, None


def pull(ledger: Ledger, store: CentralStore, result: SyncResult) -> None:
    """Other devices' events this laptop needs, into `foreign.db` beside its log."""
    local = _foreign_of(ledger)
    if result.unit is not None:
        local.set_unit(result.unit)
    if result.approved:
        local.set_waiting(None)
    cursors = {device: seq for device, (seq, _) in local.heads().items()}
    pulled = store.pull(
        result.device, cursors, foreign_log.PULLED_KINDS, shared=foreign_log.ROSTER_PULLED
    )
    for other in pulled:
        result.devices += 1
        count, refused = local.add(
            other.device,
            other.head_seq,
            other.head_hash,
            other.rows,
            other.credentials,
            seal=ledger.key.foreign_seal if ledger.key is not None else None,
        )
        result.pulled += count
        if refused is not None:
            result.alarms.append(Alarm(other.device, None, "pull", refused))
    result.pulled_unverified = local.add_unverified(
        store.unverified(result.device),
        seal=ledger.key.foreign_seal if ledger.key is not None else None,
    )


def open_stop_rows(ledger: Ledger) -> list[Row]:
    """This laptop's own stop-work still open (as its own log and what it pulled say): each
    stop-work on a scene, each held run's open hold with the run's start (which scene it stops),
    each open incident of a stopping kind (an advisor's halt among them); as the server takes
    them (MACs under the central key, made only for rows whose own MAC holds)."""
    from safetycli import production

    state = production.load(ledger)
    seqs = {h.seq for h in state.open_scene_holds() if h.device is None}
    seqs |= {i.seq for i in state.incidents.stopping() if i.device is None}
    held = production.held_runs(ledger)
    for start in ledger.starts_of(held):
        hold = held[start.run].open_hold
        if hold is not None:
            seqs |= {start.seq, hold.seq}
    rows: list[Row] = []
    for seq in sorted(seqs):
        for stored in ledger.stored_rows(seq - 1, 1):
            made, _unsealed = _for_the_server(ledger, stored[:1])
            rows += [r for r in made if r[8] is not None]
            break
    return rows


def _foreign_of(ledger: Ledger) -> foreign_log.ForeignLog:
    """The laptop's `foreign.db`, made at its first sync."""
    local = ledger.foreign()
    if local is None:
        local = foreign_log.ForeignLog.open(foreign_log.path_of(ledger.path))
        ledger._foreign = local  # the same open file serves this process's reads
    return local


def sync(
    ledger: Ledger,
    url: str,
    *,
    batch: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    approved_by: str | None = None,
    join_token: str | None = None,
) -> SyncResult:
    """Push, then pull. Raises CentralUnreachable (exit 2) when the server cannot be reached or
    the connection is lost; alarms come back in the result (the caller exits 1). A device the
    server has not approved pushes nothing (one line saying what to do, exit 2): `approved_by`,
    a producer whose PIN the caller checked, approves the server's first laptop; `join_token`
    shows the approval of this laptop's join."""
    from safetycli import protoshare
    from safetycli.central.approval import WaitingForApproval
    from safetycli.ledger import now_utc

    checklists = ledger.path.parent / "checklists"
    with CentralStore.connect(url) as store, store.talking():
        store.migrate()
        try:
            result = push(
                ledger,
                store,
                batch=batch,
                progress=progress,
                approved_by=approved_by,
                join_token=join_token,
            )
        except WaitingForApproval:
            # Noted on the laptop: its `status` says so, offline, until a sync gets in.
            _foreign_of(ledger).set_waiting(now_utc())
            raise
        if any(a.what in REFUSING_ALARMS for a in result.alarms):
            # Refused as a record, this laptop's stop-work must still stop the production.
            try:
                rows = open_stop_rows(ledger)
            except SafetyError as err:  # the alarm must still be said: this goes beside it
                from safetycli.i18n import _

                result.refused.append(
                    _("this laptop's stop-work was not sent: {problem}").format(problem=err.message)
                )
            else:
                result.unverified = (len(rows), store.send_unverified(result.device, rows))
        pull(ledger, store, result)
    if not result.alarms:
        from safetycli.central.conflicts import on_laptop

        result.installed, result.refused = protoshare.install(ledger, checklists)
        result.refused += protoshare.not_sent(ledger, checklists)
        result.conflicts = on_laptop(ledger)
    return result


def _roster(ledger: Ledger, what: str) -> Any:
    """A roster question asked at sync; None when the roster cannot be read or does not verify
    (its commands refuse it and `verify` names the event; the push raises the alarm for an altered
    log, and stop-work still travels both ways)."""
    from safetycli import crew

    try:
        return getattr(crew, what)(ledger)
    except SafetyError:
        return None


def alarm_error(result: SyncResult) -> CentralAlarm:
    first = result.alarms[0]
    more = f" (and {len(result.alarms) - 1} more)" if len(result.alarms) > 1 else ""
    return CentralAlarm(
        f"ALARM: the central server refused {first.line()}{more}; nothing of it was merged. "
        "Keep this laptop's workspace as it is (evidence) and tell the producer"
    )


def _production(ledger: Ledger) -> str | None:
    from safetycli.events import WORKSPACE_CREATED

    created = ledger.latest(kinds=(WORKSPACE_CREATED,), limit=1)
    return str(created[0].data.get("production")) if created else None
