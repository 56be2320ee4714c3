"""Merkle tree hashing of RFC 6962 (Certificate Transparency) section 2.1.

https://www.rfc-editor.org/rfc/rfc6962#section-2.1 — a leaf is ``SHA-256(0x00 || data)`` and an
inner node ``SHA-256(0x01 || left || right)``; the tree of n leaves splits at the largest power
of two below n. Distinct prefixes keep a leaf from passing for a node (second pre-images).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """MTH(D[n]) over leaf hashes (already hashed with :func:`leaf_hash`)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(merkle_root(leaves[:split]), merkle_root(leaves[split:]))


class MerkleAccumulator:
    """Appends leaves and gives the root after each append in O(log n), with the stack of
    perfect subtrees (each entry: (size, hash)); the same root as :func:`merkle_root`."""

    def __init__(self) -> None:
        self.stack: list[tuple[int, bytes]] = []
        self.size = 0

    def append(self, leaf: bytes) -> None:
        self.stack.append((1, leaf))
        while len(self.stack) > 1 and self.stack[-1][0] == self.stack[-2][0]:
            (size, right), (_, left) = self.stack.pop(), self.stack.pop()
            self.stack.append((size * 2, node_hash(left, right)))
        self.size += 1

    def root(self) -> bytes:
        if not self.stack:
            return EMPTY_ROOT
        result = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            result = node_hash(left, result)
        return result


__all__ = ["EMPTY_ROOT", "MerkleAccumulator", "leaf_hash", "merkle_root", "node_hash"]
