"""Inbound envelopes -> `Message`: the platform's two shapes read into one.

Group robots post XML, AI bots post JSON. XML is read by expat with any DTD, entity
declaration or external reference refused (XXE, billion laughs). Nothing here does I/O.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element, TreeBuilder
from xml.parsers import expat

from bot.wecom.crypto import CallbackCipher, Refusal

ROBOT = "robot"
AIBOT = "aibot"


@dataclass(frozen=True)
class Envelope:
    mode: str  # robot | aibot
    encrypt: str


@dataclass
class Message:
    msgid: str
    mode: str
    chat_id: str
    chat_type: str
    sender: str
    sender_name: str
    msgtype: str
    text: str | None  # the content with the leading @-mention of the bot stripped
    raw: str  # the decrypted plaintext as WeCom sent it
    webhook_url: str = ""
    response_url: str = ""
    event: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class _Forbidden(Exception):
    pass


def _forbid(*_args: object) -> None:
    raise _Forbidden


def parse_xml(data: bytes) -> Element:
    """An element tree from expat, refusing what defusedxml's forbid_dtd/entities/external refuse.

    The same guard as defusedxml (expat handlers that raise on a DOCTYPE, an entity
    declaration or an external reference; without a DTD an entity reference is an expat
    error), feeding the C TreeBuilder: defusedxml builds on the pure-Python XMLParser, which
    costs three times as much, twice per callback (envelope and message).
    Raises _Forbidden or expat.ExpatError.
    """
    builder = TreeBuilder()
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _forbid
    parser.EntityDeclHandler = _forbid
    parser.UnparsedEntityDeclHandler = _forbid
    parser.ExternalEntityRefHandler = _forbid
    parser.StartElementHandler = builder.start
    parser.EndElementHandler = builder.end
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    parser.Parse(data, True)
    return builder.close()


def _xml(data: bytes, what: str) -> Element:
    try:
        return parse_xml(data)
    except _Forbidden:
        raise Refusal(400, f"{what}: DTDs and entities are not accepted") from None
    except (expat.ExpatError, ValueError, TypeError, LookupError):  # LookupError: an unknown encoding="…"
        raise Refusal(400, f"{what}: malformed XML") from None


def read_envelope(body: bytes) -> Envelope:
    head = body.lstrip()[:1]
    if head == b"<":
        root = _xml(body, "envelope")
        enc = (root.findtext("Encrypt") or "").strip()
        if not enc:
            raise Refusal(400, "envelope: no Encrypt field")
        return Envelope(ROBOT, enc)
    if head == b"{":
        try:
            obj = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise Refusal(400, "envelope: malformed JSON") from None
        enc = obj.get("encrypt") if isinstance(obj, dict) else None
        if not isinstance(enc, str) or not enc.strip():
            raise Refusal(400, "envelope: no encrypt field")
        return Envelope(AIBOT, enc.strip())
    raise Refusal(400, "envelope: neither XML nor JSON")


def strip_mention(text: str, bot_names: tuple[str, ...]) -> str:
    """Drop the leading @-mention(s) of the bot: '@前线助手 急！…' -> '急！…'."""
    pattern = _mention_re(bot_names)
    out = text.lstrip()
    while True:
        m = pattern.match(out)
        if not m:
            return out
        out = out[m.end() :].lstrip(" \t\u2005\u3000\xa0\r\n")


_MENTION_CACHE: dict[tuple[str, ...], re.Pattern[str]] = {}


def _mention_re(bot_names: tuple[str, ...]) -> re.Pattern[str]:
    pat = _MENTION_CACHE.get(bot_names)
    if pat is None:
        names = "|".join(re.escape(n) for n in sorted(bot_names, key=len, reverse=True) if n)
        pat = re.compile(rf"[@＠](?:{names})(?=[\s\u2005\u3000\xa0]|$|[,，:：/／])[,，:：]?" if names else r"(?!)")
        _MENTION_CACHE[bot_names] = pat
    return pat


def _text_of(node: Element | None, path: str) -> str:
    if node is None:
        return ""
    return (node.findtext(path) or "").strip()


def read_robot(plaintext: str, bot_names: tuple[str, ...]) -> Message:
    root = _xml(plaintext.encode(), "message")
    msgtype = _text_of(root, "MsgType")
    msgid = _text_of(root, "MsgId")
    if not msgtype:
        raise Refusal(400, "message: no MsgType")
    sender = root.find("From")
    userid = _text_of(sender, "UserId")
    event = None
    text: str | None = None
    if msgtype == "text":
        text = strip_mention(root.findtext("Text/Content") or "", bot_names)
    elif msgtype == "event":
        event = _text_of(root, "Event/EventType") or _text_of(root, "Event") or None
    elif msgtype == "mixed":
        parts = [
            item.findtext("Text/Content") or ""
            for item in root.findall("MixedMessage/MsgItem")
            if (item.findtext("MsgType") or "").strip() == "text"
        ]
        text = strip_mention("".join(parts), bot_names) if parts else None
    if not msgid:
        if msgtype != "event":
            raise Refusal(400, "message: no MsgId")
        # Events carry no MsgId; their identity is what happened where, by whom, when.
        msgid = "event:" + "|".join(
            [_text_of(root, "ChatId"), userid, event or "", _text_of(root, "CreateTime"), _text_of(root, "PostId")]
        )
    return Message(
        msgid=msgid,
        mode=ROBOT,
        chat_id=_text_of(root, "ChatId"),
        chat_type=_text_of(root, "ChatType"),
        sender=userid,
        sender_name=_text_of(sender, "Name"),
        msgtype=msgtype,
        text=text,
        raw=plaintext,
        webhook_url=_text_of(root, "WebhookUrl"),
        event=event,
    )


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _scrubbed(value: Any) -> Any:
    """`value` with every lone surrogate in its strings replaced by U+FFFD (the raw text keeps them)."""
    if isinstance(value, str):
        return _SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_scrubbed(k): _scrubbed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v) for v in value]
    return value


def read_aibot(plaintext: str, bot_names: tuple[str, ...]) -> Message:
    try:
        obj = json.loads(plaintext)
    except ValueError:
        raise Refusal(400, "message: malformed JSON") from None
    if not isinstance(obj, dict):
        raise Refusal(400, "message: not a JSON object")
    if "\\u" in plaintext:  # an escape may hide a lone surrogate (\ud800): valid JSON, but no storable text
        obj = _scrubbed(obj)
    msgtype = str(obj.get("msgtype") or "")
    msgid = str(obj.get("msgid") or "")
    if not msgtype or not msgid:
        raise Refusal(400, "message: no msgtype or msgid")
    sender = obj.get("from") if isinstance(obj.get("from"), dict) else {}
    text: str | None = None
    event = None
    if msgtype == "text" and isinstance(obj.get("text"), dict):
        text = strip_mention(str(obj["text"].get("content") or ""), bot_names)
    elif msgtype == "mixed" and isinstance(obj.get("mixed"), dict):
        items = obj["mixed"].get("msg_item")
        parts = [
            str(i["text"].get("content") or "")
            for i in (items if isinstance(items, list) else ())
            if isinstance(i, dict) and i.get("msgtype") == "text" and isinstance(i.get("text"), dict)
        ]
        text = strip_mention("".join(parts), bot_names) if parts else None
    elif msgtype == "event" and isinstance(obj.get("event"), dict):
        event = str(obj["event"].get("eventtype") or "") or None
    return Message(
        msgid=msgid,
        mode=AIBOT,
        chat_id=str(obj.get("chatid") or ""),
        chat_type=str(obj.get("chattype") or ""),
        sender=str(sender.get("userid") or ""),
        sender_name=str(sender.get("name") or ""),
        msgtype=msgtype,
        text=text,
        raw=plaintext,
        response_url=str(obj.get("response_url") or ""),
        event=event,
        extra={"aibotid": obj.get("aibotid")},
    )


def read_message(mode: str, plaintext: str, bot_names: tuple[str, ...]) -> Message:
    return read_robot(plaintext, bot_names) if mode == ROBOT else read_aibot(plaintext, bot_names)


def open_robot_reply(cipher: CallbackCipher, body: bytes) -> str:
    """The content of a sealed robot reply (markdown or text); '' for an empty 200.

    What `frontline say` and the demo do with the bot's answer, as WeCom would.
    """
    if not body.strip():
        return ""
    root = parse_xml(body)
    plain = cipher.open(
        root.findtext("Encrypt") or "",
        root.findtext("MsgSignature") or "",
        root.findtext("TimeStamp") or "",
        root.findtext("Nonce") or "",
    )
    inner = parse_xml(plain.encode())
    return inner.findtext("Markdown/Content") or inner.findtext("Text/Content") or ""
