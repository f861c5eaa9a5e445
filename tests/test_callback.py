"""The receiving path, end to end through the Flask app with a real cipher on both sides."""

from __future__ import annotations

import json
import logging

import pytest
from defusedxml.ElementTree import fromstring

from bot.models import InboundMessage, Outbox
from tests.conftest import CHAT, Bot, both_backends
from tests.wecom_peer import PeerCrypt, aibot_text_json, envelope_xml, robot_event_xml, robot_image_xml, robot_text_xml


def reply_content(xml: str) -> tuple[str, str]:
    root = fromstring(xml.encode())
    kind = root.findtext("MsgType") or ""
    return kind, root.findtext("Markdown/Content") or root.findtext("Text/Content") or ""


# ------------------------------------------------------------------ URL verification
def test_url_verification_returns_the_plaintext(bot: Bot) -> None:
    status, body = bot.caller.verify_url("echo+with/plus=1234567890")
    assert (status, body) == (200, "echo+with/plus=1234567890")


def test_url_verification_with_a_bad_signature_is_refused(bot: Bot) -> None:
    status, body = bot.caller.verify_url("hello", tamper_signature=True)
    assert status == 403 and body == "invalid signature"


def test_url_verification_without_parameters_is_a_400(bot: Bot) -> None:
    resp = bot.caller.client.get("/wecom/callback")
    assert resp.status_code == 400 and b"missing" in resp.data


# ------------------------------------------------------------------ accepted messages
@both_backends
def test_robot_text_is_stored_with_the_mention_stripped_and_answered(bot: Bot) -> None:
    xml, msgid = robot_text_xml("@前线助手 在吗", chatid=CHAT, userid="lina", name="李娜")
    status, body = bot.caller.post_robot(xml)
    assert status == 200
    kind, content = reply_content(bot.caller.open_robot_reply(body))
    assert kind == "markdown"
    assert "/帮助" in content
    [row] = bot.rows(InboundMessage)
    assert (row.msgid, row.chat_id, row.sender, row.sender_name, row.text, row.mode) == (
        msgid,
        CHAT,
        "lina",
        "李娜",
        "在吗",
        "robot",
    )
    assert row.raw == xml and row.reply == content and row.handled_at is not None


@both_backends
def test_ai_bot_json_gets_a_stream_reply(bot: Bot) -> None:
    plain, msgid = aibot_text_json("@前线助手 你好", chatid=CHAT, userid="zhangwei")
    status, body = bot.caller.post_aibot(plain)
    assert status == 200
    reply = bot.caller.open_aibot_reply(body)
    assert reply["msgtype"] == "stream"
    assert reply["stream"]["finish"] is True and "/帮助" in reply["stream"]["content"]
    [row] = bot.rows(InboundMessage)
    assert (row.mode, row.msgid, row.text) == ("aibot", msgid, "你好")


@both_backends
@pytest.mark.parametrize("items", [5, [{"msgtype": "text", "text": "你好"}], [{"msgtype": "text"}]])
def test_an_ai_bot_mixed_message_of_odd_shape_is_stored_and_ignored(bot: Bot, items: object) -> None:
    plain = json.dumps(
        {"msgid": "odd-1", "chatid": CHAT, "chattype": "group", "from": {"userid": "zhangwei"},
         "msgtype": "mixed", "mixed": {"msg_item": items}}
    )  # fmt: skip
    status, _ = bot.caller.post_aibot(plain)
    assert status == 200
    [row] = bot.rows(InboundMessage)
    assert (row.msgid, row.text) == ("odd-1", None)


@both_backends
def test_a_lone_surrogate_in_ai_bot_text_is_stored_as_a_replacement_character(bot: Bot) -> None:
    head = json.dumps({"msgid": "sur-1", "chatid": CHAT, "chattype": "group", "from": {"userid": "zhangwei"}})
    plain = head[:-1] + ', "msgtype": "text", "text": {"content": "@前线助手 你好\\ud800"}}'
    status, body = bot.caller.post_aibot(plain)
    assert status == 200 and bot.caller.open_aibot_reply(body)["stream"]["finish"] is True
    [row] = bot.rows(InboundMessage)
    assert (row.msgid, row.text, row.raw) == ("sur-1", "你好\ufffd", plain)


@both_backends
def test_a_retried_message_is_handled_once_and_gets_the_first_reply(bot: Bot) -> None:
    xml, _ = robot_text_xml("@前线助手 在吗", chatid=CHAT)
    first = bot.caller.open_robot_reply(bot.caller.post_robot(xml)[1])
    for _ in range(3):  # WeCom retries up to three times
        status, body = bot.caller.post_robot(xml)
        assert status == 200
        assert reply_content(bot.caller.open_robot_reply(body)) == reply_content(first)
    assert bot.count(InboundMessage) == 1


@both_backends
def test_unknown_message_types_are_stored_and_ignored(bot: Bot) -> None:
    xml, msgid = robot_image_xml(chatid=CHAT)
    status, body = bot.caller.post_robot(xml)
    assert (status, body) == (200, b"")
    [row] = bot.rows(InboundMessage)
    assert row.msgid == msgid and row.msgtype == "image" and row.reply is None


def test_joining_the_group_is_answered_with_a_welcome(bot: Bot) -> None:
    xml, _ = robot_event_xml("add_to_chat", chatid=CHAT)
    status, body = bot.caller.post_robot(xml)
    assert status == 200
    _, content = reply_content(bot.caller.open_robot_reply(body))
    assert "前线助手" in content and "/帮助" in content


def test_sensitive_numbers_are_masked_in_storage(bot: Bot) -> None:
    xml, _ = robot_text_xml("@前线助手 王主任电话13812345678，身份证110101199003071234", chatid=CHAT)
    bot.caller.post_robot(xml)
    [row] = bot.rows(InboundMessage)
    assert "13812345678" not in row.text and "138****5678" in row.text
    assert "110101199003071234" not in row.raw and "110101********1234" in row.raw


@both_backends
def test_a_failing_handler_keeps_the_message_and_apologises(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*_a: object) -> None:
        raise RuntimeError("handler bug")

    monkeypatch.setattr(bot.runtime.service.dispatcher, "dispatch", boom)
    xml, msgid = robot_text_xml("@前线助手 在吗", chatid=CHAT)
    status, body = bot.caller.post_robot(xml)
    assert status == 200
    assert "出了错" in reply_content(bot.caller.open_robot_reply(body))[1]
    [row] = bot.rows(InboundMessage)
    assert row.msgid == msgid and row.error.startswith("RuntimeError")


@both_backends
def test_a_long_reply_is_cut_and_the_rest_goes_through_the_outbox(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.dispatch import Reply

    long_text = "\n".join(f"第{i}行：" + "记录" * 40 for i in range(60))  # ~14 KB
    monkeypatch.setattr(bot.runtime.service.dispatcher, "dispatch", lambda m, c: ("t", Reply(long_text)))
    xml, _ = robot_text_xml("@前线助手 长", chatid=CHAT)
    _, body = bot.caller.post_robot(xml)
    _, first = reply_content(bot.caller.open_robot_reply(body))
    assert len(first.encode()) <= 4096 and first.startswith("第0行")
    bot.drain()
    posted = "\n".join(bot.fake.texts())
    assert (first + "\n" + posted).replace("\n", "") == long_text.replace("\n", "")


# ------------------------------------------------------------------ refusals: 4xx, nothing stored, one log line
def _refused(
    bot: Bot, status: int, body: bytes, expected_status: int, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    assert status == expected_status, body
    assert reason in body.decode()
    assert bot.count(InboundMessage) == 0
    assert len([r for r in caplog.records if "refused" in r.getMessage()]) == 1


def test_bad_signature(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    xml, _ = robot_text_xml("hi", chatid=CHAT)
    _refused(bot, *bot.caller.post_robot(xml, tamper_signature=True), 403, "invalid signature", caplog)


def test_missing_signature(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    resp = bot.caller.client.post("/wecom/callback", data=envelope_xml("abc"))
    _refused(bot, resp.status_code, resp.data, 400, "missing", caplog)


def test_wrong_receive_id(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    other = PeerCrypt(bot.crypt.token, bot.caller.crypt.aes_key, "wwCorpSomeoneElse")
    bot.caller.crypt = other
    xml, _ = robot_text_xml("hi", chatid=CHAT)
    _refused(bot, *bot.caller.post_robot(xml), 403, "wrong receive id", caplog)


def test_undecryptable_body(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    garbage = "bm90IHJlYWxseSBlbmNyeXB0ZWQ="  # base64, signed, but not our ciphertext
    ts, nonce = "1700000000", "n0nce"
    sig = bot.crypt.sign(ts, nonce, garbage)
    resp = bot.caller.client.post(
        f"/wecom/callback?msg_signature={sig}&timestamp={ts}&nonce={nonce}", data=envelope_xml(garbage)
    )
    _refused(bot, resp.status_code, resp.data, 400, "undecryptable", caplog)


def test_malformed_envelope(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    xml, _ = robot_text_xml("hi", chatid=CHAT)
    _refused(bot, *bot.caller.post_robot(xml, raw_body=b"<xml><Encrypt>"), 400, "malformed", caplog)


def test_malformed_decrypted_message(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    _refused(bot, *bot.caller.post_robot("<xml><MsgType>text</MsgType"), 400, "malformed", caplog)


def test_an_envelope_in_an_unknown_encoding_unsigned(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    body = b'<?xml version="1.0" encoding="x-nope"?><xml><Encrypt>a</Encrypt></xml>'
    resp = bot.caller.client.post("/wecom/callback?msg_signature=x&timestamp=1&nonce=n", data=body)
    _refused(bot, resp.status_code, resp.data, 400, "malformed", caplog)


def test_a_message_in_an_unknown_encoding(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    inner = '<?xml version="1.0" encoding="x-nope"?><xml><MsgType>text</MsgType></xml>'
    _refused(bot, *bot.caller.post_robot(inner), 400, "malformed", caplog)


@pytest.mark.parametrize(
    "frame",
    [
        bytes(16) + bytes([16]) * 16,  # 16 bytes left after the padding: no room for the length field
        bytes([32]) * 32,  # a padding byte that takes the whole frame
    ],
)
def test_a_signed_frame_too_short_for_a_message(bot: Bot, caplog: pytest.LogCaptureFixture, frame: bytes) -> None:
    encrypt = bot.crypt.encrypt_frame(frame)
    ts, nonce = "1700000000", "n0nce"
    sig = bot.crypt.sign(ts, nonce, encrypt)
    resp = bot.caller.client.post(
        f"/wecom/callback?msg_signature={sig}&timestamp={ts}&nonce={nonce}", data=envelope_xml(encrypt)
    )
    _refused(bot, resp.status_code, resp.data, 400, "undecryptable", caplog)


def test_billion_laughs_in_the_envelope(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        "<xml><Encrypt>&lol2;</Encrypt></xml>"
    )
    xml, _ = robot_text_xml("hi", chatid=CHAT)
    _refused(bot, *bot.caller.post_robot(xml, raw_body=bomb), 400, "DTDs and entities", caplog)


def test_xxe_inside_the_encrypted_message(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<xml><MsgType>text</MsgType><Text><Content>&x;</Content></Text><MsgId>m1</MsgId></xml>"
    )
    _refused(bot, *bot.caller.post_robot(xxe), 400, "DTDs and entities", caplog)


def test_body_over_one_megabyte(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    xml, _ = robot_text_xml("hi", chatid=CHAT)
    _refused(bot, *bot.caller.post_robot(xml, raw_body=b"<xml>" + b"a" * (1024 * 1024 + 1)), 413, "1 MB", caplog)


def test_a_chat_the_bot_does_not_serve(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    xml, _ = robot_text_xml("@前线助手 在吗", chatid="wrkSomeOtherGroup")
    _refused(bot, *bot.caller.post_robot(xml), 403, "chat not served", caplog)


def test_ai_bot_envelope_without_encrypt(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    plain, _ = aibot_text_json("hi", chatid=CHAT)
    _refused(bot, *bot.caller.post_aibot(plain, raw_body=json.dumps({"x": 1})), 400, "no encrypt", caplog)


# ------------------------------------------------------------------ secrets stay out of logs
def test_logs_never_hold_the_token_the_aes_key_or_a_webhook_key(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    bot.fake.fail_next(-1, 93000)
    from bot.db import session_scope
    from bot.wecom.outbox import enqueue

    with session_scope(bot.engine) as s:
        enqueue(s, bot.settings.wecom.webhook_url, "text", "第一条", now=bot.clock())
    bot.drain()
    bot.clock.advance(seconds=5)
    bot.drain()
    xml, _ = robot_text_xml("hi", chatid=CHAT)
    bot.caller.post_robot(xml, tamper_signature=True)
    text = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "team-key" not in text
    assert bot.settings.wecom.token not in text
    assert bot.settings.wecom.encoding_aes_key not in text
    [row] = bot.rows(Outbox)
    assert row.state == "failed" and "93000" in row.error


@both_backends
def test_a_reply_that_misses_the_deadline_goes_to_the_group_instead(bot: Bot) -> None:
    from dataclasses import replace

    service = bot.runtime.service
    service.settings = replace(service.settings, reply_budget_seconds=-1.0)  # every reply is "too late"
    xml, _ = robot_text_xml("@前线助手 在吗", chatid=CHAT)
    status, body = bot.caller.post_robot(xml)
    assert (status, body) == (200, b"")  # WeCom gets an empty 200 ...
    bot.drain()
    [post] = bot.fake.texts()  # ... and the group gets the answer through the outbox
    assert "/帮助" in post


@both_backends
def test_a_handlers_own_constraint_error_is_not_taken_for_a_retry(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.models import Member

    def clashing(message: object, ctx: object) -> tuple[str, None]:
        ctx.records.insert(Member, userid="zhangwei", name="again", role="rep")  # type: ignore[attr-defined]
        return "t", None

    monkeypatch.setattr(bot.runtime.service.dispatcher, "dispatch", clashing)
    xml, msgid = robot_text_xml("@前线助手 在吗", chatid=CHAT)
    status, body = bot.caller.post_robot(xml)
    assert status == 200 and "出了错" in reply_content(bot.caller.open_robot_reply(body))[1]
    [row] = bot.rows(InboundMessage)
    # SQLite's driver says "IntegrityError: UNIQUE constraint failed", psycopg "UniqueViolation: ... unique constraint"
    assert row.msgid == msgid and "unique constraint" in row.error.lower()


def test_a_request_no_reader_foresaw_is_a_400_not_a_500(
    bot: Bot, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.callback as callback

    def surprised(*_a: object) -> None:
        raise KeyError("a shape nobody foresaw")

    monkeypatch.setattr(callback, "read_message", surprised)
    xml, _ = robot_text_xml("hi", chatid=CHAT)
    _refused(bot, *bot.caller.post_robot(xml), 400, "unreadable request", caplog)
