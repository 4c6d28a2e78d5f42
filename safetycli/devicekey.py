"""The device key: a secret the workspace folder does not hold, so `log.db` alone cannot be forged.

The hash chain proves that nothing in the log changed after it was written, but anyone who can
write `log.db` can also append events with a valid chain: a new armorer, an unlock, a PIN of
their choosing. So each workspace gets a device key, kept outside the workspace folder (in the
user's config folder, 0600 in a 0700 folder), and every event written with it carries a MAC
(HMAC-SHA256 of the device id, the event's number and its chain hash). `verify` recomputes them:
an event appended by someone who has only the log file has no valid MAC, and says so.

The same file holds the production secret, a pepper mixed into every PIN hash (crew.py): a copy
of `credentials.db` then no longer gives up 4-digit PINs to an offline guess, because the guess
needs the pepper too. Neither secret is ever written to the log: the log names the device and a
key id (a MAC of a fixed string), enough to tell "wrong key" from "forged event".

HMAC rather than a signature: stdlib only, about a microsecond per event, so a sign-off stays well
under a millisecond and `verify` checks every event. What it does not protect against: whoever runs
as the laptop's account can read this file too (SECURITY.md).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from safetycli.digests import hmac_sha256
from safetycli.errors import SafetyError
from safetycli.filemodes import FILE_MODE, make_private_dir, tighten
from safetycli.records import Frozen

ENV_KEYS = "SAFETYCLI_KEY_DIR"
# The scheme named in the log: the MAC's algorithm and length, so it can change later.
SCHEME = "hmac-sha256-128"
_MAC_HEX = 32


def key_dir() -> Path:
    """Where device keys live: `$SAFETYCLI_KEY_DIR`, else `$XDG_CONFIG_HOME/safetycli/keys`, else
    `~/.config/safetycli/keys`. Never inside a workspace, so a copy of the workspace (or of its
    log) does not carry the key."""
    named = os.environ.get(ENV_KEYS)
    if named:
        return Path(named).expanduser()
    xdg = os.environ.get("XDG_CONFIG_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".config"
    return base / "safetycli" / "keys"


def mac_of(mac_key: bytes, device: str, seq: int, digest: str) -> str:
    """The MAC event `seq` (chain hash `digest`) carries: it binds the event to this device and to
    its place in the chain (verify calls this once per event)."""
    message = f"{device}:{seq}:{digest}".encode("utf-8", "surrogateescape")
    return hmac_sha256(mac_key, message).hex()[:_MAC_HEX]


def key_path(device: str) -> Path:
    return key_dir() / f"{device}.key"


class DeviceKey(Frozen):
    """A device key as loaded. A plain record (records.py), not a dataclass: every command that
    opens a keyed log loads one, and making the dataclass cost about 0.7 ms of each start-up."""

    __slots__ = ("device", "mac_key", "pepper", "path")
    # The secrets stay out of its repr: a traceback or a debug print must not carry them.
    _unshown = ("mac_key", "pepper")
    device: str
    mac_key: bytes
    pepper: bytes
    path: Path

    def __init__(self, device: str, mac_key: bytes, pepper: bytes, path: Path) -> None:
        object.__setattr__(self, "device", device)
        object.__setattr__(self, "mac_key", mac_key)
        object.__setattr__(self, "pepper", pepper)
        object.__setattr__(self, "path", path)

    def mac(self, seq: int, digest: str) -> str:
        return mac_of(self.mac_key, self.device, seq, digest)

    def foreign_seal(self, device: str, seq: int, digest: str) -> str:
        """The seal this laptop puts on another device's event as it pulls it (central/foreign.py):
        a row added to `foreign.db` by someone without this key has none."""
        return mac_of(self.mac_key, f"pulled from {device}", seq, digest)

    @property
    def key_id(self) -> str:
        """What the log says about the key: names it without giving it away."""
        return hmac_sha256(self.mac_key, b"safetycli device key id").hex()[:16]

    @property
    def central_key(self) -> bytes:
        """The key the production's central store checks this device's events with
        (central/store.py): derived one way from the MAC key, so the server, or whoever reads
        its database, can check what this laptop pushes but cannot make this laptop's own MACs."""
        return hmac_sha256(self.mac_key, b"safetycli central store key")

    @property
    def pepper_id(self) -> str:
        return hmac_sha256(self.pepper, b"safetycli production secret id").hex()[:16]


def create(workspace: Path, production_secret: bytes | None = None) -> DeviceKey:
    """A new device id with a fresh key and production secret (or the production's own, given
    to a laptop that joins it: central/join.py), written 0600 (never over an existing file)."""
    import secrets  # only here: `random` and `base64` are not worth loading on every command

    folder = key_dir()
    make_private_dir(folder)
    device = secrets.token_hex(8)
    path = folder / f"{device}.key"
    body = {
        "device": device,
        "mac_key": secrets.token_hex(32),
        "production_secret": (production_secret or secrets.token_bytes(32)).hex(),
        "workspace": str(workspace),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "note": "safetycli device key: back it up with the recovery code; never share it",
    }
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError as err:
        raise SafetyError(f"cannot create the device key {path}: {err.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(body, out, indent=2)
        out.write("\n")
        out.flush()
        os.fsync(out.fileno())
    return load_file(path)


def load(device: str) -> DeviceKey | None:
    """The key of `device` from the key folder; None when there is no such file."""
    path = key_path(device)
    if not path.exists():
        return None
    return load_file(path)


def load_file(path: Path) -> DeviceKey:
    """A key file (the key folder's, or one given to `verify --key`)."""
    tighten(path, FILE_MODE)
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        key = DeviceKey(
            device=str(body["device"]),
            mac_key=bytes.fromhex(body["mac_key"]),
            pepper=bytes.fromhex(body["production_secret"]),
            path=path,
        )
    except OSError as err:
        raise SafetyError(f"cannot read the device key {path}: {err.strerror}") from None
    except (ValueError, KeyError, TypeError):
        raise SafetyError(
            f"the device key {path} is damaged: restore it from your backup"
        ) from None
    if len(key.mac_key) < 16 or len(key.pepper) < 16:
        raise SafetyError(f"the device key {path} is damaged: restore it from your backup")
    return key


def pepper_pin(pin: str, pepper: bytes) -> str:
    """The PIN as scrypt sees it when peppered: HMAC(pepper, PIN), hex."""
    import hashlib  # PIN hashing (scrypt follows) keeps OpenSSL
    import hmac

    secret = pin.encode("utf-8", "surrogatepass")
    return hmac.new(pepper, secret, hashlib.sha256).hexdigest()
