"""Joining a production: the production secret handed to a new laptop, never through the log and
never readable on the server.

1. The new laptop (`safetycli init --from-central URL`) makes a one-time join code (16 characters,
   about 78 bits), shows it on its own screen, keeps it in its key folder (0600) and asks the
   server to open a request named by a one-way id of the code (`request_id`).
2. A producer, at an existing laptop of the production, types that code and their PIN
   (`safetycli join approve CODE --by NAME`): the PIN is checked as for any roster change and its
   `auth.ok` is written to that laptop's log; the production secret is wrapped under keys derived
   from the code (scrypt, then HMAC-SHA256 as a one-time pad and as the tag) and posted.
3. The new laptop, run again, takes the wrapped secret (the server then drops it), checks its tag
   and unwraps it into its new device key (devicekey.create), then syncs.

The server sees only the code's id and the wrapped secret; without the code (shown on the new
laptop, typed by the producer) it cannot unwrap it, nor make a wrapped secret the new laptop would
accept. The standard library only: the secret is 32 bytes wrapped once under a key used once, so an
HMAC pad with an HMAC tag is a sound one-time authenticated encryption and needs no AEAD library.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from safetycli import devicekey
from safetycli.errors import SafetyError
from safetycli.filemodes import FILE_MODE, make_private_dir

# No 0/O, 1/I/L, U: a code read aloud or off a screen and typed on another laptop.
ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
LENGTH = 16
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def shown(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normal(typed: str) -> str:
    """A typed code as it was made: case, spaces and dashes do not matter."""
    code = "".join(typed.split()).replace("-", "").upper()
    if len(code) != LENGTH or any(c not in ALPHABET for c in code):
        raise SafetyError(
            f"{typed!r} is not a join code: type the {LENGTH} characters the new laptop shows"
        )
    return code


def request_id(code: str) -> str:
    return hmac.digest(code.encode(), b"safetycli join request", "sha256").hex()[:32]


def _keys(code: str) -> tuple[bytes, bytes]:
    derived = hashlib.scrypt(
        code.encode(), salt=b"safetycli join " + request_id(code).encode(), dklen=64, **_SCRYPT
    )
    return derived[:32], derived[32:]


def _tag(mac_key: bytes, code: str, production: str, sealed: bytes) -> str:
    message = json.dumps([request_id(code), production, sealed.hex()]).encode()
    return hmac.digest(mac_key, message, "sha256").hex()


def wrap(code: str, secret: bytes, production: str) -> str:
    enc, mac = _keys(code)
    pad = hmac.digest(enc, b"safetycli production secret", "sha256")
    if len(secret) > len(pad):
        raise SafetyError("this production secret is longer than a join can carry")
    sealed = bytes(a ^ b for a, b in zip(secret, pad, strict=False))
    tag = _tag(mac, code, production, sealed)
    return json.dumps({"v": 1, "production": production, "sealed": sealed.hex(), "tag": tag})


def unwrap(code: str, wrapped: str) -> tuple[bytes, str]:
    """The production secret and the production's name, or one line why not."""
    refused = SafetyError(
        "the approval on the server does not open with this laptop's join code (altered, or not "
        "made for it): nothing was set up; ask the producer to approve a new code"
    )
    try:
        body = json.loads(wrapped)
        production, sealed = str(body["production"]), bytes.fromhex(body["sealed"])
        tag = str(body["tag"])
    except (ValueError, KeyError, TypeError):
        raise refused from None
    enc, mac = _keys(code)
    if not hmac.compare_digest(tag, _tag(mac, code, production, sealed)):
        raise refused
    pad = hmac.digest(enc, b"safetycli production secret", "sha256")
    return bytes(a ^ b for a, b in zip(sealed, pad, strict=False)), production


@dataclass(frozen=True)
class Pending:
    """A join this laptop asked for and is waiting on: kept in the key folder, 0600."""

    path: Path
    code: str
    url: str


def _pending_path(home: Path) -> Path:
    name = hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:16]
    return devicekey.key_dir() / f"join-{name}.json"


def pending(home: Path) -> Pending | None:
    path = _pending_path(home)
    if not path.exists():
        return None
    try:
        body = json.loads(path.read_text(encoding="utf-8"))
        return Pending(path, normal(str(body["code"])), str(body["url"]))
    except (OSError, ValueError, KeyError, TypeError, SafetyError):
        raise SafetyError(
            f"the pending join {path} is damaged: delete it and start again"
        ) from None


def start(home: Path, url: str) -> Pending:
    folder = devicekey.key_dir()
    make_private_dir(folder)
    path = _pending_path(home)
    code = new_code()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except OSError as err:
        raise SafetyError(f"cannot keep the join code in {path}: {err.strerror}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump({"code": code, "url": url, "home": str(home)}, out)
        out.flush()
        os.fsync(out.fileno())
    return Pending(path, code, url)
