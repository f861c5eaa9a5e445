"""The WeCom side of a callback, for the project's tests and benchmark.

This is a second, independent implementation of the WXBizMsgCrypt scheme, written
from its published description (signature = sha1 of the sorted token, timestamp,
nonce and ciphertext; key = b64decode(EncodingAESKey + "="), IV = key[:16],
AES-256-CBC with PKCS#7 padding to 32-byte blocks; plaintext = 16 random bytes +
4-byte big-endian length + message + receive id).  It uses the ``cryptography``
AES primitives directly and shares no code with wechatpy or the project, so a test
that passes through both checks one against the other.

Also here: builders for the decrypted callback payloads (group-robot XML, AI-bot
JSON) and ``Caller``, which plays WeCom against the app over HTTP or through a
Flask test client and opens the encrypted replies.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import struct
import time
import urllib.parse
import xml.etree.ElementTree as ET
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WXBizMsgCrypt pads to 32 bytes, not to the AES block size
DEFAULT_PATH = "/wecom/callback"
DEFAULT_WEBHOOK_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=test-key"
DEFAULT_RESPONSE_URL = "https://qyapi.weixin.qq.com/cgi-bin/aibot/response?response_code=test-code"


class PeerError(ValueError):
    """A reply that does not verify: bad signature, bad padding or wrong receive id."""


def new_aes_key() -> str:
    """A fresh EncodingAESKey: 43 base64 characters encoding 32 random bytes."""
    key = base64.b64encode(os.urandom(32)).decode("ascii")
    assert key.endswith("=") and len(key) == 44
    return key[:-1]


def new_nonce() -> str:
    return secrets.token_hex(8)


def new_msgid() -> str:
    """A WeCom-like message id: base64 with '+', '/' and '=' possible, never numeric."""
    return base64.b64encode(b"\x08\x01\x10" + os.urandom(17)).decode("ascii")


class PeerCrypt:
    """WXBizMsgCrypt from its description: sign, encrypt, decrypt."""

    def __init__(self, token: str, aes_key: str, receive_id: str = "") -> None:
        if len(aes_key) != 43:
            raise ValueError("EncodingAESKey must be 43 characters")
        self.token = token
        self.aes_key = aes_key
        self.receive_id = receive_id
        self.key = base64.b64decode(aes_key + "=")
        if len(self.key) != 32:
            raise ValueError("EncodingAESKey must decode to 32 bytes")
        self.iv = self.key[:16]

    def sign(self, ts: str, nonce: str, encrypt: str) -> str:
        parts = sorted([self.token, str(ts), str(nonce), encrypt])
        return hashlib.sha1("".join(parts).encode("utf-8")).hexdigest()

    def _cipher(self) -> Cipher:
        return Cipher(algorithms.AES(self.key), modes.CBC(self.iv))

    def encrypt(self, text: str, *, prefix: bytes | None = None, receive_id: str | None = None) -> str:
        """Base64 ciphertext of ``text``; ``prefix`` (16 bytes) and ``receive_id`` fix them for vectors."""
        rid = self.receive_id if receive_id is None else receive_id
        head = os.urandom(16) if prefix is None else prefix
        if len(head) != 16:
            raise ValueError("prefix must be 16 bytes")
        body = text.encode("utf-8")
        plain = head + struct.pack(">I", len(body)) + body + rid.encode("utf-8")
        pad = BLOCK - len(plain) % BLOCK
        plain += bytes([pad]) * pad
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")

    def encrypt_frame(self, plain: bytes) -> str:
        """Base64 ciphertext of ``plain`` as given (a multiple of 16 bytes, padding and all): for malformed frames."""
        enc = self._cipher().encryptor()
        return base64.b64encode(enc.update(plain) + enc.finalize()).decode("ascii")

    def decrypt(self, b64: str) -> tuple[str, str]:
        """(message, receive_id) of a base64 ciphertext; PeerError if it is malformed."""
        try:
            raw = base64.b64decode(b64, validate=True)
        except ValueError as exc:
            raise PeerError(f"ciphertext is not base64: {exc}") from exc
        if not raw or len(raw) % 16:
            raise PeerError("ciphertext length is not a multiple of 16")
        dec = self._cipher().decryptor()
        plain = dec.update(raw) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or plain[-pad:] != bytes([pad]) * pad:
            raise PeerError("bad padding")
        plain = plain[:-pad]
        if len(plain) < 20:
            raise PeerError("plaintext too short")
        (length,) = struct.unpack(">I", plain[16:20])
        if 20 + length > len(plain):
            raise PeerError("declared length exceeds plaintext")
        try:
            message = plain[20 : 20 + length].decode("utf-8")
            rid = plain[20 + length :].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PeerError(f"plaintext is not UTF-8: {exc}") from exc
        return message, rid

    def open(self, signature: str, ts: str, nonce: str, encrypt: str) -> str:
        """Verify signature and receive id, then return the message (PeerError otherwise)."""
        if not secrets.compare_digest(self.sign(ts, nonce, encrypt), signature or ""):
            raise PeerError("signature mismatch")
        message, rid = self.decrypt(encrypt)
        if rid != self.receive_id:
            raise PeerError(f"receive id mismatch: {rid!r} != {self.receive_id!r}")
        return message

    def seal(self, text: str, ts: str | None = None, nonce: str | None = None) -> dict[str, str]:
        """Encrypt and sign: {"encrypt", "msgsignature", "timestamp", "nonce"}."""
        ts = ts or str(int(time.time()))
        nonce = nonce or new_nonce()
        encrypt = self.encrypt(text)
        return {
            "encrypt": encrypt,
            "msgsignature": self.sign(ts, nonce, encrypt),
            "timestamp": ts,
            "nonce": nonce,
        }


# ---------------------------------------------------------------- payload builders


def _cdata(text: str) -> str:
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _robot_head(userid: str, name: str, chatid: str, webhook_url: str, alias: str, chat_type: str) -> str:
    return (
        f"<xml><WebhookUrl>{_cdata(webhook_url)}</WebhookUrl>"
        f"<ChatId>{_cdata(chatid)}</ChatId>"
        f"<PostId>{_cdata('post-' + secrets.token_hex(6))}</PostId>"
        f"<ChatType>{chat_type}</ChatType>"
        f"<GetChatInfoUrl>{_cdata('https://qyapi.weixin.qq.com/cgi-bin/webhook/get_chat_info?code=' + secrets.token_hex(8))}</GetChatInfoUrl>"  # noqa: E501
        f"<From><UserId>{userid}</UserId><Name>{_cdata(name)}</Name><Alias>{_cdata(alias)}</Alias></From>"
    )


def _robot_xml(
    body: str,
    userid: str,
    name: str,
    chatid: str,
    msgid: str | None,
    webhook_url: str,
    alias: str,
    chat_type: str,
) -> tuple[str, str]:
    msgid = msgid or new_msgid()
    head = _robot_head(userid, name, chatid, webhook_url, alias or userid, chat_type)
    return f"{head}{body}<MsgId>{_cdata(msgid)}</MsgId></xml>", msgid


def robot_text_xml(
    content: str,
    userid: str = "zhangwei",
    name: str = "张伟",
    chatid: str = "wrkChat001",
    msgid: str | None = None,
    webhook_url: str = DEFAULT_WEBHOOK_URL,
    *,
    alias: str = "",
    chat_type: str = "group",
) -> tuple[str, str]:
    """Decrypted group-robot text callback: (xml, msgid)."""
    body = f"<MsgType>text</MsgType><Text><Content>{_cdata(content)}</Content></Text>"
    return _robot_xml(body, userid, name, chatid, msgid, webhook_url, alias, chat_type)


def robot_event_xml(
    event_type: str = "add_to_chat",
    userid: str = "zhangwei",
    name: str = "张伟",
    chatid: str = "wrkChat001",
    msgid: str | None = None,
    webhook_url: str = DEFAULT_WEBHOOK_URL,
    *,
    alias: str = "",
    chat_type: str = "group",
) -> tuple[str, str]:
    """Decrypted group-robot event callback (e.g. add_to_chat, delete_from_chat): (xml, msgid)."""
    body = f"<MsgType>event</MsgType><Event><EventType>{_cdata(event_type)}</EventType></Event>"
    return _robot_xml(body, userid, name, chatid, msgid, webhook_url, alias, chat_type)


def robot_image_xml(
    image_url: str = "https://wework.qpic.cn/wwpic/test-image/0",
    userid: str = "zhangwei",
    name: str = "张伟",
    chatid: str = "wrkChat001",
    msgid: str | None = None,
    webhook_url: str = DEFAULT_WEBHOOK_URL,
    *,
    alias: str = "",
    chat_type: str = "group",
) -> tuple[str, str]:
    """Decrypted group-robot image callback: (xml, msgid)."""
    body = f"<MsgType>image</MsgType><Image><ImageUrl>{_cdata(image_url)}</ImageUrl></Image>"
    return _robot_xml(body, userid, name, chatid, msgid, webhook_url, alias, chat_type)


def aibot_text_json(
    content: str,
    userid: str = "zhangwei",
    chatid: str = "wrkChat001",
    msgid: str | None = None,
    response_url: str = DEFAULT_RESPONSE_URL,
    *,
    aibotid: str = "AIBOTID",
    chattype: str = "group",
) -> tuple[str, str]:
    """Decrypted AI-bot text callback: (json, msgid)."""
    msgid = msgid or new_msgid()
    body: dict[str, Any] = {
        "msgid": msgid,
        "aibotid": aibotid,
        "chatid": chatid,
        "chattype": chattype,
        "from": {"userid": userid},
        "response_url": response_url,
        "msgtype": "text",
        "text": {"content": content},
    }
    if chattype != "group":
        body.pop("chatid")
    return json.dumps(body, ensure_ascii=False), msgid


def envelope_xml(encrypt: str) -> str:
    return f"<xml><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"


# ---------------------------------------------------------------- caller


class Caller:
    """Plays WeCom against the app: over HTTP (``base_url``) or a Flask test client (``client``)."""

    def __init__(
        self,
        crypt: PeerCrypt,
        *,
        client: Any = None,
        base_url: str | None = None,
        path: str = DEFAULT_PATH,
        timeout: float = 10.0,
    ) -> None:
        if (client is None) == (base_url is None):
            raise ValueError("give exactly one of client= or base_url=")
        self.crypt = crypt
        self.client = client
        self.base_url = base_url.rstrip("/") if base_url else None
        self.path = path
        self.timeout = timeout
        self._session: Any = None
        self.last_query: dict[str, str] = {}

    # -- transport
    def _request(
        self, method: str, query: dict[str, str], body: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, bytes]:
        qs = urllib.parse.urlencode(query)  # quote_plus: '+' and '/' in echostr arrive intact
        target = f"{self.path}?{qs}"
        headers = {"Content-Type": content_type} if content_type else {}
        if self.client is not None:
            resp = self.client.open(target, method=method, data=body, headers=headers)
            return resp.status_code, resp.get_data()
        if self._session is None:
            import requests

            self._session = requests.Session()
        resp = self._session.request(method, self.base_url + target, data=body, headers=headers, timeout=self.timeout)
        return resp.status_code, resp.content

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None

    def _query(self, encrypt: str, timestamp: str | None, tamper: bool) -> dict[str, str]:
        ts = timestamp or str(int(time.time()))
        nonce = new_nonce()
        sig = self.crypt.sign(ts, nonce, encrypt)
        if tamper:
            sig = ("0" if sig[0] != "0" else "1") + sig[1:]
        self.last_query = {"msg_signature": sig, "timestamp": ts, "nonce": nonce}
        return dict(self.last_query)

    # -- the three calls
    def verify_url(self, echo: str, *, tamper_signature: bool = False, timestamp: str | None = None) -> tuple[int, str]:
        """URL verification GET; returns (status, body text) - the body should equal ``echo``."""
        echostr = self.crypt.encrypt(echo)
        query = self._query(echostr, timestamp, tamper_signature)
        query["echostr"] = echostr
        status, body = self._request("GET", query)
        return status, body.decode("utf-8", "replace")

    def post_robot(
        self,
        xml_plaintext: str,
        *,
        tamper_signature: bool = False,
        timestamp: str | None = None,
        raw_body: bytes | str | None = None,
    ) -> tuple[int, bytes]:
        """Encrypted group-robot callback POST; ``raw_body`` replaces the envelope (still signed)."""
        encrypt = self.crypt.encrypt(xml_plaintext)
        query = self._query(encrypt, timestamp, tamper_signature)
        body = envelope_xml(encrypt).encode() if raw_body is None else _as_bytes(raw_body)
        return self._request("POST", query, body, "text/xml; charset=utf-8")

    def post_aibot(
        self,
        json_plaintext: str,
        *,
        tamper_signature: bool = False,
        timestamp: str | None = None,
        raw_body: bytes | str | None = None,
    ) -> tuple[int, bytes]:
        """Encrypted AI-bot callback POST with body {"encrypt": ...}."""
        encrypt = self.crypt.encrypt(json_plaintext)
        query = self._query(encrypt, timestamp, tamper_signature)
        body = json.dumps({"encrypt": encrypt}).encode() if raw_body is None else _as_bytes(raw_body)
        return self._request("POST", query, body, "application/json")

    # -- replies
    def open_robot_reply(self, body: bytes | str) -> str:
        """Verify and decrypt an encrypted XML reply; '' for an empty body."""
        return open_robot_reply(self.crypt, body)

    def open_aibot_reply(self, body: bytes | str) -> dict[str, Any]:
        """Verify and decrypt an encrypted JSON reply; {} for an empty body."""
        return open_aibot_reply(self.crypt, body)


def _as_bytes(data: bytes | str) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def open_robot_reply(crypt: PeerCrypt, body: bytes | str) -> str:
    raw = _as_bytes(body)
    if not raw.strip():
        return ""
    root = ET.fromstring(raw)  # our own test's data: the app's reply

    def field(name: str) -> str:
        node = root.find(name)
        if node is None or node.text is None:
            raise PeerError(f"reply lacks <{name}>")
        return node.text

    return crypt.open(field("MsgSignature"), field("TimeStamp"), field("Nonce"), field("Encrypt"))


def open_aibot_reply(crypt: PeerCrypt, body: bytes | str) -> dict[str, Any]:
    raw = _as_bytes(body)
    if not raw.strip():
        return {}
    env = json.loads(raw)
    try:
        message = crypt.open(env["msgsignature"], str(env["timestamp"]), env["nonce"], env["encrypt"])
    except KeyError as exc:
        raise PeerError(f"reply lacks {exc}") from exc
    result = json.loads(message)
    if not isinstance(result, dict):
        raise PeerError("reply plaintext is not a JSON object")
    return result
