"""Signing keys: ES384 keys made on first start, rotated, old ones kept to verify.

https://www.rfc-editor.org/rfc/rfc7517 (JWK) — the private key set lives in one JSON file
(mode 0600) in the auth home; the public set is served as JWKS at ``/auth/jwks``. Rotation adds a
new current key and keeps the previous ones, so tokens signed before the rotation still verify
until they expire; ``retire`` drops a key for good.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

import orjson
from joserfc.jwk import ECKey, KeySet

from yteso.fhir.types import Json

SIGNING_ALGORITHM = "ES384"
KEYS_FILE = "signing-keys.json"


def _new_key() -> ECKey:
    kid = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(4)
    return ECKey.generate_key(
        "P-384", parameters={"kid": kid, "alg": SIGNING_ALGORITHM, "use": "sig"}
    )


class KeyRing:
    """The server's signing keys; the last one signs, all of them verify."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / KEYS_FILE
        directory.mkdir(parents=True, exist_ok=True)
        self.keys: list[ECKey] = []
        self._loaded_at = -1
        if not self.path.exists():
            self.keys = [_new_key()]
            self._save()
        self._reload_if_changed()

    def _reload_if_changed(self) -> None:
        """Another process (``yteso auth rotate-keys``) may have rotated the keys: a running
        server picks the new set up at its next use, without a restart."""
        changed_at = self.path.stat().st_mtime_ns
        if changed_at != self._loaded_at:
            raw = orjson.loads(self.path.read_bytes())
            self.keys = [ECKey.import_key(k) for k in raw["keys"]]
            self._loaded_at = changed_at

    def _save(self) -> None:
        body = orjson.dumps({"keys": [k.as_dict(private=True) for k in self.keys]})
        temporary = self.path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(body)
        temporary.replace(self.path)
        self._loaded_at = self.path.stat().st_mtime_ns

    @property
    def current(self) -> ECKey:
        self._reload_if_changed()
        return self.keys[-1]

    def rotate(self) -> str:
        """Add a new signing key (the old ones stay for verification); returns its kid."""
        self._reload_if_changed()
        self.keys.append(_new_key())
        self._save()
        return str(self.current.kid)

    def retire(self, kid: str) -> None:
        """Drop a key for good (a running server stops accepting its tokens once its cache of
        verified tokens is renewed; restart it to be immediate)."""
        if kid == self.current.kid:
            raise ValueError("The current signing key cannot be retired; rotate first")
        self.keys = [k for k in self.keys if k.kid != kid]
        self._save()

    def verification_set(self) -> KeySet:
        self._reload_if_changed()
        return KeySet(list(self.keys))

    def public_jwks(self) -> Json:
        self._reload_if_changed()
        return {"keys": [k.as_dict(private=False) for k in self.keys]}


__all__ = ["SIGNING_ALGORITHM", "KeyRing"]
