"""The test peer itself: its cipher against wechatpy and Tencent's vectors, Caller, FakeWeCom."""

from __future__ import annotations

import base64
import json
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator

import pytest
import requests
from flask import Flask, Response, request
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException
from werkzeug.serving import make_server

from tests.fake_wecom import FakeWeCom
from tests.wecom_peer import (
    Caller,
    PeerCrypt,
    PeerError,
    aibot_text_json,
    envelope_xml,
    new_aes_key,
    robot_event_xml,
    robot_image_xml,
    robot_text_xml,
)

TOKEN = "frontline-test-token"


@pytest.fixture()
def crypt() -> PeerCrypt:
    return PeerCrypt(TOKEN, new_aes_key(), "")


# ---------------------------------------------------------------- cipher


def test_new_aes_key_shape() -> None:
    key = new_aes_key()
    assert len(key) == 43
    assert len(base64.b64decode(key + "=")) == 32


@pytest.mark.parametrize("text", ["", "a", "x" * 11, "x" * 12, "x" * 44, "@前线助手 今天拜访了市一院", "🙂" * 300])
def test_round_trip(crypt: PeerCrypt, text: str) -> None:
    enc = crypt.encrypt(text)
    raw = base64.b64decode(enc)
    assert len(raw) % 32 == 0  # padded to 32-byte blocks
    assert crypt.decrypt(enc) == (text, "")


def test_round_trip_with_receive_id() -> None:
    c = PeerCrypt(TOKEN, new_aes_key(), "ww1436e0e65a779aee")
    assert c.decrypt(c.encrypt("hi")) == ("hi", "ww1436e0e65a779aee")


def test_same_plaintext_encrypts_differently(crypt: PeerCrypt) -> None:
    assert crypt.encrypt("hi") != crypt.encrypt("hi")
    fixed = bytes(16)
    assert crypt.encrypt("hi", prefix=fixed) == crypt.encrypt("hi", prefix=fixed)


def test_signature_is_sha1_of_sorted_parts(crypt: PeerCrypt) -> None:
    import hashlib

    parts = sorted([TOKEN, "1700000000", "nonce1", "ENC"])
    assert crypt.sign("1700000000", "nonce1", "ENC") == hashlib.sha1("".join(parts).encode()).hexdigest()


def test_open_rejects_bad_signature_and_wrong_receive_id(crypt: PeerCrypt) -> None:
    sealed = crypt.seal("hello")
    assert crypt.open(sealed["msgsignature"], sealed["timestamp"], sealed["nonce"], sealed["encrypt"]) == "hello"
    with pytest.raises(PeerError, match="signature"):
        crypt.open("0" * 40, sealed["timestamp"], sealed["nonce"], sealed["encrypt"])
    other = PeerCrypt(TOKEN, crypt.aes_key, "ww-someone-else")
    enc = other.encrypt("hello")
    with pytest.raises(PeerError, match="receive id"):
        crypt.open(crypt.sign("1", "n", enc), "1", "n", enc)


def test_wrong_key_is_rejected(crypt: PeerCrypt) -> None:
    other = PeerCrypt(TOKEN, new_aes_key(), "")
    with pytest.raises(PeerError):
        for _ in range(8):  # a random key may unpad by chance; eight tries never all do
            other.decrypt(crypt.encrypt("hello world"))


# ---------------------------------------------------------------- against wechatpy


def test_wechatpy_decrypts_what_the_peer_encrypts(crypt: PeerCrypt) -> None:
    wx = WeChatCrypto(TOKEN, crypt.aes_key, "")
    xml, msgid = robot_text_xml("@前线助手 今天拜访了市一院设备科王主任")
    enc = crypt.encrypt(xml)
    sig = crypt.sign("1700000000", "n0nce", enc)
    assert wx.decrypt_message(envelope_xml(enc), sig, "1700000000", "n0nce") == xml
    assert wx.check_signature(sig, "1700000000", "n0nce", enc) == xml
    with pytest.raises(InvalidSignatureException):
        wx.decrypt_message(envelope_xml(enc), "f" * 40, "1700000000", "n0nce")


def test_peer_decrypts_what_wechatpy_encrypts(crypt: PeerCrypt) -> None:
    wx = WeChatCrypto(TOKEN, crypt.aes_key, "")
    reply = "<xml><MsgType>text</MsgType><Text><Content>收到，已记录</Content></Text></xml>"
    envelope = wx.encrypt_message(reply, "abc123", "1700000001")
    from tests.wecom_peer import open_robot_reply

    assert open_robot_reply(crypt, envelope) == reply


def test_wechatpy_and_peer_agree_on_receive_id() -> None:
    key = new_aes_key()
    peer = PeerCrypt(TOKEN, key, "ww-corp-a")
    wx_other = WeChatCrypto(TOKEN, key, "ww-corp-b")
    enc = peer.encrypt("<xml/>")
    with pytest.raises(InvalidCorpIdException):
        wx_other.decrypt_message(envelope_xml(enc), peer.sign("1", "2", enc), "1", "2")
    env = WeChatCrypto(TOKEN, key, "ww-corp-b").encrypt_message("<xml/>", "2", "1")
    with pytest.raises(PeerError, match="receive id"):
        Caller(peer, client=object()).open_robot_reply(env)


def test_tencent_sample_vectors() -> None:
    """Vectors from Tencent's sample (sbzhu/weworkapi_python, callback/Sample.py)."""
    c = PeerCrypt(
        "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo",
        "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
        "ww1436e0e65a779aee",
    )
    echostr = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
    assert c.sign("1476416373", "47744683", echostr) == "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert c.open("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", echostr) == (
        "1288432023552776189"
    )


# ---------------------------------------------------------------- builders


def test_robot_text_xml_shape() -> None:
    xml, msgid = robot_text_xml("@前线助手 hello", msgid="CAEQi5HR8wUY/NGagIOAgAMgXQ==")
    root = ET.fromstring(xml)
    assert msgid == root.findtext("MsgId") == "CAEQi5HR8wUY/NGagIOAgAMgXQ=="
    assert root.findtext("MsgType") == "text"
    assert root.findtext("Text/Content") == "@前线助手 hello"
    assert root.findtext("From/UserId") == "zhangwei"
    assert root.findtext("From/Name") == "张伟"
    assert root.findtext("ChatId") == "wrkChat001"
    assert root.findtext("ChatType") == "group"
    for tag in ("WebhookUrl", "PostId", "GetChatInfoUrl", "From/Alias"):
        assert root.find(tag) is not None
    assert "<![CDATA[@前线助手 hello]]>" in xml


def test_builders_make_unique_ids_and_other_types() -> None:
    ids = {robot_text_xml("x")[1] for _ in range(50)}
    assert len(ids) == 50 and not any(i.isdigit() for i in ids)
    ev, _ = robot_event_xml("delete_from_chat")
    assert ET.fromstring(ev).findtext("Event/EventType") == "delete_from_chat"
    img, _ = robot_image_xml("https://example.invalid/a.png")
    assert ET.fromstring(img).findtext("Image/ImageUrl") == "https://example.invalid/a.png"
    tricky, _ = robot_text_xml("a ]]> b")
    assert ET.fromstring(tricky).findtext("Text/Content") == "a ]]> b"
    js, msgid = aibot_text_json("@前线助手 hi", userid="lisi", chatid="c1")
    body = json.loads(js)
    assert body["msgid"] == msgid and body["from"]["userid"] == "lisi" and body["chatid"] == "c1"
    assert body["msgtype"] == "text" and body["text"]["content"] == "@前线助手 hi"


# ---------------------------------------------------------------- Caller against a wechatpy-backed app


def _echo_app(token: str, aes_key: str) -> Flask:
    """A minimal callback app built on wechatpy: the other implementation that Caller talks to."""
    wx = WeChatCrypto(token, aes_key, "")
    app = Flask("peer-echo")

    @app.get("/wecom/callback")
    def verify() -> Response | tuple[str, int]:
        a = request.args
        try:
            echo = wx.check_signature(a["msg_signature"], a["timestamp"], a["nonce"], a["echostr"])
        except (InvalidSignatureException, InvalidCorpIdException):
            return "bad", 403
        return Response(echo, mimetype="text/plain")

    @app.post("/wecom/callback")
    def callback() -> Response | tuple[str, int]:
        a = request.args
        is_json = request.is_json
        body = {"Encrypt": request.get_json()["encrypt"]} if is_json else request.get_data(as_text=True)
        try:
            plain = wx.decrypt_message(body, a["msg_signature"], a["timestamp"], a["nonce"])
        except (InvalidSignatureException, InvalidCorpIdException):
            return "bad", 403
        if is_json:
            content = json.loads(plain)["text"]["content"]
            reply = json.dumps({"msgtype": "stream", "stream": {"id": "s1", "finish": True, "content": content}})
            env = ET.fromstring(wx.encrypt_message(reply, a["nonce"], a["timestamp"]))
            return Response(
                json.dumps(
                    {
                        "encrypt": env.findtext("Encrypt"),
                        "msgsignature": env.findtext("MsgSignature"),
                        "timestamp": env.findtext("TimeStamp"),
                        "nonce": env.findtext("Nonce"),
                    }
                ),
                mimetype="application/json",
            )
        root = ET.fromstring(plain)
        if root.findtext("MsgType") != "text":
            return Response("", mimetype="text/plain")
        content = root.findtext("Text/Content")
        reply = f"<xml><MsgType>text</MsgType><Text><Content>{content}</Content></Text></xml>"
        return Response(wx.encrypt_message(reply, a["nonce"], a["timestamp"]), mimetype="text/xml")

    return app


def test_caller_with_flask_client(crypt: PeerCrypt) -> None:
    caller = Caller(crypt, client=_echo_app(TOKEN, crypt.aes_key).test_client())
    echo = "ab+cd/ef==1288432023552776189"  # '+' must survive URL encoding
    assert caller.verify_url(echo) == (200, echo)
    assert caller.verify_url(echo, tamper_signature=True)[0] == 403

    status, body = caller.post_robot(robot_text_xml("@前线助手 你好")[0])
    assert status == 200
    assert "<Content>@前线助手 你好</Content>" in caller.open_robot_reply(body)
    assert caller.post_robot(robot_text_xml("x")[0], tamper_signature=True)[0] == 403
    status, body = caller.post_robot(robot_event_xml()[0])
    assert (status, caller.open_robot_reply(body)) == (200, "")

    status, body = caller.post_aibot(aibot_text_json("@前线助手 hi")[0])
    assert status == 200
    assert caller.open_aibot_reply(body)["stream"]["content"] == "@前线助手 hi"
    assert caller.open_aibot_reply(b"") == {}


def test_caller_rejects_tampered_reply(crypt: PeerCrypt) -> None:
    caller = Caller(crypt, client=object())
    sealed = crypt.seal("<xml/>")
    good = (
        f"<xml><Encrypt><![CDATA[{sealed['encrypt']}]]></Encrypt><MsgSignature><![CDATA["
        f"{sealed['msgsignature']}]]></MsgSignature><TimeStamp>{sealed['timestamp']}</TimeStamp>"
        f"<Nonce><![CDATA[{sealed['nonce']}]]></Nonce></xml>"
    )
    assert caller.open_robot_reply(good) == "<xml/>"
    with pytest.raises(PeerError):
        caller.open_robot_reply(good.replace(sealed["nonce"], "other-nonce"))
    with pytest.raises(PeerError):
        caller.open_aibot_reply(json.dumps({**sealed, "timestamp": "1"}))


@pytest.fixture()
def echo_server(crypt: PeerCrypt) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _echo_app(TOKEN, crypt.aes_key), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_caller_over_http(crypt: PeerCrypt, echo_server: str) -> None:
    caller = Caller(crypt, base_url=echo_server)
    try:
        assert caller.verify_url("hello+world") == (200, "hello+world")
        status, body = caller.post_robot(robot_text_xml("ping")[0])
        assert status == 200 and "<Content>ping</Content>" in caller.open_robot_reply(body)
        assert caller.post_robot("", raw_body=b"<xml><Encrypt>garbage</Encrypt></xml>")[0] == 403
    finally:
        caller.close()


# ---------------------------------------------------------------- FakeWeCom


@pytest.fixture()
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom() as f:
        yield f


def test_fake_records_posts(fake: FakeWeCom) -> None:
    s = requests.Session()
    r = s.post(fake.webhook_url("k1"), json={"msgtype": "text", "text": {"content": "早上好"}}, timeout=5)
    assert r.json() == {"errcode": 0, "errmsg": "ok"}
    s.post(fake.webhook_url("k2"), json={"msgtype": "markdown", "markdown": {"content": "**周报**"}}, timeout=5)
    s.post(fake.webhook_url("k2"), json={"msgtype": "image", "image": {"base64": "", "md5": ""}}, timeout=5)
    assert fake.wait_for(3, timeout=1)
    assert [k for k, _ in fake.posts] == ["k1", "k2", "k2"]
    assert fake.texts() == ["早上好", "**周报**"]
    assert not fake.wait_for(4, timeout=0.01)


def test_fake_replays_failure_steps_in_order(fake: FakeWeCom) -> None:
    fake.fail_next(45009, -1, "http500", "http400", "drop", 93000, 40008)
    url = fake.webhook_url()
    body = {"msgtype": "text", "text": {"content": "x"}}
    seen: list[object] = []
    for _ in range(8):
        try:
            r = requests.post(url, json=body, timeout=5)
        except requests.ConnectionError:
            seen.append("drop")
            continue
        seen.append(r.json()["errcode"] if r.status_code == 200 else f"http{r.status_code}")
    assert seen == [45009, -1, "http500", "http400", "drop", 93000, 40008, 0]
    assert len(fake.posts) == 1 and fake.texts() == ["x"]
    assert [a.outcome for a in fake.attempts][:3] == ["errcode:45009", "errcode:-1", "http500"]
    assert fake.pending_steps() == 0
    with pytest.raises(ValueError):
        fake.fail_next("explode")


def test_fake_upload_media(fake: FakeWeCom) -> None:
    r = requests.post(fake.upload_url("k1"), files={"media": ("周报.xlsx", b"PK\x03\x04data")}, timeout=5)
    answer = r.json()
    assert answer["errcode"] == 0 and answer["media_id"].startswith("m-")
    up = fake.uploads[0]
    assert (up.key, up.type, up.field, up.filename, up.data) == (
        "k1",
        "file",
        "media",
        "周报.xlsx",
        b"PK\x03\x04data",
    )
    assert up.media_id == answer["media_id"]
