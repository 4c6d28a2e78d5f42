"""The production's own protocols across its laptops: sent as events, installed as files.

A run records the sha256 of the exact YAML the crew saw, so a protocol must travel as its bytes,
never re-written. A producer sends one with their PIN (`safetycli checklists publish ID`): a
`protocol.published` event (its text, version and sha256) written in this laptop's log in the
same transaction as the producer's `auth.ok`, as a roster change is; the push sends it like any
other event and the other laptops pull it into `foreign.db`. A publication counts only with that
approval (the `auth.ok` of someone who is a producer on this laptop's roster, right before it;
for a pulled one, sealed as it landed): a protocol edited on one laptop changes the production's
only when a producer says so.

Then, at each sync, for each protocol id the newest approved publication (highest `version`, then
time, then device) is the production's: where this laptop's file holds a text the production
published before (or none), it is replaced with the newest (checked first, as `checklists
validate` would; never a shipped id), so a run of it records the same sha256 on every laptop;
what the file held before is in a log already. A file changed here and not published is left as
it is, and `sync` says so, with the command that publishes it.

Two laptops that published one protocol apart without raising its version: the latest is
installed, as the order says, and the pair is shown as an exception (`sync`, `status`, `status
--central` and the central report).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from safetycli.errors import SafetyError
from safetycli.events import AUTH_OK, PROTOCOL_PUBLISHED, Event, NewEvent
from safetycli.i18n import _, language_name, ngettext

if TYPE_CHECKING:
    from safetycli.ledger import Ledger
    from safetycli.protocol import Protocol


@dataclass(frozen=True)
class Publication:
    protocol: str
    version: int
    sha256: str
    file: str
    text: str
    at: str
    device: str  # the laptop that sent it ("" for this laptop's own, before it is named)
    approved_by: str | None = None  # the producer whose `auth.ok` came with it
    # Its translation files (`translation.py`), sent with it: {lang: {"file", "sha256", "text"}}.
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    # The production's own roles it names, as the sending laptop defined them (sharedroles.py).
    roles: dict[str, str] = field(default_factory=dict)

    def order(self) -> tuple[int, str, str]:
        return (self.version, self.at, self.device)

    def ident(self) -> Ident:
        """What was sent: the protocol's text and each translation's, by their sha256, and the
        roles that went with it."""
        return (self.sha256, _shas(self.translations), _pairs(self.roles))


Ident = tuple[str, tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]]


def _pairs(roles: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(roles.items()))


def _shas(translations: dict[str, dict[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((lang, str(t.get("sha256"))) for lang, t in translations.items()))


def publication(event: Event, here: str, before: list[Event]) -> Publication:
    """The publication `event`, approved by the producer whose `auth.ok` is right before it
    (`before`: the events just before it in its device's chain; others it sent with it between)."""
    d = event.data
    return Publication(
        str(d["protocol"]),
        int(d["version"]),
        str(d["sha256"]),
        str(d["file"]),
        str(d["text"]),
        event.at,
        event.device or here,
        approver(before, str(d["protocol"])),
        _translations(d.get("translations")),
        _roles_sent(d.get("roles")),
    )


def _roles_sent(value: object) -> dict[str, str]:
    """The roles a publication carries, as far as they are well-formed (one sent by an older
    safetycli carries none); each is checked as config.toml's when it is taken (sharedroles)."""
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _translations(value: object) -> dict[str, dict[str, str]]:
    """The translations a publication carries, as far as they are well-formed (a sending laptop
    of an older safetycli sent none)."""
    if not isinstance(value, dict):
        return {}
    out: dict[str, dict[str, str]] = {}
    for lang, entry in value.items():
        if isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in _KEYS):
            out[str(lang)] = {k: str(entry[k]) for k in _KEYS}
    return out


_KEYS = ("file", "sha256", "text")


def approver(before: list[Event], protocol: str) -> str | None:
    """Who approved a publication of `protocol`: the producer's `auth.ok` that opens the unbroken
    run of publications it is in (one PIN sends several protocols at once), written to publish
    that very protocol, once; or None. An approval written for anything else (a join, a roster
    change) or spent on this protocol already approves nothing more."""
    between: set[str] = set()
    for e in reversed(before):
        if e.kind == PROTOCOL_PUBLISHED:
            between.add(str(e.data.get("protocol")))
            continue
        if e.kind != AUTH_OK or e.data.get("role") != "producer" or protocol in between:
            return None
        purpose = str(e.data.get("purpose", ""))
        named = purpose.removeprefix(PURPOSE).split(", ") if purpose.startswith(PURPOSE) else []
        return str(e.data.get("name")) if protocol in named else None
    return None


PURPOSE = "publish "
_WINDOW = 64  # protocols one PIN may send at once


def publications(ledger: Ledger) -> list[Publication]:
    """Every approved publication this laptop knows: its own, and those it pulled (with its
    seal), each approved by someone who is a producer on this laptop's roster."""
    from safetycli import crew

    here = ledger.device or ""
    out = [
        publication(e, here, ledger.window(e.seq, _WINDOW))
        for e in ledger.events(kinds=(PROTOCOL_PUBLISHED,))
    ]
    foreign = ledger.foreign()
    if foreign is not None:
        seal = ledger.key.foreign_seal if ledger.key is not None else None
        for e in foreign.events((PROTOCOL_PUBLISHED,), seal):
            assert e.device is not None
            before = [
                b
                for b in foreign.window(e.device, e.seq, _WINDOW)
                if seal is None or not foreign.unsealed(b.device, b.seq, seal)
            ]
            # Only the pulled kinds are here: a number missing before it ends the run.
            contiguous: list[Event] = []
            for b in reversed(before):
                if b.seq != (contiguous[-1].seq if contiguous else e.seq) - 1:
                    break
                contiguous.append(b)
            out.append(publication(e, here, list(reversed(contiguous))))
    producer: dict[str, bool] = {}
    for name in {p.approved_by for p in out if p.approved_by is not None}:
        try:
            producer[name] = crew.find(ledger, name).has_role("producer")
        except SafetyError:  # not on this laptop's roster (or it does not verify)
            producer[name] = False
    return [p for p in out if p.approved_by is not None and producer[p.approved_by]]


def unsent(ledger: Ledger, checklists: Path) -> list[NewEvent]:
    """This laptop's own valid protocol files whose text no producer has published yet."""
    from safetycli.catalog import load_catalog
    from safetycli.events import ProtocolPublished

    sent = {p.ident() for p in publications(ledger)}
    defined = _roles(checklists)
    out = []
    for protocol in load_catalog(checklists).protocols.values():
        source = protocol.origin
        if source.shipped:
            continue
        text = _text_of(source.path, source.sha256)
        if text is None:
            continue  # unreadable, or changed while read: `checklists validate` names it
        translations = _translation_files(protocol)
        # The production's own roles it names go with it: a laptop without them could not
        # load it (shipped roles are everyone's already).
        roles = {r: defined[r] for r in sorted(protocol.roles) if r in defined}
        if (source.sha256, _shas(translations), _pairs(roles)) in sent:
            continue
        out.append(
            ProtocolPublished(
                protocol=protocol.id,
                version=int(protocol.version),
                sha256=source.sha256,
                file=source.path.name,
                text=text,
                translations=translations or None,
                roles=roles or None,
            ).new()
        )
    return out


def _text_of(path: Path, sha256: str | None = None) -> str | None:
    """A file's exact text (None when unreadable, or when it is no longer `sha256`)."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if sha256 is not None and hashlib.sha256(text.encode("utf-8")).hexdigest() != sha256:
        return None
    return text


def _translation_files(protocol: Protocol) -> dict[str, dict[str, str]]:
    """The translation files beside a protocol that check against it (warnings allowed: words
    not yet translated are shown in the protocol's language, marked), as sent with it."""
    from safetycli import translation

    out: dict[str, dict[str, str]] = {}
    for lang, path in translation.files_for(protocol.origin.path):
        text = _text_of(path)
        if text is None:
            continue
        raw = text.encode("utf-8")
        if translation.check(path, protocol, lang, raw).translation is None:
            continue  # `checklists validate` names its problems
        out[lang] = {"file": path.name, "sha256": hashlib.sha256(raw).hexdigest(), "text": text}
    return out


def to_send(ledger: Ledger, checklists: Path, ids: list[str]) -> list[NewEvent]:
    """The publications a producer is asked to approve (`ids`, or every protocol of this
    laptop's own not yet sent); refused in one line, before any PIN, when there is none."""
    waiting = {e.data["protocol"]: e for e in unsent(ledger, checklists)}
    chosen = list(waiting) if not ids else ids
    missing = [i for i in chosen if i not in waiting]
    if missing or not chosen:
        named = ", ".join(missing) if missing else "none"
        raise SafetyError(
            f"nothing to publish ({named}): a workspace protocol whose text is not the "
            "production's yet (see `safetycli checklists list`)"
        )
    return [waiting[i] for i in chosen]


def publish(ledger: Ledger, events: list[NewEvent], approver: tuple[str, str]) -> None:
    """A producer sends them with their PIN: the `auth.ok` and the publications in one
    transaction (`approver` finds it right before them)."""
    from safetycli import crew

    name, pin = approver
    ids = ", ".join(str(e.data["protocol"]) for e in events)
    _approval, ok = crew.prove(ledger, name, pin, role="producer", purpose=f"{PURPOSE}{ids}")
    ledger.append_many([ok, *events])


def not_sent(ledger: Ledger, checklists: Path) -> list[str]:
    """One line for each protocol of this laptop's own that the production has no text of yet
    (a new one), or whose published text went without a role of the production's own it names
    (published by an older safetycli): `install` speaks of those changed here over a published
    one, and a role defined otherwise is a conflict (`role_conflicts`)."""
    known = publications(ledger)
    texts: dict[tuple[str, str], set[str]] = {}
    for p in known:
        texts.setdefault((p.protocol, p.sha256), set()).update(p.roles)
    lines = []
    for e in unsent(ledger, checklists):
        pid = str(e.data["protocol"])
        publish = f"`safetycli checklists publish {pid}`"
        if all(p.protocol != pid for p in known):
            lines.append(
                _(
                    "protocol {protocol} is this laptop's only: a producer sends it to the "
                    "production's other laptops with {command}"
                ).format(protocol=pid, command=publish)
            )
            continue
        sent = texts.get((pid, str(e.data["sha256"])))
        missing = sorted(set(e.data.get("roles") or {}) - sent) if sent is not None else []
        if missing:
            lines.append(
                ngettext(
                    "protocol {protocol} went to the production's other laptops without the "
                    "role {roles} it names: a producer sends it with it, {command}",
                    "protocol {protocol} went to the production's other laptops without the "
                    "roles {roles} it names: a producer sends them with it, {command}",
                    len(missing),
                ).format(protocol=pid, roles=", ".join(missing), command=publish)
            )
    return lines


def newest(known: Iterable[Publication]) -> dict[str, Publication]:
    """The production's protocol for each id: the highest version, then the latest, then device."""
    out: dict[str, Publication] = {}
    for p in known:
        if p.protocol not in out or p.order() > out[p.protocol].order():
            out[p.protocol] = p
    return out


def conflicts(known: Iterable[Publication]) -> list[str]:
    """One protocol changed on two laptops apart: one version, two texts, two devices."""
    seen: dict[tuple[str, int], list[Publication]] = {}
    for p in sorted(known, key=Publication.order):
        seen.setdefault((p.protocol, p.version), []).append(p)
    lines = []
    for (protocol, version), pubs in seen.items():
        texts = {p.sha256 for p in pubs}
        devices = {p.device for p in pubs}
        if len(texts) > 1 and len(devices) > 1:
            last = pubs[-1]
            on = _("device {device} at {at} ({sha})")
            others = ", ".join(
                on.format(device=p.device, at=p.at, sha=p.sha256[:12])
                for p in pubs[:-1]
                if p.sha256 != last.sha256
            )
            lines.append(
                _(
                    "protocol {protocol} version {version} was changed apart on {others} and on "
                    "{last}: the latest is the production's; raise the version when changing a "
                    "protocol"
                ).format(
                    protocol=protocol,
                    version=version,
                    others=others,
                    last=on.format(device=last.device, at=last.at, sha=last.sha256[:12]),
                )
            )
    return lines


def install(ledger: Ledger, checklists: Path) -> tuple[list[str], list[str]]:
    """Bring this laptop's protocol files to the production's newest: (what was installed,
    what was refused), one line each."""
    from safetycli.catalog import load_catalog
    from safetycli.filemodes import make_private_dir, write_private_text
    from safetycli.protocache import protocol_files, shipped_dir
    from safetycli.protocol import check_file

    shipped = {p.stem for p in protocol_files(shipped_dir())}
    done: list[str] = []
    refused: list[str] = []
    known = publications(ledger)
    # The roles first: the protocols that name them are checked against them below.
    refused += take_roles(checklists.parent, known, shipped)
    catalog = load_catalog(checklists)
    shipped |= {pid for pid, p in catalog.protocols.items() if p.origin.shipped}
    texts = {p.sha256 for p in known}
    for pid, pub in sorted(newest(known).items()):
        have = catalog.protocols.get(pid)
        if pid in shipped:
            continue
        if have is not None and have.origin.sha256 == pub.sha256:
            _install_translations(pub, have, have.origin.path, known, done, refused)
            continue
        if have is not None and have.origin.sha256 not in texts:
            refused.append(
                _(
                    "protocol {protocol} was changed here and not published, so the production's "
                    "(v{version} from device {device}) was not installed: a producer publishes "
                    "this one (safetycli checklists publish {protocol}), or delete {path} to "
                    "take the production's"
                ).format(
                    protocol=pid, version=pub.version, device=pub.device, path=have.origin.path
                )
            )
            continue
        if hashlib.sha256(pub.text.encode("utf-8")).hexdigest() != pub.sha256:
            refused.append(
                _("protocol {protocol} from device {device}: its text is not its sha256").format(
                    protocol=pid, device=pub.device
                )
            )
            continue
        target = have.origin.path if have is not None else checklists / _file_name(pub)
        if have is None and target.exists():  # that name holds another protocol here
            target = checklists / f"{pid}.yaml"
            if target.exists():
                refused.append(
                    _("protocol {protocol} was not installed: {path} holds another one").format(
                        protocol=pid, path=target
                    )
                )
                continue
        staged = target.with_name(f".{target.name}.pulled")
        try:
            make_private_dir(checklists)
            write_private_text(staged, pub.text)  # 0600, as every workspace file
            protocol, problems = check_file(staged, roles=_roles(checklists))
            if protocol is None or protocol.id != pid:
                why = problems[0].message if problems else _("not the protocol it names")
                refused.append(
                    _(
                        "protocol {protocol} v{version} from device {device} was not installed: "
                        "{problem}"
                    ).format(protocol=pid, version=pub.version, device=pub.device, problem=why)
                )
                continue
            os.replace(staged, target)
        except OSError as err:
            refused.append(
                _("protocol {protocol} was not installed in {path}: {problem}").format(
                    protocol=pid, path=target, problem=err.strerror
                )
            )
            continue
        finally:
            staged.unlink(missing_ok=True)
        done.append(
            _("Protocol {protocol} v{version} ({sha}) from device {device} is now {path}").format(
                protocol=pid,
                version=pub.version,
                sha=pub.sha256[:12],
                device=pub.device,
                path=target,
            )
        )
        _install_translations(pub, protocol, target, known, done, refused)
    return done, refused


def take_roles(root: Path, known: list[Publication], shipped: set[str]) -> list[str]:
    """Write the roles of the production's protocols into the workspace's derived file
    (sharedroles.py); one line for each role refused, or for the file not written."""
    from safetycli import sharedroles

    production = [p for pid, p in newest(known).items() if pid not in shipped]
    received, _conflicts, refused = sharedroles.fold(production)
    try:
        sharedroles.write(root, received)
    except OSError as err:
        refused.append(
            _("the production's roles were not written to {path}: {problem}").format(
                path=sharedroles.path_of(root), problem=err.strerror
            )
        )
    return refused


def role_conflicts(known: Iterable[Publication], own: dict[str, str] | None = None) -> list[str]:
    """Roles the production's protocols define apart on two laptops, and (`own`: this laptop's
    config.toml's roles) roles this laptop defines otherwise than the production."""
    from safetycli import sharedroles

    received, conflicts, _refused = sharedroles.fold(newest(known).values())
    if own is not None:
        conflicts += sharedroles.against_config(received, own)
    return conflicts


def _install_translations(
    pub: Publication,
    protocol: Protocol,
    main: Path,
    known: list[Publication],
    done: list[str],
    refused: list[str],
) -> None:
    """The translation files sent with the production's protocol, written beside this laptop's
    file of it (named after that file, as `translation.files_for` finds them), each checked
    against it first; one changed here and not published is never written over."""
    from safetycli import translation
    from safetycli.filemodes import write_private_text

    here = dict(translation.files_for(main))
    for lang, sent in sorted(pub.translations.items()):
        target = here.get(lang, main.with_name(f"{main.stem}.{lang}.yaml"))
        text = _text_of(target) if target.exists() else None
        mine = hashlib.sha256(text.encode("utf-8")).hexdigest() if text is not None else None
        if mine == sent["sha256"]:
            continue
        published = {
            p.translations[lang]["sha256"]
            for p in known
            if p.protocol == pub.protocol and lang in p.translations
        }
        said = {
            "language": language_name(lang),
            "protocol": pub.protocol,
            "device": pub.device,
            "path": target,
        }
        if target.exists() and mine not in published:
            refused.append(
                _(
                    "the {language} translation of protocol {protocol} was changed here and not "
                    "published, so the production's was not installed: a producer publishes it "
                    "(safetycli checklists publish {protocol}), or delete {path} to take the "
                    "production's"
                ).format(**said)
            )
            continue
        raw = sent["text"].encode("utf-8")
        if hashlib.sha256(raw).hexdigest() != sent["sha256"]:
            refused.append(
                _(
                    "the {language} translation of protocol {protocol} from device {device}: its "
                    "text is not its sha256"
                ).format(**said)
            )
            continue
        if translation.check(target, protocol, lang, raw).translation is None:
            refused.append(
                _(
                    "the {language} translation of protocol {protocol} from device {device} was "
                    "not installed: it does not check"
                ).format(**said)
            )
            continue
        staged = target.with_name(f".{target.name}.pulled")
        try:
            write_private_text(staged, sent["text"])
            os.replace(staged, target)
        except OSError as err:
            refused.append(
                _(
                    "the {language} translation of protocol {protocol} was not installed in "
                    "{path}: {problem}"
                ).format(problem=err.strerror, **said)
            )
            continue
        finally:
            staged.unlink(missing_ok=True)
        done.append(
            _("The {language} translation of protocol {protocol} is now {path}").format(**said)
        )


def _file_name(pub: Publication) -> str:
    """The name the sending laptop gave it, when it is a plain file name; else the id's."""
    name = Path(pub.file).name
    if name == pub.file and name.endswith((".yaml", ".yml")) and not name.startswith("."):
        return name
    return f"{pub.protocol}.yaml"


def _roles(checklists: Path) -> dict[str, str]:
    """The production's own roles, as `checklists validate` reads them for this workspace."""
    from safetycli.errors import SafetyError
    from safetycli.workspace import Workspace

    try:
        return Workspace(checklists.parent).roles()
    except (SafetyError, OSError):
        return {}
