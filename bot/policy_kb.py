"""The policy knowledge base: policy packs (YAML under policies/) loaded, validated and
searchable, with answers in short spoken Mandarin that cite their document.

    kb = get_kb()                                   # region from POLICY_REGION, cached
    kb.parameter("free_home_care_80plus", "hours_per_month", on=date(2023, 6, 1))  # -> 2
    kb.search("时间迎行是什么")                      # ranked hits, ASR errors tolerated
    kb.answer("我妈八十五了，免费照料一个月几个小时")  # Answer(text=..., citation=..., ...)

A pack (policies/<region>/pack.yml) names its documents and may extend a parent pack
(demo_district extends national); its programs are policies/<region>/programs/<id>.yml.
policies/<region>/rules/ belongs to the eligibility engine and is not read here.

Every number an answer gives is a parameter value with an effective period; the value in
force on the day asked (bot.clock.today() by default) is the one spoken. Retrieval combines
character n-gram overlap with toneless, accent-folded pinyin matching (pypinyin +
rapidfuzz), so 时间迎行 finds 时间银行 and 一样融合 finds 医养融合. Below the confidence
threshold the answer says it is not sure and offers a human advisor instead of guessing.

No Rasa and no Flask here: actions/policy.py and server/policy_api.py are thin wrappers.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml
from rapidfuzz import fuzz, process

from bot import clock
from bot.config import get_settings
from bot.fuzzy import fold_syllable
from bot.policy_schema import PACK, PROGRAM

log = logging.getLogger(__name__)

ANSWER_THRESHOLD = 0.6      # below this the bot does not answer, it offers a human
SUGGEST_THRESHOLD = 0.52    # between the two: "您是想问……吗？" with the best guess
HOTLINE_HINT = "具体请问街道便民服务中心，或者拨打12349。"
NOT_SURE_TEXT = "这个我不太确定，怕说错了耽误您。我帮您转给人工顾问，好吗？"
_NOISE_FLOOR = {"name": 0.7, "faq": 0.45}
GENERIC_EXAMPLES = ("free_home_care_80plus", "family_care_beds", "meal_aid",
                    "age_friendly_modification")


class PolicyPackError(ValueError):
    """A policy file is malformed. `path` is the file, `field` the offending field."""

    def __init__(self, path: Path | str, field_path: str, message: str):
        self.path = str(path)
        self.field = field_path or "(file)"
        self.message = message
        super().__init__(f"{self.path}: field '{self.field}': {message}")


# ---------------------------------------------------------------------------- data model

@dataclass(frozen=True)
class Source:
    id: str
    file: str
    kind: str
    title: str
    issuer: str | None = None
    date: str | None = None
    number: str | None = None
    note: str | None = None
    pack: str = ""


@dataclass(frozen=True)
class Citation:
    document_id: str
    title: str
    file: str
    clause: str
    issuer: str | None = None
    date: str | None = None
    quote: str | None = None

    def spoken(self) -> str:
        return f"依据：《{self.title}》。"

    def as_dict(self) -> dict:
        return {"document_id": self.document_id, "title": self.title, "file": self.file,
                "issuer": self.issuer, "date": self.date, "clause": self.clause,
                "quote": self.quote}


@dataclass(frozen=True)
class ParameterValue:
    value: Any
    unit: str
    effective_from: dt.date
    effective_to: dt.date | None
    citation: Citation
    qualifier: str | None = None
    note: str | None = None

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def spoken_value(self) -> str:
        return (self.qualifier or "") + _spoken(self.value)


@dataclass(frozen=True)
class Parameter:
    name: str
    label: str
    values: tuple[ParameterValue, ...]

    def at(self, on: dt.date) -> ParameterValue | None:
        for value in self.values:
            if value.in_force(on):
                return value
        return None


@dataclass(frozen=True)
class Faq:
    question: str
    answer: str
    facet: str | None
    variants: tuple[str, ...] = ()

    @property
    def phrasings(self) -> tuple[str, ...]:
        return (self.question, *self.variants)


@dataclass(frozen=True)
class Program:
    id: str
    pack: str
    path: Path
    name: str
    short_name: str
    aliases: tuple[str, ...]
    keywords: tuple[str, ...]
    target_group: str
    parameters: dict[str, Parameter]
    benefits: tuple[str, ...]
    apply_text: str
    apply_steps: tuple[str, ...]
    apply_where: tuple[str, ...]
    documents: tuple[str, ...]
    documents_text: str
    citation: Citation
    supporting: tuple[tuple[Citation, str], ...]
    summary: str
    faq: tuple[Faq, ...]

    def as_dict(self, on: dt.date) -> dict:
        """A JSON-ready view with every text rendered for the day `on` (API, console)."""
        return {
            "program_id": self.id, "name": self.name, "short_name": self.short_name,
            "pack": self.pack, "aliases": list(self.aliases),
            "target_group": self.target_group,
            "summary": _render_or_fallback(self, self.summary, on),
            "benefits": [_render_or_fallback(self, b, on) for b in self.benefits],
            "apply": {"text": self.apply_text, "steps": list(self.apply_steps),
                      "where": list(self.apply_where)},
            "documents": {"items": list(self.documents), "text": self.documents_text},
            "parameters": {
                name: {"label": p.label, "in_force": _value_dict(p.at(on)),
                       "history": [_value_dict(v) for v in p.values]}
                for name, p in self.parameters.items()},
            "citation": self.citation.as_dict(),
            "supporting_sources": [dict(c.as_dict(), note=note) for c, note in self.supporting],
            "faq": [{"q": f.question, "a": _render_or_fallback(self, f.answer, on)}
                    for f in self.faq],
        }


@dataclass(frozen=True)
class Hit:
    program_id: str
    name: str
    score: float
    answer: str
    citation: Citation
    matched: str   # the alias, keyword or FAQ question that matched best

    def as_dict(self) -> dict:
        return {"program_id": self.program_id, "name": self.name,
                "score": round(self.score, 3), "answer": self.answer,
                "citation": self.citation.as_dict(), "matched": self.matched}


@dataclass(frozen=True)
class Answer:
    text: str
    citation: Citation | None
    confidence: float
    program_id: str | None
    kind: str = "answer"        # answer | not_sure | clarify
    suggestions: tuple[tuple[str, str], ...] = ()   # (program_id, short_name)

    @property
    def confident(self) -> bool:
        return self.kind == "answer"

    def as_dict(self) -> dict:
        return {"text": self.text, "kind": self.kind, "confidence": round(self.confidence, 3),
                "program_id": self.program_id,
                "citation": self.citation.as_dict() if self.citation else None,
                "suggestions": [{"program_id": p, "name": n} for p, n in self.suggestions]}


# ---------------------------------------------------------------------------- loading

def _to_plain(obj: Any) -> Any:
    """YAML dates (unquoted 2020-01-01) become ISO strings so one schema fits both styles."""
    if isinstance(obj, dict):
        return {str(k) if not isinstance(k, str) else k: _to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_to_plain(v) for v in obj]
    if isinstance(obj, (dt.date, dt.datetime)):
        return obj.isoformat()[:10]
    return obj


def _field_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _read_yaml(path: Path, schema: dict) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "(file)"
        raise PolicyPackError(path, where, f"not valid YAML: {exc}") from exc
    except OSError as exc:
        raise PolicyPackError(path, "(file)", f"cannot be read: {exc}") from exc
    data = _to_plain(data)
    if not isinstance(data, dict):
        raise PolicyPackError(path, "(file)", "must be a YAML mapping")
    validator = jsonschema.Draft7Validator(schema)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), e.message))
    if errors:
        best = jsonschema.exceptions.best_match(errors)
        field_path = _field_path(best.absolute_path)
        message = best.message
        if best.validator == "required":
            missing = re.findall(r"'([^']+)' is a required property", message)
            if missing:
                field_path = ".".join(filter(None, [field_path, missing[0]]))
                message = "is required"
        elif best.validator == "additionalProperties":
            extra = re.findall(r"'([^']+)' was unexpected", message)
            if extra:
                field_path = ".".join(filter(None, [field_path, extra[0]]))
                message = "is not a known field"
        raise PolicyPackError(path, field_path, message)
    return data


def _date(path: Path, field_path: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise PolicyPackError(path, field_path, f"not a real date: {value}") from exc


_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)(?:\.(note|year|unit|value))?\}")
_OPTIONAL = re.compile(r"\[\[(.*?)\]\]")


class _Missing(LookupError):
    pass


def _spoken(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value_dict(v: ParameterValue | None) -> dict | None:
    if v is None:
        return None
    return {"value": v.value, "unit": v.unit, "qualifier": v.qualifier,
            "effective_from": v.effective_from.isoformat(),
            "effective_to": v.effective_to.isoformat() if v.effective_to else None,
            "note": v.note, "citation": v.citation.as_dict()}


def _render(program: Program, template: str, on: dt.date) -> str:
    def substitute(match: re.Match) -> str:
        param = program.parameters.get(match.group(1))
        value = param.at(on) if param else None
        if value is None:
            raise _Missing(match.group(1))
        part = match.group(2)
        if part == "note":
            return value.note or ""
        if part == "year":
            return str(value.effective_from.year)
        if part == "unit":
            return value.unit
        if part == "value":
            return _spoken(value.value)
        return value.spoken_value()

    def optional(match: re.Match) -> str:
        try:
            return _PLACEHOLDER.sub(substitute, match.group(1))
        except _Missing:
            return ""

    text = _OPTIONAL.sub(optional, template)
    return _PLACEHOLDER.sub(substitute, text)


def _render_or_fallback(program: Program, template: str, on: dt.date) -> str:
    try:
        return _render(program, template, on)
    except _Missing:
        return f"关于{program.short_name}，这个日期还没有文件写明的标准。{HOTLINE_HINT}"


class _PackLoader:
    def __init__(self, root: Path):
        self.root = root
        self.sources: dict[str, Source] = {}
        self.programs: dict[str, Program] = {}
        self.chain: list[str] = []

    def load(self, region: str) -> None:
        chain: list[tuple[str, dict, Path]] = []
        name = region
        while name:
            if name in [c[0] for c in chain]:
                raise PolicyPackError(self.root / name / "pack.yml", "extends",
                                      f"packs extend each other in a circle ({name})")
            path = self.root / name / "pack.yml"
            if not path.is_file():
                child = chain[-1][2] if chain else path
                raise PolicyPackError(child, "extends" if chain else "(file)",
                                      f"policy pack '{name}' not found at {path}")
            data = _read_yaml(path, PACK)
            if data["id"] != name:
                raise PolicyPackError(path, "id", f"is '{data['id']}' but the folder is '{name}'")
            chain.append((name, data, path))
            name = data.get("extends")
        self.chain = [c[0] for c in chain]
        for pack_id, data, path in reversed(chain):   # parents first, children override
            for i, src in enumerate(data["sources"]):
                if src["id"] in self.sources and self.sources[src["id"]].pack == pack_id:
                    raise PolicyPackError(path, f"sources[{i}].id", f"duplicate id {src['id']}")
                self.sources[src["id"]] = Source(pack=pack_id, **src)
        for pack_id, _data, _path in reversed(chain):
            folder = self.root / pack_id / "programs"
            for file in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
                program = self._program(pack_id, file)
                self.programs[program.id] = program
        self._check_aliases()

    def _citation(self, path: Path, field_path: str, ref: dict) -> Citation:
        src = self.sources.get(ref["document"])
        if src is None:
            raise PolicyPackError(path, f"{field_path}.document",
                                  f"unknown document '{ref['document']}' (not in the pack's sources)")
        return Citation(document_id=src.id, title=src.title, file=src.file,
                        clause=ref["clause"], issuer=src.issuer, date=src.date,
                        quote=ref.get("quote"))

    def _program(self, pack_id: str, path: Path) -> Program:
        data = _read_yaml(path, PROGRAM)
        if data["id"] != path.stem:
            raise PolicyPackError(path, "id", f"is '{data['id']}' but the file is '{path.name}'")
        parameters: dict[str, Parameter] = {}
        for pname, pdata in (data.get("parameters") or {}).items():
            values = []
            for i, v in enumerate(pdata["values"]):
                fp = f"parameters.{pname}.values[{i}]"
                start = _date(path, fp + ".effective_from", v["effective_from"])
                end = _date(path, fp + ".effective_to", v["effective_to"]) \
                    if v.get("effective_to") else None
                if end is not None and end < start:
                    raise PolicyPackError(path, fp + ".effective_to", "is before effective_from")
                values.append(ParameterValue(
                    value=v["value"], unit=v["unit"], effective_from=start, effective_to=end,
                    citation=self._citation(path, fp + ".source", v["source"]),
                    qualifier=v.get("qualifier"), note=v.get("note")))
            values.sort(key=lambda x: x.effective_from)
            for i, (a, b) in enumerate(zip(values, values[1:])):
                if a.effective_to is None or a.effective_to >= b.effective_from:
                    raise PolicyPackError(
                        path, f"parameters.{pname}.values",
                        f"periods overlap ({a.effective_from} and {b.effective_from}): "
                        "close the older value with effective_to")
            parameters[pname] = Parameter(pname, pdata["label"], tuple(values))
        texts = [("summary", data["summary"])] + \
            [(f"benefits[{i}]", b) for i, b in enumerate(data["benefits"])] + \
            [(f"faq[{i}].a", f["a"]) for i, f in enumerate(data["faq"])]
        for fp, text in texts:
            for match in _PLACEHOLDER.finditer(text):
                if match.group(1) not in parameters:
                    raise PolicyPackError(path, fp, f"unknown parameter {{{match.group(1)}}}")
        supporting = tuple(
            (self._citation(path, f"supporting_sources[{i}]",
                            {"document": s["document"], "clause": "摘要"}), s["note"])
            for i, s in enumerate(data.get("supporting_sources") or []))
        apply = data["apply"]
        return Program(
            id=data["id"], pack=pack_id, path=path, name=data["name"],
            short_name=data["short_name"], aliases=tuple(data["aliases"]),
            keywords=tuple(data.get("keywords") or ()),
            target_group=data["target_group"]["text"], parameters=parameters,
            benefits=tuple(data["benefits"]), apply_text=apply["text"],
            apply_steps=tuple(apply.get("steps") or ()),
            apply_where=tuple(apply.get("where") or ()),
            documents=tuple(data["documents"]["items"]),
            documents_text=data["documents"]["text"],
            citation=self._citation(path, "source", data["source"]),
            supporting=supporting, summary=data["summary"],
            faq=tuple(Faq(f["q"], f["a"], f.get("facet"), tuple(f.get("variants") or ()))
                      for f in data["faq"]))

    def _check_aliases(self) -> None:
        """One spoken name, one program: the NLU maps each alias to exactly one id."""
        owner: dict[str, str] = {}
        for program in self.programs.values():
            for i, alias in enumerate(program.aliases):
                key = _prep(alias)
                other = owner.get(key)
                if other and other != program.id:
                    raise PolicyPackError(program.path, f"aliases[{i}]",
                                          f"'{alias}' is already an alias of {other}")
                owner[key] = program.id


# ---------------------------------------------------------------------------- text matching

_PUNCT = re.compile(r"[\s\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
                    r"!-/:-@\[-`{-~“”‘’…—·]+")
_HAN = re.compile(r"[\u4e00-\u9fff]")

_FILLERS = sorted([
    "请问一下", "请问", "我想问一下", "我想问问", "我想问", "想问一下", "想问问", "问一下", "问问",
    "我想知道", "想知道", "想了解一下", "想了解", "了解一下", "咨询一下", "你好", "您好", "喂",
    "那个", "这个", "就是", "我妈妈", "我爸爸", "我妈", "我爸", "我老伴", "老伴", "我家老人",
    "我们家", "我家", "家里老人", "老爷子", "老太太", "我奶奶", "我爷爷", "我婆婆", "我公公",
    "我岳母", "我丈母娘", "是不是", "有没有", "能不能", "可不可以", "帮我", "给我", "说说",
    "讲讲", "告诉我", "一下", "你们", "我", "您", "你", "的", "了", "吗", "呢", "啊", "呀", "吧",
    "嘛", "哦", "哈", "呗", "噢", "嗯",
], key=len, reverse=True)

FACETS: dict[str, tuple[str, ...]] = {
    "documents": ("带什么", "带哪些", "要带", "材料", "证件", "资料", "证明", "身份证", "户口本"),
    "apply": ("怎么申请", "如何申请", "怎样申请", "怎么办理", "怎么办", "怎么弄", "咋办", "咋弄",
              "咋申请", "怎么领", "怎么报名", "怎么参加", "怎么叫", "怎么找", "去哪里", "去哪儿",
              "去哪", "在哪里", "在哪儿", "在哪", "哪里", "找谁", "申请", "办理", "报名", "流程",
              "手续", "下单", "怎么联系", "电话多少", "附近"),
    "who": ("谁能", "谁可以", "什么人", "哪些人", "什么样的人", "什么条件", "条件", "符合",
            "资格", "能享受", "可以享受", "能参加", "算哪一类", "算哪类", "够不够"),
    "history": ("以前", "原来", "变了", "变化", "怎么变", "调整", "涨了", "提高了"),
    "amount": ("多少钱", "多少", "几个小时", "几小时", "几个", "几次", "标准", "收费", "要钱",
               "花钱", "交钱", "收钱", "给钱", "收不收钱", "收不收费", "收不收", "要不要钱", "补多少", "发多少", "多久"),
    "what": ("是什么", "什么是", "干什么", "干啥", "做什么", "啥意思", "什么意思", "是啥", "介绍",
             "有什么用", "有啥用", "怎么回事", "好处"),
}
_FACET_ORDER = ("documents", "apply", "who", "history", "amount", "what")
_GENERIC = sorted(["养老政策", "政策", "养老服务", "养老", "老年人", "老人", "服务", "有什么",
                   "有哪些", "什么", "哪些", "问题", "事情", "补贴", "待遇", "福利", "优惠",
                   "方面", "规定", "能", "可以", "想", "要"], key=len, reverse=True)


def _prep(text: str | None) -> str:
    """Normalised query text: numerals as digits, ASR-corrected domain terms, no spaces
    or punctuation, lower case."""
    if not text:
        return ""
    try:
        from bot.textnorm import normalize
        text = normalize(text)
    except Exception:  # normalisation is a help, never a reason to fail
        log.exception("text normalisation failed; matching the raw text")
    return _PUNCT.sub("", str(text)).lower()


def _strip(text: str, words: Iterable[str]) -> str:
    for w in words:
        if w in text:
            text = text.replace(w, " ")
    return re.sub(r"\s+", "", text)


def facet_of(query: str) -> str | None:
    """Which aspect of a program the question asks about (apply, documents, who, ...)."""
    q = _prep(query)
    for facet in _FACET_ORDER:
        if any(word in q for word in FACETS[facet]):
            return facet
    return None


_FACET_WORDS = sorted({w for ws in FACETS.values() for w in ws}, key=len, reverse=True)


def _topic(q: str) -> str:
    """The query without fillers and facet words: what it is about."""
    return _strip(_strip(q, _FILLERS), _FACET_WORDS)


_SYLLABLE_CODES: dict[str, str] = {}
_CODES_LOCK = threading.Lock()


def _code(syllable: str) -> str:
    """One private-use character per folded syllable, so that rapidfuzz aligns syllables."""
    code = _SYLLABLE_CODES.get(syllable)
    if code is None:
        with _CODES_LOCK:
            code = _SYLLABLE_CODES.setdefault(syllable, chr(0xE000 + len(_SYLLABLE_CODES)))
    return code


@functools.lru_cache(maxsize=8192)
def _sound(text: str) -> str:
    """The folded pinyin of `text` as a string of syllable codes (digits, letters: as is)."""
    from pypinyin import lazy_pinyin   # ~0.25 s import, only on first use
    out = []
    for piece in re.findall(r"[\u4e00-\u9fff]+|[0-9]+|[a-z]+|.", text):
        if _HAN.match(piece):
            out.extend(_code(fold_syllable(s)) for s in lazy_pinyin(piece))
        else:
            out.append(_code(piece))
    return "".join(out)


def _bigrams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text} - {""}


def _dice(a: str, b: str) -> float:
    x, y = _bigrams(a), _bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0


class _QuerySound:
    """The query's syllable string and its windows, computed once per query."""

    def __init__(self, sound: str):
        self.sound = sound
        self._windows: dict[int, list[str]] = {}

    def windows(self, width: int) -> list[str]:
        if width not in self._windows:
            s = self.sound
            self._windows[width] = [s[i:i + width] for i in range(len(s) - width + 1)]
        return self._windows[width]


def _name_score(alias: str, alias_sound: str, q: str, qs: _QuerySound) -> float:
    """How well the query mentions this name: in full, by sound (ASR), or most of it.
    Sound similarity is aligned syllable by syllable on windows of the alias's length
    (an edge overlap or a scattered match does not count)."""
    if not alias:
        return 0.0
    if alias in q:   # longer names win ties: 家庭养老床位 over 养老
        return 0.97 + 0.03 * min(1.0, len(alias) / 8)
    q_sound = qs.sound
    if not alias_sound or not q_sound:
        return 0.0
    n = len(alias_sound)
    if alias_sound in q_sound:
        return 0.93 if n >= 3 else 0.85
    if n <= 2:
        return 0.0   # two syllables collide too easily: exact sound only
    if n > len(q_sound):
        score = fuzz.ratio(alias_sound, q_sound) / 100 * 0.9
    else:
        score = 0.0
        for width in (n, n + 1):   # a syllable misheard, or one inserted
            windows = qs.windows(width)
            if windows:
                found = process.extractOne(alias_sound, windows, scorer=fuzz.ratio)
                score = max(score, found[1] / 100)
    if n == 3 and score < 1:
        score *= 0.8
    return score


def _keyword_score(keyword: str, keyword_sound: str, q: str, qs: _QuerySound) -> float:
    if keyword in q:
        return 1.0
    if len(keyword_sound) >= 2 and keyword_sound in qs.sound:
        return 0.9
    return 0.0


def _faq_topic_score(faq_topic: str, q_topic: str) -> float:
    if not faq_topic or not q_topic:
        return 0.0
    return max(_dice(faq_topic, q_topic),
               fuzz.ratio(_sound(faq_topic), _sound(q_topic)) / 100 * 0.95)


@dataclass
class _Entry:
    program_id: str
    kind: str        # name | keyword | faq
    text: str
    prepped: str
    sound: str
    topic: str = ""


@dataclass
class _Scored:
    program_id: str
    score: float
    matched: str
    signals: dict = field(default_factory=dict)


# ---------------------------------------------------------------------------- the KB

class KnowledgeBase:
    """Programs of one region's pack chain, indexed for search. Immutable once built."""

    def __init__(self, region: str, programs: dict[str, Program], sources: dict[str, Source],
                 chain: list[str]):
        self.region = region
        self.chain = tuple(chain)
        self._programs = programs
        self.sources = sources
        self._entries: list[_Entry] = []
        self._alias_to_id: dict[str, str] = {}
        for p in programs.values():
            for text in (p.name, p.short_name, *p.aliases):
                self._add(p.id, "name", text)
                self._alias_to_id.setdefault(_prep(text), p.id)
            for text in dict.fromkeys(_prep(k) for k in p.keywords):  # 八十岁 = 80岁: once
                self._add(p.id, "keyword", text)
            for f in p.faq:
                for phrasing in f.phrasings:
                    entry = self._add(p.id, "faq", phrasing)
                    entry.topic = _topic(entry.prepped)

    def _add(self, program_id: str, kind: str, text: str) -> _Entry:
        prepped = _prep(text)
        entry = _Entry(program_id, kind, text, prepped, _sound(prepped))
        self._entries.append(entry)
        return entry

    # -- lookups -----------------------------------------------------------------------

    def programs(self) -> list[Program]:
        return list(self._programs.values())

    def program_ids(self) -> list[str]:
        return list(self._programs)

    def program(self, program_id: str) -> Program:
        try:
            return self._programs[program_id]
        except KeyError:
            raise KeyError(f"no program '{program_id}' in policy pack '{self.region}'") from None

    def resolve_program(self, name: str | None) -> str | None:
        """A program id from an id, a name or an alias (as the NLU extracted it), or None."""
        if not name:
            return None
        if name in self._programs:
            return name
        prepped = _prep(name)
        if prepped in self._alias_to_id:
            return self._alias_to_id[prepped]
        qs = _QuerySound(_sound(prepped))
        best = max(((e, _name_score(e.prepped, e.sound, prepped, qs))
                    for e in self._entries if e.kind == "name"), key=lambda x: x[1],
                   default=(None, 0.0))
        return best[0].program_id if best[0] is not None and best[1] >= 0.85 else None

    def parameter_entry(self, program_id: str, name: str,
                        on: dt.date | str | None = None) -> ParameterValue | None:
        program = self.program(program_id)
        if name not in program.parameters:
            raise KeyError(f"program '{program_id}' has no parameter '{name}'")
        return program.parameters[name].at(_day(on))

    def parameter(self, program_id: str, name: str, on: dt.date | str | None = None) -> Any:
        """The value in force on `on` (default today), or None when none is in force then.
        Unknown program or parameter names raise KeyError."""
        entry = self.parameter_entry(program_id, name, on)
        return entry.value if entry else None

    # -- retrieval ---------------------------------------------------------------------

    def _score(self, query: str) -> list[_Scored]:
        q = _prep(query)
        if not q:
            return []
        qs = _QuerySound(_sound(q))
        q_topic = _topic(q)
        best: dict[str, dict[str, tuple[float, str]]] = {}
        keyword_hits: dict[str, list[tuple[float, str]]] = {}
        for e in self._entries:
            if e.kind == "name":
                s = _name_score(e.prepped, e.sound, q, qs)
            elif e.kind == "keyword":
                s = _keyword_score(e.prepped, e.sound, q, qs)
                if s:
                    keyword_hits.setdefault(e.program_id, []).append((s, e.text))
                continue
            else:
                s = _faq_topic_score(e.topic, q_topic) * 0.95
            if s < _NOISE_FLOOR[e.kind]:
                continue   # half a name ("养老…") is noise, not evidence
            slot = best.setdefault(e.program_id, {})
            if s > slot.get(e.kind, (0.0, ""))[0]:
                slot[e.kind] = (s, e.text)
        for pid, hits in keyword_hits.items():
            remaining = 1.0
            for s, _text in hits:
                remaining *= 1 - 0.45 * s
            top = max(hits)[1]
            best.setdefault(pid, {})["keyword"] = (1 - remaining, top)
        scored = []
        for pid, signals in best.items():
            if not signals:
                continue
            # independent evidence adds up (noisy-or): a keyword plus a similar FAQ
            # question is stronger than either alone
            ranked = sorted(signals.values(), reverse=True)
            remaining = 1.0
            for s, _text in ranked:
                remaining *= 1 - s
            scored.append(_Scored(pid, min(1.0, 1 - remaining), ranked[0][1],
                                  {k: round(v[0], 3) for k, v in signals.items()}))
        scored.sort(key=lambda s: s.score, reverse=True)
        return scored

    def search(self, query: str, on: dt.date | str | None = None, limit: int = 5) -> list[Hit]:
        """Programs ranked by how well they match the query, each with the answer it
        would give and its citation. Weak matches (< 0.3) are left out."""
        day = _day(on)
        hits = []
        for s in self._score(query)[:max(0, limit)]:
            if s.score < 0.3:
                break
            program = self._programs[s.program_id]
            text, citation = self._compose(program, query, day)
            hits.append(Hit(program.id, program.name, s.score, text, citation, s.matched))
        return hits

    def answer(self, question: str | None = None, program: str | None = None,
               on: dt.date | str | None = None, context_program: str | None = None) -> Answer:
        """The spoken answer to a question, about `program` (id or alias) when given.

        `context_program` is the program of the previous turn: a follow-up such as
        那要带什么材料 that names no program is answered about it."""
        day = _day(on)
        question = question or ""
        if program:
            pid = self.resolve_program(program)
            if pid is not None:
                return self._answer_for(pid, question, day, 1.0)
        scored = self._score(question) if question else []
        top = scored[0] if scored else None
        if top and top.score >= ANSWER_THRESHOLD:
            return self._answer_for(top.program_id, question, day, top.score)
        if context_program and context_program in self._programs and facet_of(question):
            return self._answer_for(context_program, question, day, 0.7)
        if not question.strip() or self._is_generic(question):
            # nothing said yet (keypad 1, a bare "问政策" button) or too vague: ask which one
            return self._clarify()
        if top and top.score >= SUGGEST_THRESHOLD:
            p = self._programs[top.program_id]
            return Answer(text=f"这个我不太确定。您是想问{p.short_name}吗？如果不是，"
                               "我帮您转给人工顾问。",
                          citation=None, confidence=top.score, program_id=None, kind="not_sure",
                          suggestions=((p.id, p.short_name),))
        return Answer(text=NOT_SURE_TEXT, citation=None,
                      confidence=top.score if top else 0.0, program_id=None, kind="not_sure")

    # -- composing answers -------------------------------------------------------------

    def _answer_for(self, pid: str, question: str, day: dt.date, confidence: float) -> Answer:
        program = self._programs[pid]
        text, citation = self._compose(program, question, day)
        return Answer(text=text, citation=citation, confidence=confidence, program_id=pid)

    def _compose(self, program: Program, question: str, day: dt.date) -> tuple[str, Citation]:
        q = _prep(question)
        facet = facet_of(question) if q else None
        body = None
        faq = self._best_faq(program, q, facet)
        if faq is not None:
            body = _render_or_fallback(program, faq.answer, day)
        elif facet == "documents":
            body = f"关于{program.short_name}，{program.documents_text}"
        elif facet == "apply":
            body = f"关于{program.short_name}，{program.apply_text}"
        elif facet == "who":
            body = f"{program.short_name}的对象是：{program.target_group}"
        else:
            body = _render_or_fallback(program, program.summary, day)
        body = body.rstrip()
        if not body.endswith(("。", "？", "！")):
            body += "。"
        return f"{body}{program.citation.spoken()}", program.citation

    @staticmethod
    def _best_faq(program: Program, q: str, facet: str | None) -> Faq | None:
        if not q:
            return None
        # within one program its own name says nothing: compare what is asked about it
        names = sorted({_prep(n) for n in (program.name, program.short_name, *program.aliases)},
                       key=len, reverse=True)
        q_core = _strip(_strip(q, names), _FILLERS)
        if len(_strip(q_core, _FACET_WORDS)) <= 1:
            # only "how much?" / "where?" about the program: the one FAQ of that aspect if
            # there is exactly one; "what is it?" is the summary's job
            if facet in (None, "what"):
                return None
            same = [f for f in program.faq if f.facet == facet]
            if len(same) == 1:
                return same[0]
        best, best_score = None, 0.0
        for f in program.faq:
            score = 0.0
            for phrasing in f.phrasings:
                f_core = _strip(_strip(_prep(phrasing), names), _FILLERS)
                score = max(score, _dice(f_core, q_core),
                            fuzz.ratio(_sound(f_core), _sound(q_core)) / 100 * 0.9)
            if facet and f.facet == facet:
                score += 0.15
            elif facet and f.facet and f.facet != facet:
                score -= 0.25
            if score > best_score:
                best, best_score = f, score
        return best if best_score >= 0.5 else None

    def _is_generic(self, question: str) -> bool:
        q = _prep(question)
        return bool(q) and len(_strip(_topic(q), _GENERIC)) <= 1

    def _clarify(self) -> Answer:
        examples = [self._programs[p] for p in GENERIC_EXAMPLES if p in self._programs]
        names = "、".join(p.short_name for p in examples)
        return Answer(text=f"好的。您想问哪一项政策？比如{names}。也可以说转人工。",
                      citation=None, confidence=0.0, program_id=None, kind="clarify",
                      suggestions=tuple((p.id, p.short_name) for p in examples))


def _day(on: dt.date | str | None) -> dt.date:
    if on is None:
        return clock.today()
    if isinstance(on, dt.datetime):
        return on.date()
    if isinstance(on, dt.date):
        return on
    return dt.date.fromisoformat(str(on))


# ---------------------------------------------------------------------------- entry points

def load_kb(policies_dir: Path | str, region: str) -> KnowledgeBase:
    """Loads and validates a region's pack chain; raises PolicyPackError when malformed."""
    loader = _PackLoader(Path(policies_dir))
    loader.load(region)
    return KnowledgeBase(region, loader.programs, loader.sources, loader.chain)


_CACHE: dict[tuple[str, str], KnowledgeBase] = {}
_CACHE_LOCK = threading.Lock()


def get_kb(region: str | None = None, policies_dir: Path | str | None = None) -> KnowledgeBase:
    """The process-wide KB of a region (default POLICY_REGION), loaded once."""
    settings = get_settings()
    key = (str(policies_dir or settings.policies_dir), region or settings.policy_region)
    kb = _CACHE.get(key)
    if kb is None:
        with _CACHE_LOCK:
            kb = _CACHE.get(key)
            if kb is None:
                kb = load_kb(key[0], key[1])
                _CACHE[key] = kb
                log.info("policy pack %s loaded: %d programs", key[1], len(kb.program_ids()))
    return kb


def clear_cache() -> None:
    """Forgets loaded packs (tests; a reload after editing policy files)."""
    with _CACHE_LOCK:
        _CACHE.clear()
