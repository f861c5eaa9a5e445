"""The outbox: nothing dropped, nothing sent twice, in order, at WeCom's pace, resumed after a restart."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.db import session_scope
from bot.models import Outbox
from bot.wecom.outbound import WebhookClient, build_posts, split_content
from bot.wecom.outbox import OutboxWorker, enqueue
from tests.conftest import Bot, both_backends


def post(bot: Bot, *texts: str, msgtype: str = "text", mentions: list[str] | None = None) -> None:
    with session_scope(bot.engine) as s:
        for t in texts:
            enqueue(s, bot.settings.wecom.webhook_url, msgtype, t, mentions=mentions, now=bot.clock())


def states(bot: Bot) -> list[str]:
    return [r.state for r in bot.rows(Outbox)]


@both_backends
def test_a_post_reaches_the_group_once(bot: Bot) -> None:
    post(bot, "早上好", mentions=["zhangwei"])
    bot.drain()
    bot.drain()
    assert bot.fake.bodies() == [{"msgtype": "text", "text": {"content": "早上好", "mentioned_list": ["zhangwei"]}}]
    assert states(bot) == ["sent"]


@both_backends
@pytest.mark.parametrize("failure", ["http500", -1, 45009, "drop"])
def test_transient_failures_are_retried_with_backoff(bot: Bot, failure: int | str) -> None:
    bot.fake.fail_next(failure)
    post(bot, "急需提醒")
    bot.drain()
    assert bot.fake.texts() == [] and states(bot) == ["pending"]
    [row] = bot.rows(Outbox)
    assert row.attempts == 1 and row.next_attempt_at > bot.clock()
    bot.drain()  # not due yet: nothing sent
    assert bot.fake.texts() == []
    bot.clock.advance(seconds=61)
    bot.drain()
    assert bot.fake.texts() == ["急需提醒"] and states(bot) == ["sent"]


@both_backends
@pytest.mark.parametrize(("failure", "reason"), [(93000, "93000"), (40008, "40008"), ("http400", "HTTP 400")])
def test_permanent_errors_are_marked_failed_and_later_posts_still_go(bot: Bot, failure: int | str, reason: str) -> None:
    bot.fake.fail_next(failure)
    post(bot, "第一条", "第二条")
    bot.drain()
    rows = bot.rows(Outbox)
    assert [r.state for r in rows] == ["failed", "sent"]
    assert reason in rows[0].error
    assert bot.fake.texts() == ["第二条"]


def test_system_busy_is_retried_at_most_three_times(bot: Bot) -> None:
    bot.fake.fail_next(-1, -1, -1, -1)
    post(bot, "x")
    for _ in range(5):
        bot.drain()
        bot.clock.advance(seconds=400)
    [row] = bot.rows(Outbox)
    assert row.state == "failed" and row.attempts == 4 and "gave up" in row.error
    assert bot.fake.texts() == []


def test_posts_go_in_order_and_a_retrying_head_holds_the_queue(bot: Bot) -> None:
    bot.fake.fail_next("http500")
    post(bot, "1", "2", "3")
    bot.drain()
    assert bot.fake.texts() == []  # 2 and 3 wait behind 1
    bot.clock.advance(seconds=3)
    bot.drain()
    assert bot.fake.texts() == ["1", "2", "3"]


def test_at_most_twenty_posts_a_minute(bot: Bot) -> None:
    post(bot, *[f"第{i}条" for i in range(25)])
    bot.drain()
    assert len(bot.fake.texts()) == 20
    bot.clock.advance(seconds=30)
    bot.drain()
    assert len(bot.fake.texts()) == 20
    bot.clock.advance(seconds=31)
    bot.drain()
    assert bot.fake.texts() == [f"第{i}条" for i in range(25)]


@both_backends
def test_a_restart_resumes_where_it_stopped_and_sends_nothing_twice(bot: Bot) -> None:
    post(bot, "a", "b", "c")
    bot.runtime.worker.drain(limit=1)
    assert bot.fake.texts() == ["a"]
    # The process stops; a new one, with a new worker, starts on the same database.
    restarted = OutboxWorker(bot.engine, WebhookClient(), clock=bot.clock)
    restarted.drain()
    restarted.drain()
    assert bot.fake.texts() == ["a", "b", "c"]


@both_backends
def test_a_post_claimed_by_a_crashed_process_is_sent_after_its_lease(bot: Bot) -> None:
    post(bot, "在途")
    with session_scope(bot.engine) as s:
        row = s.exec(select(Outbox)).one()
        row.state, row.claimed_until = "sending", bot.clock() + timedelta(seconds=60)
    bot.drain()
    assert bot.fake.texts() == []  # someone else holds it
    bot.clock.advance(seconds=61)
    bot.drain()
    assert bot.fake.texts() == ["在途"]


@both_backends
def test_two_workers_on_one_database_send_each_post_once(bot: Bot) -> None:
    post(bot, *[str(i) for i in range(15)])
    workers = [OutboxWorker(bot.engine, WebhookClient(), clock=bot.clock) for _ in range(2)]
    threads = [threading.Thread(target=w.drain) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(bot.fake.texts(), key=int) == [str(i) for i in range(15)]
    assert len(bot.fake.texts()) == 15


def test_the_worker_thread_delivers_without_being_asked(bot: Bot) -> None:
    worker = bot.runtime.worker
    worker.start()
    try:
        post(bot, "后台发送")
        worker.notify()
        assert bot.fake.wait_for(1, timeout=5)
    finally:
        worker.stop()
    assert bot.fake.texts() == ["后台发送"]


def test_a_long_post_is_split_into_several(bot: Bot) -> None:
    content = "\n".join(f"{i:03d} " + "数据" * 60 for i in range(30))  # ~11 KB
    post(bot, content, msgtype="markdown")
    bot.drain()
    parts = bot.fake.texts()
    assert len(parts) == 3
    assert all(len(p.encode()) <= 4096 for p in parts)
    assert "\n".join(parts) == content


# ------------------------------------------------------------------ splitting, pure
def test_split_keeps_whole_lines_within_the_byte_limit() -> None:
    lines = [f"行{i}" + "字" * 100 for i in range(50)]
    chunks = split_content("\n".join(lines), 2048)
    assert all(len(c.encode()) <= 2048 for c in chunks)
    assert [line for c in chunks for line in c.split("\n")] == lines


def test_split_cuts_a_line_longer_than_the_limit_at_characters() -> None:
    line = "急" * 1000  # 3000 bytes
    chunks = split_content(line, 2048)
    assert "".join(chunks) == line and all(len(c.encode()) <= 2048 for c in chunks)


def test_short_content_is_one_post() -> None:
    assert split_content("收到", 2048) == ["收到"]


def test_text_mentions_ride_on_the_last_chunk() -> None:
    posts = build_posts("text", "\n".join(["一" * 300] * 3), ["lina", "chenjing"])
    assert len(posts) == 2
    assert "mentioned_list" not in posts[0]["text"]
    assert posts[-1]["text"]["mentioned_list"] == ["lina", "chenjing"]
    assert json.dumps(posts)  # plain JSON bodies


@both_backends
def test_a_file_is_uploaded_then_posted_and_retried_as_a_whole(bot: Bot) -> None:
    from bot.wecom.outbox import enqueue_file

    bot.fake.fail_next(45009)  # the upload is rate limited once
    with session_scope(bot.engine) as s:
        enqueue_file(s, bot.settings.wecom.webhook_url, "拜访.csv", "编号,客户\n1,市一院\n".encode(), now=bot.clock())
    bot.drain()
    assert bot.fake.uploads == [] and states(bot) == ["pending"]
    bot.clock.advance(seconds=61)
    bot.drain()
    [upload] = bot.fake.uploads
    assert (upload.filename, upload.data.decode()) == ("拜访.csv", "编号,客户\n1,市一院\n")
    assert bot.fake.bodies() == [{"msgtype": "file", "file": {"media_id": upload.media_id}}]
    assert states(bot) == ["sent"]
