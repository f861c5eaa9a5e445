"""A database made by an older Frontline is brought up to date when the bot starts."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from bot.models import Followup, Leave, Urgent
from tests.conftest import Bot, both_backends
from tests.test_commands import CUSTOMERS, REP2, RULES, VISIT, say


def downgrade(database_url: str, table: str) -> None:
    """Make `table` as Frontline made it before it used AUTOINCREMENT (rows and ids kept)."""
    db = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        (ddl,) = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
        assert "AUTOINCREMENT" in ddl
        db.execute("PRAGMA foreign_keys=OFF")
        db.execute("BEGIN")
        db.execute(f"ALTER TABLE {table} RENAME TO old_{table}")  # its indexes go with it
        db.execute(ddl.replace(" AUTOINCREMENT", ""))
        db.execute(f"INSERT INTO {table} SELECT * FROM old_{table}")
        db.execute(f"DROP TABLE old_{table}")
        db.execute("DELETE FROM sqlite_sequence WHERE name = ?", (table,))
        db.execute("COMMIT")
    finally:
        db.close()


def table_sql(database_url: str, table: str) -> tuple[str, list[str]]:
    db = sqlite3.connect(database_url.removeprefix("sqlite:///"))
    try:
        (ddl,) = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
        indexes = [r[0] for r in db.execute(query, (table,))]
        return ddl, sorted(indexes)
    finally:
        db.close()


def test_an_old_database_no_longer_gives_a_withdrawn_urgent_number_again(
    make_bot: Callable[..., Bot], database_url: str
) -> None:
    old = make_bot(customers=CUSTOMERS, rules=RULES)
    say(old, "急！市一院ICU今晚要3台呼吸机", user=REP2)
    say(old, "急！市二院手术室明早要2台监护仪", user=REP2)
    say(old, VISIT + "，痛点是维修慢，竞品GE")  # a first visit: its follow-ups are numbered too
    followups = [(f.id, f.kind) for f in old.rows(Followup)]
    _, indexes = table_sql(database_url, "urgent")
    old.runtime.engine.dispose()
    downgrade(database_url, "urgent")
    downgrade(database_url, "followup")
    assert table_sql(database_url, "urgent")[1] == []

    team = make_bot(customers=CUSTOMERS, rules=RULES)  # the new version starts on the old file
    assert [(u.id, "监护仪" in u.items) for u in team.rows(Urgent)] == [(1, False), (2, True)]
    assert [(f.id, f.kind) for f in team.rows(Followup)] == followups  # rows and numbers kept
    ddl, after = table_sql(database_url, "urgent")
    assert "AUTOINCREMENT" in ddl and after == indexes
    assert "AUTOINCREMENT" in table_sql(database_url, "followup")[0]

    assert "已撤销你刚才记的急需" in say(team, "/撤销", user=REP2)
    assert "#3" in say(team, "急！市二院手术室明早要1台监护仪", user=REP2)  # #2 was withdrawn: never again

    again = make_bot(customers=CUSTOMERS, rules=RULES)  # a second start finds nothing to do
    assert [u.id for u in again.rows(Urgent)] == [1, 3]


@both_backends
def test_a_table_an_older_version_made_gets_the_columns_it_lacks(
    make_bot: Callable[..., Bot], database_url: str
) -> None:
    old = make_bot()
    say(old, "周五请假一天，手上的事交给李娜")
    with old.runtime.engine.begin() as conn:  # the leave table as it was before half days
        conn.exec_driver_sql("ALTER TABLE leave DROP COLUMN part")
    old.runtime.engine.dispose()
    team = make_bot()  # the new version starts on the old database
    assert "下午半天假" in say(team, "下周一下午请半天假，交给李娜")
    assert [(leave.part, leave.handover) for leave in team.rows(Leave)] == [(None, "李娜"), ("pm", "李娜")]
