"""The WeCom callback cipher, through wechatpy (never hand-written AES).

One `CallbackCipher` per settings: verifies signatures, opens the XML envelope of
group robots and the JSON envelope of AI bots, and seals replies in the caller's
format. Every failure becomes a `Refusal` with an HTTP status and a short reason.

The frame (random prefix, length, receive id, PKCS#7) and AES-CBC are wechatpy's
PrpCrypto. We keep one PrpCrypto for the life of the cipher instead of one per
message as WeChatCrypto does (building the AES key schedule each time), draw its
random prefix and our nonces from `secrets` (one call, not one per character) and
compare signatures in constant time.
"""

from __future__ import annotations

import hmac
import json
import secrets
import struct
import time
from binascii import Error as Base64Error
from collections.abc import Iterator
from contextlib import contextmanager

from wechatpy.crypto import _get_signature
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException


class Refusal(Exception):
    """A request the bot will not take: answered with `status` and `reason`, nothing stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@contextmanager
def _refusals(what: str) -> Iterator[None]:
    """wechatpy's errors (two unrelated exception classes, and whatever bad base64 or padding raises) as Refusals."""
    try:
        yield
    except InvalidSignatureException:
        raise Refusal(403, "invalid signature") from None
    except InvalidCorpIdException:
        raise Refusal(403, "wrong receive id") from None
    except (Base64Error, ValueError, IndexError, UnicodeDecodeError, TypeError, struct.error):
        # struct.error: a frame too short for its length field (wechatpy unpacks it unchecked)
        raise Refusal(400, f"undecryptable {what}") from None


def new_nonce() -> str:
    return secrets.token_hex(5)


class _Prp(PrpCrypto):  # type: ignore[misc]
    def get_random_string(self) -> str:
        return secrets.token_hex(8)  # the 16-byte random prefix of the frame


class CallbackCipher:
    def __init__(self, token: str, aes_key: str, receive_id: str = "") -> None:
        self._token = token
        self._key = WeChatCrypto(token, aes_key, receive_id).key  # wechatpy checks and decodes the key
        self._prp = _Prp(self._key)
        self._receive_id = receive_id

    def _check(self, signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = _get_signature(self._token, timestamp, nonce, encrypt)
        if not hmac.compare_digest(expected.encode(), signature.encode()):
            raise InvalidSignatureException()

    def verify_url(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """URL verification: the decrypted echostr, or a Refusal."""
        with _refusals("echostr"):
            self._check(signature, timestamp, nonce, echostr)
            return str(self._prp.decrypt(echostr, self._receive_id))

    def open(self, encrypt: str, signature: str, timestamp: str, nonce: str) -> str:
        """The plaintext of an Encrypt field whose signature checks out."""
        with _refusals("body"):
            self._check(signature, timestamp, nonce, encrypt)
            return str(self._prp.decrypt(encrypt, self._receive_id))

    def seal(self, plaintext: str, timestamp: str | None = None, nonce: str | None = None) -> tuple[str, str, str, str]:
        ts = timestamp or str(int(time.time()))
        nn = nonce or new_nonce()
        encrypt = self._prp.encrypt(plaintext, self._receive_id)
        encrypt = encrypt.decode() if isinstance(encrypt, bytes) else encrypt
        return encrypt, _get_signature(self._token, ts, nn, encrypt), ts, nn

    def seal_xml(self, plaintext: str, timestamp: str | None = None, nonce: str | None = None) -> str:
        encrypt, sig, ts, nn = self.seal(plaintext, timestamp, nonce)
        return (
            f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt><MsgSignature><![CDATA[{sig}]]></MsgSignature>"
            f"<TimeStamp>{ts}</TimeStamp><Nonce><![CDATA[{nn}]]></Nonce></xml>"
        )

    def seal_json(self, plaintext: str, timestamp: str | None = None, nonce: str | None = None) -> str:
        encrypt, sig, ts, nn = self.seal(plaintext, timestamp, nonce)
        return json.dumps({"encrypt": encrypt, "msgsignature": sig, "timestamp": ts, "nonce": nn})
