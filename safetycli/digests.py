"""SHA-256 and HMAC-SHA256 for the few hashes an everyday command computes, without OpenSSL.

`import hashlib` (and `import hmac`, which imports it) loads OpenSSL's `_hashlib`: about 3 ms of
every start-up (bench/README.md, start-up). `status` and the other commands that open the log
compute a few hashes: the chain hash of each event they read, the device MAC of the head and of
each roster event, the name of the head mark's file. CPython carries its own SHA-256 (`_sha2` on
3.12+, `_sha256` on 3.11), with nothing to load:

- HMAC-SHA256 of the short messages MACed here (a device, a number and a hash) is as fast over
  it as OpenSSL's `hmac.digest` (1.5 us against 1.7 us, measured), so it always uses it;
- SHA-256 of an event's text (about 330 bytes) is slower over it (1.4 us against 0.54 us), so
  after `UPGRADE_AFTER` hashes a process loads OpenSSL and uses it from then on: a command
  never loses more than about 1.7 ms to the slower hashes, against the 2.8 ms the load costs,
  and a season's report or a bulk write hashes at OpenSSL's speed.

The digests are the same either way: tests/test_digests.py holds both paths equal to
`hashlib.sha256` and `hmac.new`, for keys shorter, as long as and longer than SHA-256's block.
Commands that hash for a living (`verify`'s scan, PIN hashing with scrypt, key generation) keep
importing hashlib themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["UPGRADE_AFTER", "compare_digest", "hmac_sha256", "sha256"]

try:  # the digest compare `hmac.compare_digest` is, without importing hmac (and OpenSSL)
    from _operator import _compare_digest as compare_digest
except ImportError:  # an interpreter without it
    from hmac import compare_digest

try:
    from _sha2 import sha256 as _own_sha256  # CPython 3.12+
except ImportError:
    try:
        from _sha256 import sha256 as _own_sha256  # CPython 3.11
    except ImportError:  # an interpreter built without them: OpenSSL from the first hash
        _own_sha256 = None

# SHA-256 hashes computed with CPython's own before OpenSSL is loaded (see above): 2,048 of them
# cost about 1.7 ms more than OpenSSL's would; loading OpenSSL costs about 2.8 ms.
UPGRADE_AFTER = 2048
_BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)
_INNER = bytes(x ^ 0x36 for x in range(256))  # RFC 2104's ipad, as a translation table
_OUTER = bytes(x ^ 0x5C for x in range(256))  # and opad

_hashed = 0
_openssl_sha256: Callable[[bytes], Any] | None = None


def _openssl() -> Callable[[bytes], Any]:
    """hashlib's SHA-256, loaded once the process has hashed enough to make it worth it."""
    global _openssl_sha256
    if _openssl_sha256 is None:
        import hashlib

        _openssl_sha256 = hashlib.sha256
    return _openssl_sha256


def _own_first() -> bool:
    """Whether this SHA-256 may still use CPython's own (counting it)."""
    global _hashed
    if _openssl_sha256 is not None or _own_sha256 is None:
        return False
    _hashed += 1
    if _hashed <= UPGRADE_AFTER:
        return True
    _openssl()
    return False


def sha256(data: bytes) -> Any:
    """A SHA-256 hash object of `data` (`.hexdigest()`, `.digest()`), as `hashlib.sha256(data)`."""
    if _own_first():
        return _own_sha256(data)  # type: ignore[misc]
    return _openssl()(data)


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of `message` under `key`, as `hmac.digest(key, message, "sha256")`."""
    if _own_sha256 is not None:
        return _rfc2104(key, message)
    import hmac  # an interpreter without CPython's own SHA-256

    return hmac.digest(key, message, "sha256")


def _rfc2104(key: bytes, message: bytes) -> bytes:
    """HMAC as RFC 2104 defines it, over CPython's SHA-256: H(K ^ opad, H(K ^ ipad, message)),
    K the key padded with zeros to the block, or its hash first when it is longer."""
    assert _own_sha256 is not None
    if len(key) > _BLOCK:
        key = _own_sha256(key).digest()
    key = key.ljust(_BLOCK, b"\0")
    inner = _own_sha256(key.translate(_INNER))
    inner.update(message)
    outer = _own_sha256(key.translate(_OUTER))
    outer.update(inner.digest())
    return outer.digest()  # type: ignore[no-any-return]
