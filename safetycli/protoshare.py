"""The production's own protocols across its laptops: sent as events, installed as files.

A run records the sha256 of the exact YAML the crew saw, so a protocol must travel as its bytes,
never re-written: `sync` writes each of this laptop's own protocol files that no laptop of the
production has sent yet as one `protocol.published` event (its text, version and sha256) in this
laptop's log, which the push sends like any other; the pull brings the other laptops' into
`foreign.db`. Then, for each protocol id, the newest publication (highest `version`, then time,
then device) is the production's: where this laptop's file differs, the file is replaced with
that text (checked first, as `checklists validate` would; never a shipped id), so a run of it
records the same sha256 on every laptop. What the file held before is in the log already (it
was published before it was replaced), so nothing is lost.

Two laptops that changed one protocol apart without raising its version both published the same
version with different texts: the newest one by time is installed, as the order says, and the
pair is shown as an exception (`sync`, `status --central` and the central report).

Publishing asks for no PIN: it sends what this laptop already runs. What is installed is said by
`sync`, one line per protocol.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safetycli.events import PROTOCOL_PUBLISHED, Event, NewEvent

if TYPE_CHECKING:
    from safetycli.ledger import Ledger


@dataclass(frozen=True)
class Publication:
    protocol: str
    version: int
    sha256: str
    file: str
    text: str
    at: str
    device: str  # the laptop that sent it ("" for this laptop's own, before it is named)

    def order(self) -> tuple[int, str, str]:
        return (self.version, self.at, self.device)


def publication(event: Event, here: str) -> Publication:
    d = event.data
    return Publication(
        str(d["protocol"]),
        int(d["version"]),
        str(d["sha256"]),
        str(d["file"]),
        str(d["text"]),
        event.at,
        event.device or here,
    )


def publications(ledger: Ledger) -> list[Publication]:
    """Every publication this laptop knows: its own, and those it pulled (with its seal)."""
    here = ledger.device or ""
    out = [publication(e, here) for e in ledger.events(kinds=(PROTOCOL_PUBLISHED,))]
    foreign = ledger.foreign()
    if foreign is not None:
        seal = ledger.key.foreign_seal if ledger.key is not None else None
        out += [publication(e, here) for e in foreign.events((PROTOCOL_PUBLISHED,), seal)]
    return out


def to_publish(ledger: Ledger, checklists: Path) -> list[NewEvent]:
    """This laptop's own valid protocol files that no laptop of the production has sent yet."""
    from safetycli.catalog import load_catalog

    sent = {p.sha256 for p in publications(ledger)}
    out = []
    for protocol in load_catalog(checklists).protocols.values():
        source = protocol.origin
        if source.shipped or source.sha256 in sent:
            continue
        try:
            text = source.path.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the next sync tries again; validate names an unreadable file
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != source.sha256:
            continue  # changed while being read
        from safetycli.events import ProtocolPublished

        out.append(
            ProtocolPublished(
                protocol=protocol.id,
                version=int(protocol.version),
                sha256=source.sha256,
                file=source.path.name,
                text=text,
            ).new()
        )
    return out


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
            others = ", ".join(
                f"device {p.device} at {p.at} ({p.sha256[:12]})"
                for p in pubs[:-1]
                if p.sha256 != last.sha256
            )
            lines.append(
                f"protocol {protocol} version {version} was changed apart on {others} and on "
                f"device {last.device} at {last.at} ({last.sha256[:12]}): the latest is the "
                "production's; raise the version when changing a protocol"
            )
    return lines


def install(ledger: Ledger, checklists: Path) -> tuple[list[str], list[str]]:
    """Bring this laptop's protocol files to the production's newest: (what was installed,
    what was refused), one line each."""
    from safetycli.catalog import load_catalog
    from safetycli.filemodes import make_private_dir, write_private_text
    from safetycli.protocache import protocol_files, shipped_dir
    from safetycli.protocol import check_file

    catalog = load_catalog(checklists)
    shipped = {p.stem for p in protocol_files(shipped_dir())}
    shipped |= {pid for pid, p in catalog.protocols.items() if p.origin.shipped}
    done: list[str] = []
    refused: list[str] = []
    for pid, pub in sorted(newest(publications(ledger)).items()):
        have = catalog.protocols.get(pid)
        if pid in shipped or (have is not None and have.origin.sha256 == pub.sha256):
            continue
        if hashlib.sha256(pub.text.encode("utf-8")).hexdigest() != pub.sha256:
            refused.append(f"protocol {pid} from device {pub.device}: its text is not its sha256")
            continue
        target = have.origin.path if have is not None else checklists / _file_name(pub)
        if have is None and target.exists():  # that name holds another protocol here
            target = checklists / f"{pid}.yaml"
            if target.exists():
                refused.append(f"protocol {pid} was not installed: {target} holds another one")
                continue
        staged = target.with_name(f".{target.name}.pulled")
        try:
            make_private_dir(checklists)
            write_private_text(staged, pub.text)  # 0600, as every workspace file
            protocol, problems = check_file(staged, roles=_roles(checklists))
            if protocol is None or protocol.id != pid:
                why = problems[0].message if problems else "not the protocol it names"
                refused.append(
                    f"protocol {pid} v{pub.version} from device {pub.device} was not installed: "
                    f"{why}"
                )
                continue
            os.replace(staged, target)
        except OSError as err:
            refused.append(f"protocol {pid} was not installed in {target}: {err.strerror}")
            continue
        finally:
            staged.unlink(missing_ok=True)
        done.append(
            f"Protocol {pid} v{pub.version} ({pub.sha256[:12]}) from device {pub.device} is "
            f"now {target}"
        )
    return done, refused


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
