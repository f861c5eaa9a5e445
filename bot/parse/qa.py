"""Reports written as questions and answers: "客户？西郊医院。谁？包主任。痛点？…。下一步？周五演示".

Some reps fill in the template as a dialogue with themselves. When a message has at least
three short questions each answered right after it, and two of them ask for a template key,
the questions the lexicon knows become that key's label ("客户：西郊医院。联系人：包主任"), so
the template reading applies; nothing changes in any other message (a real question to the
group has no answers after its question marks).
"""

from __future__ import annotations

import re

from bot.parse.lexicon import lexicon

_qa = lexicon().fields["qa_keys"]
_VISIT_KEYS: dict[str, str] = {q: label for label, qs in _qa["visit"].items() for q in qs}
_NEWS_KEYS: dict[str, str] = {q: label for label, qs in _qa["competitor_news"].items() for q in qs}
_NEWS_OPENERS = frozenset(_qa["news_openers"])

# a short question at the start of the message or of a sentence, answered right after it
_QUESTION_RE = re.compile(r"(?:^|(?<=[。.；;！!\n\s]))(?P<q>[\u4e00-\u9fffA-Za-z]{1,6})[？?][ \t]*(?=[^\s？?。.])")


def qa_labels(text: str) -> str:
    """`text` with the questions of a question-and-answer report turned into template labels, or
    `text` itself (the same object) when it is not such a report."""
    if "？" not in text and "?" not in text:
        return text
    found = list(_QUESTION_RE.finditer(text))
    if len(found) < 3:
        return text
    news = found[0]["q"] in _NEWS_OPENERS  # "竞品动态？有。谁？罗氏。…"
    keys = _NEWS_KEYS if news else _VISIT_KEYS
    if sum(m["q"] in keys for m in found) < 2:
        return text
    out, last = [], 0
    for m in found:
        label = keys.get(m["q"])
        if label is None:
            continue
        out.append(text[last : m.start()])
        out.append(f"{label}：")
        last = m.end()
    out.append(text[last:])
    return "".join(out)
