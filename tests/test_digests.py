"""The hashes everyday commands compute without OpenSSL (safetycli/digests.py) are hashlib's and
hmac's, bit for bit, on both of its paths; and `status` no longer loads OpenSSL at all."""

import hashlib
import hmac
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from safetycli import digests
from tests.walk_helpers import subprocess_env

# Keys shorter than SHA-256's 64-byte block, as long as it, and longer (RFC 2104 hashes those).
keys = st.one_of(
    st.binary(max_size=63),
    st.binary(min_size=64, max_size=64),
    st.binary(min_size=65, max_size=300),
)


@given(key=keys, message=st.binary(max_size=400))
def test_hmac_over_cpythons_own_sha256_is_hmacs(key: bytes, message: bytes) -> None:
    assert digests._rfc2104(key, message) == hmac.new(key, message, "sha256").digest()


@pytest.mark.parametrize("size", [0, 1, 32, 63, 64, 65, 128, 1000])
def test_hmac_at_the_block_boundaries(size: int) -> None:
    key = bytes(range(256)) * 4
    message = b"device-1:42:" + b"ab" * 32
    assert digests._rfc2104(key[:size], message) == hmac.digest(key[:size], message, "sha256")


def test_both_paths_give_hashlibs_digests(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process's first SHA-256 hashes use CPython's own, the rest OpenSSL's (loaded once
    the process keeps hashing): the same digests before and after the switch."""
    monkeypatch.setattr(digests, "_hashed", 0)
    monkeypatch.setattr(digests, "_openssl_sha256", None)
    key = b"k" * 32
    for n in range(digests.UPGRADE_AFTER + 3):
        data = f"event {n} ".encode() * (n % 7)
        assert digests.sha256(data).hexdigest() == hashlib.sha256(data).hexdigest()
        if n % 64 == 0:
            assert digests.hmac_sha256(key, data) == hmac.digest(key, data, "sha256")
        assert (digests._openssl_sha256 is not None) == (n >= digests.UPGRADE_AFTER)


@given(a=st.binary(max_size=40), b=st.binary(max_size=40))
def test_digests_compare_as_hmac_does(a: bytes, b: bytes) -> None:
    assert digests.compare_digest(a, b) == hmac.compare_digest(a, b)
    assert digests.compare_digest(a.hex(), b.hex()) == hmac.compare_digest(a.hex(), b.hex())


def test_status_checks_the_log_without_loading_openssl(tmp_path: Path) -> None:
    """`status` opens the log (the head's device MAC, each shown run's chain hashes) and
    prints the board, with no OpenSSL loaded (about 3 ms of its start-up); a command that
    hashes a PIN still loads it."""
    env = subprocess_env(tmp_path / "ws")
    cli = [sys.executable, "-m", "safetycli"]
    made = subprocess.run([*cli, "init"], capture_output=True, text=True, env=env)
    assert made.returncode == 0, made.stderr
    added = subprocess.run(
        [*cli, "crew", "add", "Pat Producer", "--role", "producer", "--pin-stdin"],
        input="4821\n",
        capture_output=True,
        text=True,
        env=env,
    )
    assert added.returncode == 0, added.stderr
    code = """
import sys
from safetycli.cli import app
try:
    app(sys.argv[1:])
except SystemExit as done:
    print("exit", done.code, "_hashlib" in sys.modules, file=sys.stderr)
"""
    done = subprocess.run(
        [sys.executable, "-c", code, "status"], capture_output=True, text=True, env=env
    )
    assert "No open or held runs" in done.stdout
    assert done.stderr.splitlines()[-1] == "exit 0 False"
