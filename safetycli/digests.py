"""SHA-256 and HMAC-SHA256 for the few hashes an everyday command computes, without OpenSSL.

`import hashlib` (and `import hmac`, which imports it) loads OpenSSL's `_hashlib`: about 3 to 4
ms of every start-up (bench/README.md, start-up). `status` and the other commands that open the
log compute a handful of hashes: the chain hash of each event they read, the head's device MAC,
the name of the head mark's file. CPython carries its own SHA-256 (`_sha2` on 3.12+, `_sha256` on
3.11): slower per byte than OpenSSL's (about 1.2 us against 0.5 us for a 300-byte event) but
nothing to load. So the first hashes of a process use it, and a process that goes on hashing (a
season's report, a bulk write, a sync) loads OpenSSL after `UPGRADE_AFTER` of them, where its
load pays for itself. The digests are the same either way: tests/test_digests.py holds both
paths equal to `hashlib.sha256` and `hmac.new`, for keys shorter, as long as and longer than
SHA-256's block.

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

# Hashes computed with CPython's SHA-256 before OpenSSL is loaded: a command that opens the log
# and reads a run or two stays under it; a report over a season passes it at once.
UPGRADE_AFTER = 64
_BLOCK = 64  # SHA-256's block size in bytes (RFC 2104's B)
_INNER = bytes(x ^ 0x36 for x in range(256))  # RFC 2104's ipad, as a translation table
_OUTER = bytes(x ^ 0x5C for x in range(256))  # and opad

_hashed = 0
_openssl_sha256: Callable[[bytes], Any] | None = None
_openssl_hmac: Callable[[bytes, bytes, str], bytes] | None = None


def _openssl() -> Callable[[bytes], Any]:
    """hashlib's SHA-256, loaded once the process has hashed enough to make it worth it."""
    global _openssl_sha256, _openssl_hmac
    if _openssl_sha256 is None:
        import hashlib
        import hmac

        _openssl_hmac = hmac.digest
        _openssl_sha256 = hashlib.sha256
    return _openssl_sha256


def _own_first() -> bool:
    """Whether this hash may still use CPython's own SHA-256 (counting it)."""
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
    if _own_first():
        return _rfc2104(key, message)
    _openssl()
    assert _openssl_hmac is not None
    return _openssl_hmac(key, message, "sha256")


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
