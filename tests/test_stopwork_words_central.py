"""What `sync` says in the crew's language: that a refused laptop's stop-work went all the same,
that another laptop pulled it, and the production's protocols installed or not taken; and the
conflicts between laptops with their times in the production's zone, as `status` shows times,
while the JSON keeps the log's UTC.

Against the real throwaway PostgreSQL (tests/pgserver.py), with real workspaces made by the CLI,
as tests/test_central_forkstop.py does.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from tests.test_central import MINIMAL, Laptop, device_of, joined, on, publish, sync
from tests.test_central_forkstop import forked
from tests.walk_helpers import laptops, ok

pytestmark = pytest.mark.slow

ZONE = "America/Denver"
LOGGED = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z")

SAYS = {
    "en": {
        "sent": "Sent this laptop's 1 open stop-work event all the same: the server keeps those "
        "not in its record apart as unverified (1 new this time)",
        "pulled": "HOLD: pulled 1 unverified stop-work event of laptops whose sync the server "
        "refused: it stops work here, see `safetycli status`.",
        "only": "warning: protocol minimal is this laptop's only: a producer sends it to the "
        "production's other laptops with `safetycli checklists publish minimal`",
        "installed": "Protocol minimal v2 ({sha}) from device {device} is now {path}",
        "kept": "warning: protocol minimal was changed here and not published, so the "
        "production's (v3 from device {device}) was not installed",
        "apart": "EXCEPTION: protocol minimal version 3 was changed apart on device {first} at "
        "{at} (",
    },
    "es": {
        "sent": "Enviado de todos modos 1 evento de alto al trabajo abierto de este portátil: el "
        "servidor guarda aparte, sin verificar, los que no están en su registro (1 nuevos esta "
        "vez)",
        "pulled": "ALTO: recibido 1 evento de alto al trabajo sin verificar de portátiles cuya "
        "sincronización rechazó el servidor: detiene el trabajo aquí, vea `safetycli status`.",
        "only": "aviso: el protocolo minimal solo está en este portátil: un productor lo envía a "
        "los demás portátiles de la producción con `safetycli checklists publish minimal`",
        "installed": "El protocolo minimal v2 ({sha}) del dispositivo {device} está ahora en "
        "{path}",
        "kept": "aviso: el protocolo minimal se cambió aquí y no se publicó, así que el de la "
        "producción (v3 del dispositivo {device}) no se instaló",
        "apart": "EXCEPCIÓN: el protocolo minimal versión 3 se cambió por separado en el "
        "dispositivo {first} a las {at} (",
    },
}


@pytest.fixture
def laptop(tmp_path: Path, cli: CliRunner, cheap_scrypt: None) -> Laptop:
    """Laptops of the production in Denver."""
    return laptops(tmp_path, cli, ZONE)


def in_denver(logged: str) -> str:
    """A logged UTC time as the set board shows it in Denver (the same rule, worked out here
    with the standard library)."""
    here = datetime.fromisoformat(logged.replace("Z", "+00:00")).astimezone(ZoneInfo(ZONE))
    return f"{here:%Y-%m-%d %H:%M} {ZONE}"


@pytest.mark.parametrize("lang", ["en", "es"])
def test_sync_says_a_refused_laptops_stop_work_went_and_was_pulled_in_the_crews_language(
    cli: CliRunner,
    central: str,
    laptop: Laptop,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    lang: str,
) -> None:
    a, b = laptop("a"), laptop("b")
    for ws in (a, b, a):
        sync(cli, ws, central)
    forked(cli, a, central, tmp_path)
    ok(cli, ["hold", "--home", str(a), "--scene", "12A", "--reason", "smoke", "--by", "A Visitor"])
    monkeypatch.setenv("SAFETYCLI_LANG", lang)
    refused = sync(cli, a, central, expect=1)
    assert SAYS[lang]["sent"] in refused.stdout
    said = sync(cli, b, central).stdout
    assert SAYS[lang]["pulled"] in said.splitlines()
    on(b, monkeypatch)
    assert device_of(a) in ok(cli, ["status"]).stdout


@pytest.mark.parametrize("lang", ["en", "es"])
def test_sync_says_the_productions_protocols_and_their_conflicts_in_the_crews_language_and_zone(
    cli: CliRunner,
    central: str,
    laptop: Laptop,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    lang: str,
) -> None:
    import hashlib

    says = SAYS[lang]
    monkeypatch.setenv("SAFETYCLI_LANG", lang)
    a = laptop("a")
    (a / "checklists" / "minimal.yaml").write_bytes(MINIMAL.read_bytes())
    assert says["only"] in sync(cli, a, central).stdout.splitlines()
    assert publish(cli, a).exit_code == 0
    sync(cli, a, central)
    b = joined(cli, tmp_path / "b", central, a)
    config = b / "config.toml"
    kept = [ln for ln in config.read_text().splitlines() if not ln.startswith("timezone")]
    config.write_text("\n".join([*kept, f'timezone = "{ZONE}"', ""]))

    # A new version published on A is installed on B at B's sync, and sync says where.
    v2 = MINIMAL.read_text().replace("version: 1", "version: 2").replace("Ready", "Set")
    (a / "checklists" / "minimal.yaml").write_text(v2)
    assert publish(cli, a).exit_code == 0
    sync(cli, a, central)
    sha = hashlib.sha256(v2.encode()).hexdigest()[:12]
    path = b / "checklists" / "minimal.yaml"
    installed = says["installed"].format(sha=sha, device=device_of(a), path=path)
    assert installed in sync(cli, b, central).stdout.splitlines()

    # Changed on B and not published: never written over, and sync says so.
    (b / "checklists" / "minimal.yaml").write_text(v2.replace("version: 2", "version: 3"))
    (a / "checklists" / "minimal.yaml").write_text(v2.replace("version: 2", "version: 3") + "\n")
    assert publish(cli, a).exit_code == 0
    sync(cli, a, central)
    said = sync(cli, b, central).stdout
    assert says["kept"].format(device=device_of(a)) in said

    # Published on B too, the same version: a conflict between laptops, its times in Denver.
    assert publish(cli, b).exit_code == 0
    said = sync(cli, b, central).stdout
    on(b, monkeypatch)
    (logged,) = json.loads(ok(cli, ["status", "--format", "json"]).stdout)["exceptions"]
    first, *_ = LOGGED.findall(logged)  # JSON keeps the log's UTC times, as it always did
    line = says["apart"].format(first=device_of(a), at=in_denver(first))
    (shown,) = [s for s in said.splitlines() if s.startswith(line)]
    assert not LOGGED.search(shown) and shown.count(f" {ZONE} (") == 2
    status = ok(cli, ["status"]).stdout
    assert [s for s in status.splitlines() if s.startswith(line)] == [shown]
    # The production's view from the server says it in the reader's zone too.
    central_view = ok(cli, ["status", "--central", central]).stdout
    assert any(s.startswith(line) for s in central_view.splitlines()), central_view
