"""Letting a device into the production's central store (issue 15: no trust on first use).

A device the server has not seen registers *pending*; the server takes nothing from it until it
is approved (schema.py, migration 8). What this laptop makes for that, and the server checks:

- `device_mac`: an approved laptop's MAC over the new device's id and key id, under the approving
  laptop's central key (devicekey.DeviceKey.central_key). The server holds that key (one way from
  the laptop's own MAC key) and recomputes it; whoever holds only the database password cannot.
- `join_token` / `join_mac`: at `join approve CODE`, a token derived from the join code (which
  only the new laptop and the approving producer have seen), posted as its hash with the
  approving laptop's MAC over it; the new laptop shows the token itself at its first sync.
"""

from __future__ import annotations

import hashlib
import hmac

from safetycli.errors import SafetyError
from safetycli.i18n import _


class WaitingForApproval(SafetyError):
    """The server has not let this device in yet: nothing of it was pushed (exit 2, not an alarm:
    nothing was refused as forged). Sync notes it on the laptop, so `status` can say so offline."""

    def __init__(self, device: str, message: str) -> None:
        super().__init__(message)
        self.device = device


def _mac(central_key: bytes, message: str) -> str:
    return hmac.digest(central_key, message.encode(), "sha256").hex()


def device_mac(central_key: bytes, device: str, key_id: str) -> str:
    return _mac(central_key, f"safetycli approve:{device}:{key_id}")


def join_token(code: str) -> str:
    return hmac.digest(code.encode(), b"safetycli join registration", "sha256").hex()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def join_mac(central_key: bytes, request: str, hashed: str) -> str:
    return _mac(central_key, f"safetycli join:{request}:{hashed}")


def waiting_status(device: str, since: str) -> str:
    """The one line plain `status` (and the set board) shows while this laptop's last sync was
    told to wait, in the crew's language."""
    # Translators: keep the commands in backquotes as they are.
    return _(
        "this laptop (device {device}) has waited for a producer's approval since its sync at "
        "{since}: nothing of it reaches the production's other laptops until a producer runs "
        "`safetycli join approve-device {device}` on an approved laptop; then `safetycli sync`"
    ).format(device=device, since=since)


def waiting_line(device: str) -> str:
    """The one line a pending device's sync ends with: what is wrong and what to do."""
    # Translators: keep the commands in backquotes as they are.
    return _(
        "device {device} is waiting for a producer's approval: on an approved laptop of the "
        "production run `safetycli join approve-device {device}` (or, on the production's "
        "first laptop, `safetycli sync --approve-by PRODUCER`), then sync again"
    ).format(device=device)
