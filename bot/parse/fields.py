"""Fields that are spans of the message: template values, visit items, review, leave, competitor activity.

All positions are indices into the prepared text; `raw` and `norm` have the
same length, so a span found on `norm` is returned from `raw`.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache

from bot.parse.entities import Found, find_brands
from bot.parse.kinds import LEAVE_WORD_RE
from bot.parse.lexicon import lexicon, patterns_alt, words_alt
from bot.parse.numerals import to_int
from bot.parse.text import SYMBOL_RE, Prepared, clauses, prepare, sentences, trim, within_clauses
from bot.parse.timeexpr import TimeMention, anchor_weekdays, continue_range, in_range_with_previous
from bot.workdays import WorkCalendar

_f = lexicon().fields
_people = lexicon().people

Span = tuple[int, int]

# ---------------------------------------------------------------------------- template keys
_KEY_FIELD: dict[str, str] = {}
for _field_name, _keys in _f["template_keys"].items():
    for _key in _keys:
        _KEY_FIELD.setdefault(_key, _field_name)
_KEYS_WITH_SHI = set(_f["keys_with_shi"])
# "痛点：…", "痛点是…", "【竞品】无", and a bare key followed by a space ("竞品 无"), see find_markers
_MARKER_RE = re.compile(
    rf"(?P<key>{words_alt(list(_KEY_FIELD))})(?:\s*(?P<sep>:|是)|(?P<bracket>】)\s*|(?P<space>[ \t]+)(?=\S))"
)
_MARKER_BEFORE = set(" \t\r\n,，。;；!！?？】]）)：:、") | {""}
# Keys that may stand before a space alone: the four core items, whose words are rarely a subject
_SPACE_FIELDS = frozenset({"pain_points", "competitor", "next_action"})
_VALUE_END_RE = re.compile(r"[\n。!?！？;；]")
_EMPTY_VALUES = {v.upper() for v in _f["empty_values"]}
_NEXT_STEP_NEXT_RE = re.compile(r"[,，、;；]\s*(?:下一步|下步|接下来)")
_COMPETITOR_NEXT_RE = re.compile(
    rf"[,，、;；]\s*(?:目前|暂时|现在|还)?(?:没有|暂无|没|无)?(?:{words_alt(lexicon().kinds['competitor_words'])})"
)


@dataclass
class Markers:
    """Values of "key：value" markers by field; None when the key is there but the value is empty."""

    values: dict[str, Span | None] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.values

    def span(self, name: str) -> Span | None:
        return self.values.get(name)


def find_markers(p: Prepared) -> Markers:
    norm = p.norm
    if ":" not in norm and "是" not in norm and "】" not in norm and " " not in norm and "\t" not in norm:
        return Markers()  # every marker has one of these
    found: list[tuple[int, int, str]] = []  # (marker start, value start, field)
    spaced: set[int] = set()  # the markers whose key is followed by a space alone
    for m in _MARKER_RE.finditer(norm):
        key, sep, bracket, space = m.groups()
        start, end = m.span()
        if sep == "是" and key not in _KEYS_WITH_SHI:
            continue
        before = norm[start - 1] if start > 0 else ""
        if bracket:  # "【竞品】无": the key stands inside brackets, which the marker starts with
            if before != "【":
                continue
            start -= 1
        elif before not in _MARKER_BEFORE and SYMBOL_RE.match(before) is None and _KEY_FIELD[key] not in _SPACE_FIELDS:
            # "📍医院：…" after an emoji; "那边竞品是迈瑞" after a word, as the core items' keys are rarely
            # part of one; never "市中医院：上午…", where 医院 ends a hospital's name
            continue
        if space:
            if _KEY_FIELD[key] not in _SPACE_FIELDS:
                continue
            spaced.add(start)
        found.append((start, end, _KEY_FIELD[key]))
    if spaced and len(found) < 2:
        # "竞品 迈瑞在送耗材" alone is a sentence; "市一院 竞品 无 下一步 周五送样" is a record in short
        found = [f for f in found if f[0] not in spaced]
    markers = Markers()
    values = markers.values
    for i, (_, value_start, name) in enumerate(found):
        if name in values:  # the first marker of a field wins
            continue
        stop = found[i + 1][0] if i + 1 < len(found) else len(norm)
        end = _VALUE_END_RE.search(norm, value_start, stop)
        if end:
            stop = end.start()
        if name != "competitor":  # "痛点是耗材太贵，竞品迈瑞在送耗材": the value ends where the competitor begins
            end = _COMPETITOR_NEXT_RE.search(norm, value_start, stop)
            if end:
                stop = end.start()
        if name != "next_action":  # "竞品：无，下一步让工程师出方案": and where the next step begins
            end = _NEXT_STEP_NEXT_RE.search(norm, value_start, stop)
            if end:
                stop = end.start()
        s, e = trim(p.raw, value_start, stop)
        value = p.raw[s:e]
        empty = not value or value.upper() in _EMPTY_VALUES or value.rstrip("。.") in _EMPTY_VALUES
        if not empty and name in ("competitor", "pain_points") and _NOT_MENTIONED_RE.match(value):
            empty = True  # "竞品：没提", "竞品：阮院长没提，暂时没看到别家": nothing to file
        if not empty and name == "pain_points" and _NO_NEED_RE.match(value):
            empty = True  # "需求：暂无需求，就是认个脸"
        values[name] = None if empty else (s, e)
    return markers


_NO_NEED_RE = re.compile(r"(?:暂无|暂时没有|目前没有|没有|无)(?:需求|痛点|新需求)?(?:$|[,，。;；])")
# A labelled value that says it was not mentioned ("没提", "阮院长没提", "暂时没看到")
_NOT_MENTIONED_RE = re.compile(
    r"(?:[\u4e00-\u9fff]{1,3}?(?:院长|主任|科长|处长|医生|大夫|工|书记|护士长))?(?:还|暂时|目前|都|也|暂)*"
    r"(?:没|未)(?:有)?(?:提|说|讲|看到|发现|听说|见到|问)"
)


# ---------------------------------------------------------------------------- visit spans
_PAIN_RE = re.compile(patterns_alt(_f["pain_words"]))
_NOT_PAIN_RE = re.compile(patterns_alt(_f["not_pain"]))
_DESIRE_START_RE = re.compile(words_alt(_f["desire_starts"]))
_DESIRE_FIRST = frozenset(w[0] for w in _f["desire_starts"] if w)
# "我们的发票开错了" is still the customer's matter; "我们…" as the subject is our side
_OUR_SIDE_RE = re.compile(rf"(?:{words_alt(_f['our_side'])})(?!的)")
_NEXT_MARKER_RE = re.compile(patterns_alt(_f["next_markers"]))
_OUR_ACTION_RE = re.compile(
    patterns_alt(
        [
            rf"(?<![对给帮跟和与向问])我(?!们?的)们?(?:这边|那边|这里)?[^,，。]{{0,10}}?"
            rf"(?:{words_alt(_f['our_action_verbs'], lookahead=True)})(?![了过])"  # not 我今天去了 (the visit)
        ]
    )
)
_OUR_LATER_RE = re.compile(r"我|再|待会|等会|稍后|晚点")
_LATER_TODAY_RE = re.compile(r"再|还要|要|(?<![年开例晨周早晚班大])会|准备|打算|待会|等会|稍后|晚点|今晚|晚上")
# not "明天发拜访小结": a visit's write-up is not the visit
_PAST_VISIT_RE = re.compile(rf"(?:{words_alt(_f['past_visit'])})(?!小结|总结|记录|报告|纪要|计划|表|单)")
_PAST_VISIT_LOCAL = within_clauses(_f["past_visit"])
_COMMIT_AT_END_RE = re.compile(rf"(?:{words_alt(_f['commit_at_end'])})$")
_THEN_START_RE = re.compile(words_alt(_f["then_starts"]))
_TIME_ACTION_RE = re.compile(words_alt(_f["time_action_verbs"]))
_TIME_ACTION_LOCAL = within_clauses(_f["time_action_verbs"])
_COMPETITOR_CLAUSE_RE = re.compile(words_alt(lexicon().kinds["competitor_words"]))
_COMPETITOR_USE_RE = re.compile(patterns_alt(_f["competitor_use"]))
_REPORTED_RE = re.compile(words_alt(_f["reported"]))
# "主任说<what the customer reports>": the report may open a few clauses before the pain word
_SAID_RE = re.compile(r"(?<![听据再好])(?:说|反馈|反映|提到|表示|讲|称|抱怨|吐槽)(?![好了过完])[:，,]?")
_SENTENCE_GAP_RE = re.compile(r"[。!?;；\n]")
_NO_COMPETITOR_RE = re.compile(
    r"(?:没有|暂无|无|没|未)(?:接触过?|见过|看到|看见|发现|遇到|听说|见到|来过|用过|联系过?|找过|碰到过?|提到|提过|说到"
    r"|提起|提(?![供交出])|听[^,，。]{0,3}?(?:提|说起?))?(?:有)?(?:其他|别的)?"
    r"(?:竞品|竟品|竞争|对手|友商|别家|同行|厂家|厂商)"
    r"|(?:竞品|竟品|竞争对手|对手|友商|别家|同行|(?:别的|其他)(?:厂家|厂商|品牌))(?:情况|方面)?】?\s*[:：是为]?\s*"
    r"(?:[\u4e00-\u9fff]{1,3}?(?:院长|主任|科长|处长|医生|工))?(?:还|暂时|目前|都|也|暂)*(?:没|未|不在|无)"
)


_BEFORE_RE = re.compile(r"(?:之|以)?前")
_THEIR_PLAN_RE = re.compile(r"他们|她们|院里|科里|医院|对方")
# What a deadline can be for: something asked for or delivered ("要一份维保方案", "拿出配置", "到货")
_DUE_THING_RE = re.compile(r"要|需要|拿出|给出|出|到|完成|交|提供|准备好|定下来|确定")


@dataclass(slots=True)
class VisitSpans:
    pain_points: Span | None
    competitor: Span | None
    next_action: Span | None
    # the clause of the next-action run that is our own step or a commitment, when it
    # carries a date and the run opens with a mere dated event ("月底前定。我们明天把报价发过去")
    due_clause: Span | None = None


def _clause_hits(regex: re.Pattern[str], norm: str, parts: list[Span], starts: list[int]) -> list[bool]:
    """For each clause, whether `regex` has a match that starts inside it (one scan of the whole text)."""
    n = len(parts)
    hits = [False] * n
    i = 0  # the matches come in order: the first clause that ends after the match start
    for m in regex.finditer(norm):
        pos = m.start()
        while i < n and parts[i][1] <= pos:
            i += 1
        if i == n:
            break
        if parts[i][0] <= pos:
            hits[i] = True
    return hits


def _wanted_clause_hits(
    regex: re.Pattern[str], local: bool, norm: str, parts: list[Span], starts: list[int], wanted: list[bool]
) -> list[bool]:
    """_clause_hits for the wanted clauses (the others: False).

    A `local` regex (literal words without separators, see within_clauses) is
    searched in the wanted clauses alone; any other scans the whole text.
    """
    if not local:
        return _clause_hits(regex, norm, parts, starts)
    return [w and regex.search(norm, s, e) is not None for w, (s, e) in zip(wanted, parts, strict=True)]


def _run_end(flags: list[bool], i: int) -> int:
    """The last index of the run of True flags that starts at i."""
    j = i
    while j + 1 < len(flags) and flags[j + 1]:
        j += 1
    return j


_STATUS_FRAGMENT_RE = re.compile(
    r"(?:都|也|已经?|正|还|一直)?(?:在|有)?(?:跟|用|试用|送样|报价|报了价|推|投|接触|来过)"
)


def _join_spaced(norm: str, parts: list[Span], times: list[TimeMention], brands: list[Found]) -> list[Span]:
    """Clauses of a report written in fragments with spaces ("县人医 骨科 骆教授 … 史赛克的 在试用
    下周四前我约骆教授吃饭"), joined where a fragment alone means nothing: a day followed by what is
    done then ("大后天 报价"), brands followed by more brands or what they do ("万东 联影 都在跟")."""
    if len(parts) < 2 or " " not in norm:
        return parts
    whole_times = {(t.start, t.end) for t in times}
    brand_spans = [(b.start, b.end) for b in brands]
    out = [parts[0]]
    for s, e in parts[1:]:
        ps, pe = out[-1]
        spaced = norm[pe:s].strip(" ") == ""
        if spaced and (ps, pe) in whole_times:
            out[-1] = (ps, e)  # "大后天 报价"
            continue
        if (
            spaced
            and _brands_only(norm, ps, pe, brand_spans)
            and (_brands_only(norm, s, e, brand_spans) or _STATUS_FRAGMENT_RE.fullmatch(norm, s, e))
        ):
            out[-1] = (ps, e)  # "万东 联影 都在跟", "史赛克的 在试用"
            continue
        out.append((s, e))
    return out


def _brands_only(norm: str, s: int, e: int, brands: list[tuple[int, int]]) -> bool:
    """Whether norm[s:e] is brands and what joins them, only (史赛克的, 万东 联影)."""
    inside = [(bs, be) for bs, be in brands if s <= bs and be <= e]
    if not inside:
        return False
    rest = norm[s:e]
    for bs, be in sorted(inside, reverse=True):
        rest = rest[: bs - s] + rest[be - s :]
    return rest.strip(" 的和、与") == ""


def visit_spans(
    p: Prepared, times: list[TimeMention], today: date, brands: list[Found], has_competitor_word: bool
) -> VisitSpans:
    """Pain point, competitor and next action of a free-text visit report, as clause runs."""
    norm = p.norm
    parts = _join_spaced(norm, clauses(norm), times, brands)
    n = len(parts)
    if not n:
        return VisitSpans(None, None, None)
    starts = [s for s, _ in parts]
    marker = _clause_hits(_NEXT_MARKER_RE, norm, parts, starts)
    ours = _clause_hits(_OUR_ACTION_RE, norm, parts, starts) if "我" in norm else [False] * n
    our_side = _clause_hits(_OUR_SIDE_RE, norm, parts, starts)
    painful = _clause_hits(_PAIN_RE, norm, parts, starts)
    coming = [False] * n
    deadline: list[int] = []  # clauses with a coming "…前" ("这周三前要一份维保方案"): something is due then
    for t in times:
        i = bisect_right(starts, t.start) - 1
        if i >= 0 and t.start < parts[i][1]:
            s, e = parts[i]
            if t.kind == "pod" and not _OUR_LATER_RE.search(norm, s, e):
                continue  # "护士晚上要起来好几次": a part of the day alone is a habit, unless we or 再 act then
            if t.date > today or (t.date == today and _LATER_TODAY_RE.search(norm, s, e)):
                coming[i] = True
                if _BEFORE_RE.match(norm, t.end, e):
                    deadline.append(i)
    past = acting = coming
    if any(coming):  # past and acting count only in a coming clause that is not a next step by its wording
        past = _wanted_clause_hits(_PAST_VISIT_RE, _PAST_VISIT_LOCAL, norm, parts, starts, coming)
        wanted = [
            c and not (pa or mk or our) and not _THEIR_PLAN_RE.match(norm, s)  # "他们12月底前要把…": their plan
            for c, pa, mk, our, (s, _e) in zip(coming, past, marker, ours, parts, strict=True)
        ]
        # acting counts in the wanted clauses only (the others are next steps by their wording, past,
        # or the customer's own plan)
        acting = [False] * n
        if any(wanted):
            hits = _wanted_clause_hits(_TIME_ACTION_RE, _TIME_ACTION_LOCAL, norm, parts, starts, wanted)
            acting = [h and w for h, w in zip(hits, wanted, strict=True)]
            for i in deadline:
                if wanted[i] and not acting[i] and _DUE_THING_RE.search(norm, parts[i][0], parts[i][1]):
                    acting[i] = True
    is_next = [False] * n
    is_pain = [False] * n
    for i, (s, e) in enumerate(parts):
        desire = norm[s] in _DESIRE_FIRST and _DESIRE_START_RE.match(norm, s, e) is not None and "我" not in norm[s:e]
        if not desire:
            is_next[i] = marker[i] or ours[i] or (not past[i] and coming[i] and acting[i])
        is_pain[i] = painful[i] and not is_next[i] and not our_side[i] and norm[s] != "我"
        if is_pain[i] and _NOT_PAIN_RE.search(norm, s, e):
            is_pain[i] = False
    if has_competitor_word and any(is_pain):  # "痛点是呼吸机老化，竞品无": the competitor clause is not the pain
        for i, hit in enumerate(_clause_hits(_COMPETITOR_CLAUSE_RE, norm, parts, starts)):
            if hit:
                is_pain[i] = False

    pain: Span | None = None
    if any(is_pain):
        i = is_pain.index(True)
        start = _reported_start(norm, parts, i, is_next, our_side)
        pain = trim(p.raw, start, parts[_run_end(is_pain, i)][1])
    else:
        pain = _reported_pain(p, parts, is_next, our_side)

    competitor: Span | None = None
    named = [False] * n
    if brands:
        for b in brands:
            i = bisect_right(starts, b.start) - 1
            if i >= 0:
                named[i] = True
    if has_competitor_word:
        word_hits = _clause_hits(_COMPETITOR_CLAUSE_RE, norm, parts, starts)
        named = [a or b for a, b in zip(named, word_hits, strict=True)]
    for i, (s, e) in enumerate(parts):
        if named[i] and not _NO_COMPETITOR_RE.search(norm, s, e):
            competitor = trim(p.raw, s, e)
            break
    if competitor is None and not any(named):
        for i, (s, e) in enumerate(parts):
            if not is_next[i] and not our_side[i] and not is_pain[i] and _COMPETITOR_USE_RE.search(norm, s, e):
                competitor = trim(p.raw, s, e)
                break

    next_action: Span | None = None
    due_clause: Span | None = None
    if any(is_next):
        i, j = _next_run(norm, parts, is_next, is_next.index(True))
        if not any(coming[i : j + 1]):
            # "让我们尽快走流程。…。下周一我去设备科递资料": a later dated step of ours is the next action
            for k in range(j + 1, n):
                if is_next[k] and coming[k] and (ours[k] or marker[k]):
                    i, j = _next_run(norm, parts, is_next, k)
                    break
        start = parts[i][0]
        # "下一步周四前把方案发过去", "宝安中心周主任那边下一步是…": the step, not its label or who it is with
        label = _NEXT_LABEL_RE.search(norm, start, parts[i][1])
        if label and parts[j][1] - label.end() >= 2:
            start = label.end()
        next_action = trim(p.raw, start, parts[j][1])
        if not any(coming[i : j + 1]) and i > 0 and coming[i - 1] and not is_pain[i - 1]:
            # "下周一开标，我跟经理一起去现场": the day is told in the clause just before the step
            if not _SENTENCE_GAP_RE.search(norm, parts[i - 1][1], parts[i][0]):
                due_clause = parts[i - 1]
        if not (marker[i] or ours[i]):
            dated = [k for k in range(i, j + 1) if coming[k]]
            strong = [k for k in dated if marker[k] or ours[k]]
            if strong and strong[0] != dated[0]:
                due_clause = parts[strong[0]]
    return VisitSpans(pain, competitor, next_action, due_clause)


_NEXT_LABEL_RE = re.compile(r"(?:下一步|下步|接下来|后续)(?:计划|打算|动作|安排)?(?:就是|是|改成|改为|换成|变成)?")


def _next_run(norm: str, parts: list[Span], is_next: list[bool], i: int) -> tuple[int, int]:
    """The clauses of the next-step run that starts at clause i: on through next-step clauses,
    and past a clause that ends with 答应/表示."""
    j = i
    while j + 1 < len(parts) and (
        is_next[j + 1]
        or _COMMIT_AT_END_RE.search(norm, parts[j][0], parts[j][1])
        or _THEN_START_RE.match(norm, parts[j + 1][0], parts[j + 1][1])
    ):
        j += 1
    return i, j


def _reported_start(norm: str, parts: list[Span], i: int, is_next: list[bool], our_side: list[bool]) -> int:
    """Where the pain run starting at clause i really starts: right after "主任说" up to two clauses earlier.

    "韦主任说中心的DR还是模拟的，拍片要洗片，很不方便" → from "中心的DR…", not from "很不方便".
    """
    s0 = parts[i][0]
    if _SAID_RE.search(norm, s0, parts[i][1]):
        return s0
    for k in range(i - 1, max(-1, i - 3), -1):
        s, e = parts[k]
        if is_next[k] or our_side[k] or _SENTENCE_GAP_RE.search(norm, e, parts[k + 1][0]):
            break
        said = None
        for m in _SAID_RE.finditer(norm, s, e):
            said = m
        if said is not None:
            return said.end() if e - said.end() >= 2 else parts[k + 1][0]
    return s0


def _reported_pain(p: Prepared, parts: list[Span], is_next: list[bool], our_side: list[bool]) -> Span | None:
    """No pain word anywhere: what the customer reported (科里反馈…) is the pain point."""
    norm = p.norm
    if _REPORTED_RE.search(norm) is None:  # literal words: none in the text, none in a clause
        return None
    for i, (s, e) in enumerate(parts):
        m = _REPORTED_RE.search(norm, s, e)
        if not m:
            continue
        if e - m.end() >= 2:
            return trim(p.raw, m.end(), e)
        if i + 1 < len(parts) and not is_next[i + 1] and not our_side[i + 1]:
            return trim(p.raw, parts[i + 1][0], parts[i + 1][1])
        return None
    return None


def no_competitor(text: str) -> str | None:
    """The clause of `text` that says there is no competitor at the customer ("竞品无", "没有竞品"), or None.

    The parse leaves `competitor` null for such a clause (nothing to report); a visit record
    still has its answer.
    """
    m = _NO_COMPETITOR_RE.search(text)
    if m is None:
        return None
    s, e = _clauses_of(text, m)
    if s > 0 and text[s - 1] == "【":
        s -= 1
    return text[s:e].strip(" ，,。.；;、") or None


def _clauses_of(text: str, m: re.Match[str]) -> tuple[int, int]:
    """From the start of the clause where `m` begins to the end of the one where it ends ("竞品 无")."""
    parts = clauses(text)
    s = next((s for s, e in parts if s <= m.start() < e), m.start())
    e = next((e for s, e in parts if s < m.end() <= e), m.end())
    return s, e


# "暂无需求", "暂时没新需求", "目前没什么需求", "没有采购计划": the customer needs nothing now, an answer
# to the pain point (as "没有竞品" is to the competitor); never "不是没需求", "没需求的话…"
_NO_NEED_STATED_RE = re.compile(
    r"(?<!不是)(?:暂无|暂时没有?|目前没有?|现在没有?|还没有?|没有?|无)(?:什么|啥)?(?:新的?)?"
    r"(?:需求|采购计划|采购需求|更换计划|购买计划)(?![的了]话)"
)


def no_need(text: str) -> str | None:
    """The clause of `text` that says the customer needs nothing now ("暂无需求"), or None."""
    m = _NO_NEED_STATED_RE.search(text)
    if m is None:
        return None
    s, e = _clauses_of(text, m)
    return text[s:e].strip(" ，,。.；;、") or None


def reports_a_visit(text: str) -> bool:
    """Whether the text tells of a visit made (拜访, 见了, 去了, 又去…): a report of its own, not an
    answer; a visit still to come ("下一步：周四再去拜访王主任", "下周上门") is none."""
    if _VISIT_AGAIN_RE.search(text) is not None:
        return True
    return any(
        not _FUTURE_BEFORE_RE.search(text, max(0, m.start() - 4), m.start()) for m in _PAST_VISIT_RE.finditer(text)
    )


_VISIT_AGAIN_RE = re.compile(r"又(?:去|到|见|跑|访|拜访)|(?:再(?:去|到|见|跑|访|拜访)|回访|走访|上门)了")
_FUTURE_BEFORE_RE = re.compile(r"(?:再|要|准备|计划|打算|下次|将|会)[去到]?$")


def has_visit_content(norm: str) -> bool:
    """Whether the text talks about a need or a next step at all."""
    return _PAIN_RE.search(norm) is not None or _NEXT_MARKER_RE.search(norm) is not None


def first_time_in(times: list[TimeMention], span: Span | None, after: date | None = None) -> date | None:
    """The first date mentioned in `span`; with `after`, the first one later than it when there is
    one ("上午去了市骨科医院…老王让我们月底前把方案做出来": 月底, not the morning of the visit)."""
    if span is None:
        return None
    inside = [t for t in times if span[0] <= t.start < span[1]]
    if after is not None:
        later = next((t for t in inside if t.date > after), None)
        if later is not None:
            return later.date
    return inside[0].date if inside else None


# ---------------------------------------------------------------------------- review
_NEGATIVE_RE = re.compile(patterns_alt(_f["review_negative"]))
_POSITIVE_RE = re.compile(patterns_alt(_f["review_positive"]))
_REVIEW_KEYS = {name: words_alt(_f["template_keys"][name]) for name in ("reason", "remedy", "target", "target_met")}
# The labels of the review template ("未达成原因：", "目标是否达成："): their words are no verdict.
_REVIEW_LABEL_RE = re.compile(rf"(?:{'|'.join(_REVIEW_KEYS.values())})(?=\s*:)")
_VERDICT_RE = re.compile(rf"(?:{_REVIEW_KEYS['target_met']})\s*:[ \t]*")
_VERDICT_YES_RE = re.compile(words_alt(_f["review_verdict_yes"], latin_whole=True))
_VERDICT_NO_RE = re.compile(words_alt(_f["review_verdict_no"], latin_whole=True))
_VERDICT_OR_RE = re.compile(r"\s*(?:/|\||或)\s*")
# A guessed reason or remedy opens after its own cue word: "原因客户不在" → "客户不在".
_REASON_CUE_RE = re.compile(rf"(?:{_REVIEW_KEYS['reason']})(?:是|为)?[\s:]*")
_REMEDY_KEY_RE = re.compile(rf"(?:{_REVIEW_KEYS['remedy']})(?:是|为|就是)?[\s:]*")


@dataclass(slots=True)
class Review:
    target_met: bool | None
    reason: Span | None
    remedy: Span | None


def review_fields(p: Prepared, markers: Markers) -> Review:
    norm = p.norm
    stated, stated_at = _stated_verdict(norm)
    # the template's labels blanked out (same length), so "未达成原因：" left empty says nothing
    text = _REVIEW_LABEL_RE.sub(lambda m: " " * len(m.group()), norm) if ":" in norm else norm
    negative = _NEGATIVE_RE.search(text)
    reason = markers.span("reason")
    remedy = markers.span("remedy")
    counted = _counted_verdict(norm) if stated is None else None
    if stated is not None:
        met: bool | None = stated
    elif counted is not None:  # "计划3家，完成1家": the numbers decide, whatever words say
        met, counted_at = counted
        negative = None  # what follows the actual count says why
        stated_at = counted_at
    elif negative:
        met = False
    elif _POSITIVE_RE.search(text):
        met = True
    elif reason is not None or remedy is not None:
        met = False
    else:
        met = None
    at = negative.start() if negative else stated_at
    if met is False and at is not None and not (markers.has("reason") and markers.has("remedy")):
        guess_reason, guess_remedy = _review_guess(p, at)
        guess_reason = _after_cue(p, guess_reason, _REASON_CUE_RE)
        guess_remedy = _after_cue(p, guess_remedy, _REMEDY_KEY_RE)
        if not markers.has("reason"):
            reason = guess_reason
        if not markers.has("remedy"):
            remedy = guess_remedy if reason != guess_remedy else None
    if met is False and reason is not None and remedy is None and not markers.has("remedy"):
        # "原因是王主任出差，明天再去": a later clause that opens with a plan is the remedy
        parts = clauses(norm, reason[0], reason[1])
        for j in range(1, len(parts)):
            if _REMEDY_CUE_RE.match(norm, parts[j][0], parts[j][1]):
                reason, remedy = trim(p.raw, reason[0], parts[j - 1][1]), trim(p.raw, parts[j][0], reason[1])
                break
    if met is not False:
        reason = remedy = None
    return Review(met, reason, remedy)


_COUNT = r"(?P<n>\d{1,3}|[一二两三四五六七八九十]{1,3})(?:家|个|台|单|次|位|场)"
_PLANNED_RE = re.compile(rf"(?:目标|计划|任务|指标|预计)(?:是|为|:)?\s*(?:要)?(?:拜访|跑|见|签|去|约)?\s*{_COUNT}")
_ACTUAL_RE = re.compile(
    rf"(?:实际|实|完成|拜访了|跑了|见了|签了|去了|约了|只|才)\s*(?:完成|拜访|跑|见|签|去|约)?了?\s*{_COUNT}"
)


_PERCENT_RE = re.compile(r"(?:完成|达成|完成率|达成率)(?:了|为|是)?\s*(?P<n>\d{1,3}(?:\.\d+)?)\s*%")


def _counted_verdict(norm: str) -> tuple[bool, int] | None:
    """(met, where the actual count starts) when the review gives a planned and an actual count,
    or a share of the target done ("完成60%")."""
    share = _PERCENT_RE.search(norm)
    if share is not None:
        return float(share["n"]) >= 100, share.start()
    planned = _PLANNED_RE.search(norm)
    if planned is None:
        return None
    actual = _ACTUAL_RE.search(norm, planned.end())
    if actual is None:
        return None
    want, got = to_int(planned["n"]), to_int(actual["n"])
    if want is None or got is None:
        return None
    return got >= want, actual.start()


def _stated_verdict(norm: str) -> tuple[bool | None, int | None]:
    """The answer on a "目标是否达成：是 / 否" line, and where it stands; (None, None) when none is given.

    "是", "达成", "✅" → met; "否", "未达成", "没有", "部分" → not met; the template's
    own "是 / 否" left as it is → no answer.
    """
    if ":" not in norm:
        return None, None
    m = _VERDICT_RE.search(norm)
    if m is None:
        return None, None
    at = m.end()
    no = _VERDICT_NO_RE.match(norm, at)
    if no:
        return False, at
    yes = _VERDICT_YES_RE.match(norm, at)
    if yes is None:
        return None, None
    alt = _VERDICT_OR_RE.match(norm, yes.end())
    if alt and _VERDICT_NO_RE.match(norm, alt.end()):
        return None, None
    line_end = _VALUE_END_RE.search(norm, at)
    if _NEGATIVE_RE.search(norm, at, line_end.start() if line_end else len(norm)):  # "完成一半"
        return False, at
    return True, at


def _after_cue(p: Prepared, span: Span | None, cue: re.Pattern[str]) -> Span | None:
    """`span` without the cue word it opens with, when something follows the cue."""
    if span is None:
        return None
    m = cue.match(p.norm, span[0], span[1])
    if m is None or m.end() >= span[1]:
        return span
    return trim(p.raw, m.end(), span[1])


def _review_guess(p: Prepared, at: int) -> tuple[Span | None, Span | None]:
    """Without 原因/补救 markers: what follows "not met" is why, up to a clause that plans the fix."""
    norm = p.norm
    sents = sentences(norm)
    for k, (s, e) in enumerate(sents):
        if not s <= at < e:
            continue
        parts = clauses(norm, s, e)
        rest = [c for c in parts if c[1] > at][1:]
        # "都没见到关键人，白跑。": the clause before a bare verdict says why
        before = [c for c in parts if c[1] <= at]
        cause = before[-1] if before and _NEGATED_RE.search(norm, before[-1][0], before[-1][1]) else None
        later = [c for c in sents[k + 1 :] if c[1] > c[0]]
        if not rest:
            if not later:
                return (trim(p.raw, *cause) if cause else None), None
            rest = clauses(norm, later[0][0], later[0][1])
            later = later[1:]
        if _REMEDY_CUE_RE.match(norm, rest[0][0], rest[0][1]):  # "没完成，明天补": no reason given
            return (trim(p.raw, *cause) if cause else None), trim(p.raw, rest[0][0], rest[-1][1])
        for j in range(1, len(rest)):
            if _REMEDY_CUE_RE.search(norm, rest[j][0], rest[j][1]):
                return trim(p.raw, rest[0][0], rest[j - 1][1]), trim(p.raw, rest[j][0], rest[-1][1])
        reason = trim(p.raw, rest[0][0], rest[-1][1])
        return reason, (trim(p.raw, later[0][0], later[0][1]) if later else None)
    return None, None


_REMEDY_CUE_RE = re.compile(patterns_alt(_f["remedy_cues"]))


def plans_make_up(text: str) -> bool:
    """Whether the text plans how to make up a missed target (明天再去, 周五再约, 下周补上)."""
    return _REMEDY_CUE_RE.search(text) is not None


_NEGATED_RE = re.compile(r"没|未|不")


# ---------------------------------------------------------------------------- leave
_DURATION_TAIL = r"(?:个)?(?:工作日|天)(?!内|后|之内|以内|之后|以后)"
_DURATION_RE = re.compile(
    r"(?P<n>(?<!\d)\d{1,3}|(?<![一二两三四五六七八九十])[一二两三四五六七八九十]{1,3})" + _DURATION_TAIL
)
# Right after a date ("周五一天"), the numeral that follows the date's own is the duration.
_DURATION_AT = re.compile(r"(?P<n>\d{1,3}|[一二两三四五六七八九十]{1,3})" + _DURATION_TAIL)


def _duration(norm: str, times: list[TimeMention]) -> re.Match[str] | None:
    """A leave's length ("三天", "2个工作日"), never a numeral that belongs to a date (周五 + 一天 ≠ 五十一天)."""
    spans = [(t.start, t.end) for t in times]
    for m in _DURATION_RE.finditer(norm):
        if not any(start <= m.start() < end for start, end in spans):
            return m
    for _start, end in spans:
        m = _DURATION_AT.match(norm, end)
        if m:
            return m
    return None


def mentions_leave(text: str) -> bool:
    """Whether the text says 请假/调休/休假 … (kinds.yaml `leave`)."""
    return LEAVE_WORD_RE.search(text) is not None


def _from_the_leave_clause(norm: str, times: list[TimeMention]) -> list[TimeMention]:
    """The dates from the clause that says 请假/调休 on, when it has one of its own: in
    "明天加班去装机 下周一调休" the leave is 下周一; "请假：12.14-12.18" keeps them all."""
    word = LEAVE_WORD_RE.search(norm)
    if word is None:
        return times
    for s, e in clauses(norm):
        if s <= word.start() < e:
            for k, t in enumerate(times):
                if s <= t.start < e:
                    return times[k:]
            break
    return times


def leave_dates(
    p: Prepared, times: list[TimeMention], today: date, calendar: WorkCalendar
) -> tuple[date | None, date | None]:
    """First and last day of a leave: a range (下周一到周三, 12.14-12.18), a list, or a day plus a duration."""
    if not times:
        return None, None
    times = anchor_weekdays(p.norm, times)
    if len(times) > 1:
        times = _from_the_leave_clause(p.norm, times)
    first = times[0]
    start = end = first.date
    prev = first
    for cur in times[1:]:
        if not in_range_with_previous(p.norm, prev, cur):
            break
        end = continue_range(p.norm, prev, cur, today)
        prev = TimeMention(cur.start, cur.end, cur.kind, end, cur.week_qualified or prev.week_qualified)
    if end == start:
        m = _duration(p.norm, times)
        n = to_int(m.group("n")) if m else None
        if n and 1 < n <= 60:
            end = calendar.add_workdays(start, n - 1) if calendar.is_workday(start) else start + timedelta(days=n - 1)
    return start, end


_NAME_PREFIXES = "".join(_people["name_prefixes"])
_HANDOVER_STOP = set(_f["handover_stop"])
_NAME_TAIL_STOP = set("帮盯负处对代交联跟就即吧哈的了一呢啊们看接来去说在处有组经总先")  # 赵磊组长 → 赵磊


# "急事找我们组长老郑": who the colleague is, between the word and the name
_COLLEAGUE = r"(?:我们|咱们|我)?的?(?:组长|经理|主管|领导|同事|搭档|师傅)"


@cache
def _handover_patterns() -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
    """(word + name, word after a name, name at the end), compiled on first use: only a leave
    message needs them, and the surnames make them the slowest patterns to compile."""
    surnames = words_alt(_people["surnames"].split(), lookahead=True)
    before = re.compile(
        rf"(?:{words_alt(_f['handover_before'])})(?:{_COLLEAGUE})?(?P<name>[{_NAME_PREFIXES}][\u4e00-\u9fff]"
        rf"|(?:{surnames})[\u4e00-\u9fff]{{1,2}})"
    )
    after = re.compile(rf"(?:{words_alt(_f['handover_after'])})")
    name_before = re.compile(rf"(?:[{_NAME_PREFIXES}][\u4e00-\u9fff]|(?:{surnames})[\u4e00-\u9fff]{{1,2}})$")
    return before, after, name_before


def _clean_name(name: str) -> str | None:
    if name[0] in _NAME_PREFIXES:
        return name[:2]
    # a full name: surname + one or two characters, cut before a verb
    for i in range(1, len(name)):
        if name[i] in _NAME_TAIL_STOP:
            name = name[:i]
            break
    if len(name) < 2 or name in _HANDOVER_STOP:
        return None
    return name


def handover(p: Prepared) -> str | None:
    norm = p.norm
    handover_before_re, handover_after_re, name_before_re = _handover_patterns()
    for m in handover_before_re.finditer(norm):
        name = _clean_name(m.group("name"))
        if name:
            s = m.start("name")
            return p.flat[s : s + len(name)]
    if (title := _TITLE_COVER_RE.search(norm)) is not None:  # "急事找组长": a colleague named by title alone
        return p.flat[title.start("title") : title.end("title")]
    for m in handover_after_re.finditer(norm):
        end = m.start()
        helped = _HELPS_ME_RE.search(norm, max(0, end - 4), end)  # 王强帮我盯一下: the name before 帮我
        if helped:
            end = helped.start()
            while end and norm[end - 1] == " ":  # "@小张 帮我盯下"
                end -= 1
        g = name_before_re.search(norm, max(0, end - 3), end)
        if g:
            text = g.group(0)
            # prefer the shortest tail that is a name (跟王磊交接 → 王磊, not 跟王磊)
            for k in range(len(text) - 2, -1, -1):
                cand = text[k:]
                if name_before_re.fullmatch(cand) and len(cand) >= 2:
                    if cand in _HANDOVER_STOP or cand[-1] in _PLACE_ENDINGS:
                        break  # "去车管所处理点事": a place, not 管所
                    return p.flat[end - len(cand) : end]
    return None


_PLACE_ENDINGS = frozenset("所局院站厅馆室科处部场")
_TITLE_COVER_RE = re.compile(
    r"(?:急事|有事|事情|工作|客户)(?:请|可以|就)?(?:找|联系|交给)(?:我们|咱们)?的?(?P<title>组长|经理|主管|领导)(?=$|[,，。;；!！\s])"
)
_HELPS_ME_RE = re.compile(r"(?:帮|替|给)我们?$|帮忙$")


# ---------------------------------------------------------------------------- competitor activity
_kinds = lexicon().kinds
_ACTIVITY_RE = re.compile(words_alt(_kinds["competitor_activity"]))
_SPECIFIC_ACTIVITY_RE = re.compile(patterns_alt(_kinds["competitor_specific_activity"]))


# a move, not a presence: the specific activities, a few more, and a price ("报了价", "比我们低5%")
_MOVE_RE = re.compile(
    f"{_SPECIFIC_ACTIVITY_RE.pattern}|活动|推广|进院|装机|中了"
    r"|报了?价|价格?(?:比我们|更)?(?:低|便宜)|低\d+(?:\.\d+)?%"
)


def competitor_move(item: str) -> tuple[str, str] | None:
    """A competitor's move told as a visit's competitor item ("理邦在这边做买设备送耗材的活动",
    "迈瑞也报了价，比我们低5%"): (its brand, the item), for the competitor log the agenda and the
    Friday report read. None for who is there or in the running ("GE", "迈瑞和联影都在跟")."""
    p = prepare(item)
    brands = find_brands(p.raw, p.norm)
    if not brands or not _MOVE_RE.search(p.norm):
        return None
    return brands[0].text, p.raw


def competitor_activity(p: Prepared, entities: list[Found]) -> Span | None:
    """The clause that says what the competitor does, from just after the brand/customer in front of it."""
    norm = p.norm
    parts = clauses(norm)
    chosen: tuple[int, int, int] | None = None  # (clause start, clause end, keyword start)
    for regex in (_SPECIFIC_ACTIVITY_RE, _ACTIVITY_RE):
        for s, e in parts:
            m = regex.search(norm, s, e)
            if m:
                chosen = (s, e, m.start())
                break
        if chosen:
            break
    if chosen is None:  # no activity word: the clause that names the competitor
        first = next(((s, e) for s, e in parts if any(s <= x.start < e for x in entities)), None)
        return trim(p.raw, first[0], first[1]) if first else None
    s, e, kw = chosen
    cut = s
    for ent in entities:
        if s <= ent.start and ent.end <= kw:
            cut = max(cut, ent.end)
    if cut < kw and norm[cut] == "的":
        cut += 1
    span = trim(p.raw, cut, e)
    return span if span[1] > span[0] else trim(p.raw, s, e)
