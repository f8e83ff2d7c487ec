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
force on the day asked (bot.clock.today() by default) is the one spoken. Retrieval
(bot/policy/search.py) weighs exact mentions of a program's names and keywords, toneless,
accent-folded pinyin matching (pypinyin + rapidfuzz: 时间迎行 finds 时间银行, 一样融合 finds
医养融合) and FAQ phrasings. Below the confidence threshold the answer says it is not sure
and offers a human advisor instead of guessing.

No Rasa and no Flask here: actions/policy.py and server/api/policy.py are thin wrappers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import jsonschema
import yaml

from bot import clock, referrals
from bot.config import get_settings
from bot.policy.schema import COMMON_PARAMETERS, COVERAGE, PACK, PROGRAM
from bot.policy.search import (  # retrieval: which program, which FAQ (bot/policy/search.py)
    NO_PRICE,
    SearchIndex,
    _GENERIC,
    _match_form,
    _prep,
    _Scored,
    _strip,
    _topic,
    facet_of,
)
from bot.policy.wording import WORDING

log = logging.getLogger(__name__)

# Calibrated on benchmarks/data/policy_questions.tsv (benchmarks/policy_retrieval.py): the
# lowest threshold whose precision is >= 0.95 there. Between the two thresholds the best
# guess is offered ("您是想问……吗？"), never stated.
ANSWER_THRESHOLD = 0.65  # below this the bot does not answer, it offers a human
SUGGEST_THRESHOLD = 0.5  # between the two: "您是想问……吗？" with the best guess
GENERIC_EXAMPLES = ("free_home_care_80plus", "family_care_beds", "meal_aid", "age_friendly_modification")


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
    valid_from: str | None = None
    valid_to: str | None = None
    pack: str = ""

    def ended_on(self, on: dt.date) -> bool:
        """True when this is a plan whose period ended before `on`."""
        return bool(self.valid_to) and on > dt.date.fromisoformat(str(self.valid_to))


@dataclass(frozen=True)
class Citation:
    document_id: str
    title: str
    file: str
    clause: str
    issuer: str | None = None
    date: str | None = None
    quote: str | None = None
    kind: str = "policy"

    @property
    def section(self) -> str:
        """The clause as a listener hears it: 四(一)2 -> 第四部分第（一）条第2项."""
        return spoken_section(self.clause)

    def spoken(self) -> str:
        if self.kind == "study":
            return WORDING.format("citation.study", title=self.title)
        return WORDING.format("citation.policy", title=self.title, section=self.section)

    def as_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "title": self.title,
            "file": self.file,
            "issuer": self.issuer,
            "date": self.date,
            "clause": self.clause,
            "section": self.section,
            "kind": self.kind,
            "quote": self.quote,
        }


_CLAUSE = re.compile(r"([一二三四五六七八九十]+)(?:[(（]([一二三四五六七八九十]+)[)）])?(\d+)?(【[^】]*】)?")


def spoken_section(clause: str) -> str:
    """Document 004's numbering spoken: 一(四) -> 第一部分第（四）条; 四(一)2 -> 第四部分第（一）条
    第2项; several clauses joined with 和; anything else (摘要, 第二条) as written."""
    parts = []
    for piece in re.split(r"[、,，;；]", clause or ""):
        piece = piece.strip()
        m = _CLAUSE.fullmatch(piece)
        if not m:
            if piece:
                parts.append(piece)
            continue
        text = f"第{m.group(1)}部分"
        if m.group(2):
            text += f"第（{m.group(2)}）条"
        if m.group(3):
            text += f"第{m.group(3)}项"
        parts.append(text)
    return "和".join(parts)


@dataclass(frozen=True)
class ParameterValue:
    value: Any
    unit: str
    effective_from: dt.date
    effective_to: dt.date | None
    citation: Citation
    qualifier: str | None = None
    note: str | None = None
    target: bool = False  # a plan's goal for a year, not a standard in force
    plan_end: dt.date | None = None  # the end of the plan that set it (its source's valid_to)

    def in_force(self, on: dt.date) -> bool:
        return self.effective_from <= on and (self.effective_to is None or on <= self.effective_to)

    def spoken_value(self) -> str:
        return (self.qualifier or "") + _spoken(self.value)

    def plan_ended(self, on: dt.date) -> bool:
        """A target of a plan whose period is over on `on`: said as an ended plan's goal."""
        return self.target and self.plan_end is not None and on > self.plan_end


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
    citation: Citation | None = None  # the clause this answer rests on
    group: tuple[str, ...] = ()  # only for questions naming one of these

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
    assumptions: tuple[dict[str, Any], ...] = ()
    common: dict[str, Parameter] = field(default_factory=dict)  # the region's shared ones

    def parameter(self, name: str) -> Parameter | None:
        return self.parameters.get(name) or self.common.get(name)

    def as_dict(self, on: dt.date) -> dict[str, Any]:
        """A JSON-ready view with every text rendered for the day `on` (API, console)."""
        return {
            "program_id": self.id,
            "name": self.name,
            "short_name": self.short_name,
            "pack": self.pack,
            "aliases": list(self.aliases),
            "target_group": self.target_group,
            "summary": _render_or_fallback(self, self.summary, on),
            "benefits": [_render_or_fallback(self, b, on) for b in self.benefits],
            "apply": {
                "text": self.apply_text,
                "steps": list(self.apply_steps),
                "where": list(self.apply_where),
            },
            "documents": {"items": list(self.documents), "text": self.documents_text},
            "parameters": {
                name: {
                    "label": p.label,
                    "in_force": _value_dict(p.at(on), on),
                    "history": [_value_dict(v, on) for v in p.values],
                }
                for name, p in self.parameters.items()
            },
            "assumptions": [dict(a) for a in self.assumptions],
            "citation": self.citation.as_dict(),
            "supporting_sources": [dict(c.as_dict(), note=note) for c, note in self.supporting],
            "faq": [
                {
                    "q": f.question,
                    "a": _render_or_fallback(self, f.answer, on),
                    "citation": f.citation.as_dict() if f.citation else None,
                }
                for f in self.faq
            ],
        }


@dataclass(frozen=True)
class Hit:
    program_id: str
    name: str
    score: float
    answer: str
    citation: Citation
    matched: str  # the alias, keyword or FAQ question that matched best

    def as_dict(self) -> dict[str, Any]:
        return {
            "program_id": self.program_id,
            "name": self.name,
            "score": round(self.score, 3),
            "answer": self.answer,
            "citation": self.citation.as_dict(),
            "matched": self.matched,
        }


@dataclass(frozen=True)
class NotCovered:
    """A benefit callers ask about that the pack does not cover (coverage.yml), and where
    to ask about it instead."""

    name: str
    aliases: tuple[str, ...]
    where: str  # where to ask, or a referral's whole sentence
    from_referral: bool = False

    def spoken(self, reply: str) -> str:
        return self.where if self.from_referral else reply.format(name=self.name, where=self.where)


@dataclass
class Coverage:
    """policies/<region>/coverage.yml along the pack chain: benefits not covered, the
    sentence that says so."""

    reply: str = ""
    not_covered: list[NotCovered] = field(default_factory=list)


@dataclass(frozen=True)
class Answer:
    text: str
    citation: Citation | None
    confidence: float
    program_id: str | None
    kind: str = "answer"  # answer | not_sure | clarify | not_covered (coverage.yml)
    suggestions: tuple[tuple[str, str], ...] = ()  # (program_id, short_name)
    plan_ended: bool = False  # the answer states a target of a plan whose period is over
    also: tuple[str, ...] = ()  # a two-topic question: the other programs answered after it

    @property
    def confident(self) -> bool:
        return self.kind == "answer"

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "kind": self.kind,
            "confidence": round(self.confidence, 3),
            "program_id": self.program_id,
            "citation": self.citation.as_dict() if self.citation else None,
            "plan_ended": self.plan_ended,
            "also": list(self.also),
            "suggestions": [{"program_id": p, "name": n} for p, n in self.suggestions],
        }


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


def _read_yaml(path: Path, schema: dict[str, Any]) -> dict[str, Any]:
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


def spoken_number(value: Any) -> Any:
    """3.0 -> 3 (a number as it is said); anything else unchanged."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _spoken(value: Any) -> str:
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _value_dict(v: ParameterValue | None, on: dt.date) -> dict[str, Any] | None:
    if v is None:
        return None
    return {
        "value": v.value,
        "unit": v.unit,
        "qualifier": v.qualifier,
        "effective_from": v.effective_from.isoformat(),
        "effective_to": v.effective_to.isoformat() if v.effective_to else None,
        "note": v.note,
        "target": v.target,
        "plan_ended": v.plan_ended(on),
        "citation": v.citation.as_dict(),
    }


def ended_plan_text(value: ParameterValue) -> str:
    """Said after a target of an ended plan (issue: documents have a validity period)."""
    year = value.plan_end.year if value.plan_end else ""
    return WORDING.format("answer.ended_plan", year=year)


def _render(program: Program, template: str, on: dt.date, used: list[ParameterValue] | None = None) -> str:
    """The text with the parameter values of the day; `used` collects the values spoken."""

    def substitute(match: re.Match[str]) -> str:
        param = program.parameter(match.group(1))
        value = param.at(on) if param else None
        if value is None:
            raise _Missing(match.group(1))
        if used is not None and value not in used:
            used.append(value)
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

    def optional(match: re.Match[str]) -> str:
        try:
            return _PLACEHOLDER.sub(substitute, match.group(1))
        except _Missing:
            return ""

    text = _OPTIONAL.sub(optional, template)
    return _PLACEHOLDER.sub(substitute, text)


def _render_or_fallback(
    program: Program, template: str, on: dt.date, used: list[ParameterValue] | None = None
) -> str:
    try:
        return _render(program, template, on, used)
    except _Missing:
        return WORDING.format(
            "answer.no_standard_for_day",
            program=program.short_name,
            hotline_hint=WORDING.text("answer.hotline_hint"),
        )


class _PackLoader:
    def __init__(self, root: Path):
        self.root = root
        self.sources: dict[str, Source] = {}
        self.programs: dict[str, Program] = {}
        self.common: dict[str, Parameter] = {}
        self.chain: list[str] = []
        self.coverage = Coverage()

    def load(self, region: str) -> None:
        chain: list[tuple[str, dict[str, Any], Path]] = []
        name: str | None = region
        while name:
            if name in [c[0] for c in chain]:
                raise PolicyPackError(
                    self.root / name / "pack.yml", "extends", f"packs extend each other in a circle ({name})"
                )
            path = self.root / name / "pack.yml"
            if not path.is_file():
                child = chain[-1][2] if chain else path
                raise PolicyPackError(
                    child, "extends" if chain else "(file)", f"policy pack '{name}' not found at {path}"
                )
            data = _read_yaml(path, PACK)
            if data["id"] != name:
                raise PolicyPackError(path, "id", f"is '{data['id']}' but the folder is '{name}'")
            chain.append((name, data, path))
            name = data.get("extends")
        self.chain = [c[0] for c in chain]
        for pack_id, data, path in reversed(chain):  # parents first, children override
            for i, src in enumerate(data["sources"]):
                if src["id"] in self.sources and self.sources[src["id"]].pack == pack_id:
                    raise PolicyPackError(path, f"sources[{i}].id", f"duplicate id {src['id']}")
                self.sources[src["id"]] = Source(pack=pack_id, **src)
        for pack_id, _data, _path in reversed(chain):  # a child's shared value wins
            common_file = self.root / pack_id / "parameters.yml"
            if common_file.is_file():
                data = _read_yaml(common_file, COMMON_PARAMETERS)
                self.common.update(self._parameters(common_file, data["parameters"]))
        for pack_id, _data, _path in reversed(chain):  # a child's entries are added
            coverage_file = self.root / pack_id / "coverage.yml"
            if coverage_file.is_file():
                self._coverage(coverage_file, _read_yaml(coverage_file, COVERAGE))
        for pack_id, _data, _path in reversed(chain):
            folder = self.root / pack_id / "programs"
            for file in sorted(folder.glob("*.yml")) if folder.is_dir() else []:
                program = self._program(pack_id, file)
                self.programs[program.id] = program
        self._check_aliases()

    def _coverage(self, path: Path, data: dict[str, Any]) -> None:
        if data.get("reply"):
            self.coverage.reply = data["reply"]
        for i, entry in enumerate(data.get("not_covered") or []):
            if not self.coverage.reply:
                raise PolicyPackError(path, "reply", "needed to speak not_covered entries")
            where = entry.get("where")
            if where is None:
                referral = next((r for r in referrals.load() if r.id == entry["referral"]), None)
                if referral is None or not referral.say:
                    raise PolicyPackError(
                        path,
                        f"not_covered[{i}].referral",
                        f"no referral '{entry['referral']}' with a sentence "
                        "in policies/national/referrals.yml",
                    )
                where = referral.say
            benefit = NotCovered(
                entry["name"], tuple(entry.get("aliases") or ()), where, from_referral="referral" in entry
            )
            if any(b.name == benefit.name for b in self.coverage.not_covered):
                raise PolicyPackError(path, f"not_covered[{i}].name", f"duplicate name {benefit.name}")
            self.coverage.not_covered.append(benefit)

    def _citation(self, path: Path, field_path: str, ref: dict[str, Any]) -> Citation:
        src = self.sources.get(ref["document"])
        if src is None:
            raise PolicyPackError(
                path,
                f"{field_path}.document",
                f"unknown document '{ref['document']}' (not in the pack's sources)",
            )
        return Citation(
            document_id=src.id,
            title=src.title,
            file=src.file,
            clause=ref["clause"],
            issuer=src.issuer,
            date=src.date,
            quote=ref.get("quote"),
            kind=src.kind,
        )

    def _parameters(self, path: Path, raw: dict[str, Any]) -> dict[str, Parameter]:
        parameters: dict[str, Parameter] = {}
        for pname, pdata in (raw or {}).items():
            values = []
            for i, v in enumerate(pdata["values"]):
                fp = f"parameters.{pname}.values[{i}]"
                start = _date(path, fp + ".effective_from", v["effective_from"])
                end = _date(path, fp + ".effective_to", v["effective_to"]) if v.get("effective_to") else None
                if end is not None and end < start:
                    raise PolicyPackError(path, fp + ".effective_to", "is before effective_from")
                citation = self._citation(path, fp + ".source", v["source"])
                src = self.sources[citation.document_id]
                values.append(
                    ParameterValue(
                        value=v["value"],
                        unit=v["unit"],
                        effective_from=start,
                        effective_to=end,
                        citation=citation,
                        qualifier=v.get("qualifier"),
                        note=v.get("note"),
                        target=bool(v.get("target")),
                        plan_end=dt.date.fromisoformat(src.valid_to) if src.valid_to else None,
                    )
                )
            values.sort(key=lambda x: x.effective_from)
            for a, b in zip(values, values[1:]):
                if a.effective_to is None or a.effective_to >= b.effective_from:
                    raise PolicyPackError(
                        path,
                        f"parameters.{pname}.values",
                        f"periods overlap ({a.effective_from} and {b.effective_from}): "
                        "close the older value with effective_to",
                    )
            parameters[pname] = Parameter(pname, pdata["label"], tuple(values))
        return parameters

    def _program(self, pack_id: str, path: Path) -> Program:
        data = _read_yaml(path, PROGRAM)
        if data["id"] != path.stem:
            raise PolicyPackError(path, "id", f"is '{data['id']}' but the file is '{path.name}'")
        parameters = self._parameters(path, data.get("parameters") or {})
        for pname in parameters:
            if pname in self.common:
                raise PolicyPackError(
                    path,
                    f"parameters.{pname}",
                    "is a shared parameter of the region (parameters.yml): use it, do not define it again",
                )
        texts = (
            [("summary", data["summary"])]
            + [(f"benefits[{i}]", b) for i, b in enumerate(data["benefits"])]
            + [(f"faq[{i}].a", f["a"]) for i, f in enumerate(data["faq"])]
        )
        for fp, text in texts:
            for match in _PLACEHOLDER.finditer(text):
                if match.group(1) not in parameters and match.group(1) not in self.common:
                    raise PolicyPackError(path, fp, f"unknown parameter {{{match.group(1)}}}")
        supporting = tuple(
            (
                self._citation(
                    path, f"supporting_sources[{i}]", {"document": s["document"], "clause": "摘要"}
                ),
                s["note"],
            )
            for i, s in enumerate(data.get("supporting_sources") or [])
        )
        apply = data["apply"]
        return Program(
            id=data["id"],
            pack=pack_id,
            path=path,
            name=data["name"],
            short_name=data["short_name"],
            aliases=tuple(data["aliases"]),
            keywords=tuple(data.get("keywords") or ()),
            target_group=data["target_group"]["text"],
            parameters=parameters,
            benefits=tuple(data["benefits"]),
            apply_text=apply["text"],
            apply_steps=tuple(apply.get("steps") or ()),
            apply_where=tuple(apply.get("where") or ()),
            documents=tuple(data["documents"]["items"]),
            documents_text=data["documents"]["text"],
            citation=self._citation(path, "source", data["source"]),
            supporting=supporting,
            summary=data["summary"],
            faq=tuple(
                Faq(
                    f["q"],
                    f["a"],
                    f.get("facet"),
                    tuple(f.get("variants") or ()),
                    self._citation(path, f"faq[{i}].source", f["source"]) if f.get("source") else None,
                    tuple(f.get("group") or ()),
                )
                for i, f in enumerate(data["faq"])
            ),
            assumptions=tuple(data.get("assumptions") or ()),
            common=self.common,
        )

    def _check_aliases(self) -> None:
        """One spoken name, one program: the NLU maps each alias to exactly one id."""
        owner: dict[str, str] = {}
        for program in self.programs.values():
            for i, alias in enumerate(program.aliases):
                key = _prep(alias)
                other = owner.get(key)
                if other and other != program.id:
                    raise PolicyPackError(
                        program.path, f"aliases[{i}]", f"'{alias}' is already an alias of {other}"
                    )
                owner[key] = program.id


# ---------------------------------------------------------------------------- the KB


class KnowledgeBase:
    """Programs of one region's pack chain, indexed for search. Immutable once built."""

    def __init__(
        self,
        region: str,
        programs: dict[str, Program],
        sources: dict[str, Source],
        chain: list[str],
        coverage: Coverage | None = None,
    ):
        self.region = region
        self.chain = tuple(chain)
        self._programs = programs
        self.sources = sources
        self.coverage = coverage or Coverage()
        self._alias_to_id: dict[str, str] = {}
        for p in programs.values():
            for text in (p.name, p.short_name, *p.aliases):
                self._alias_to_id.setdefault(_prep(text), p.id)
        self._index = SearchIndex(programs.values())

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
        return self._index.resolve(prepped)

    def parameter_entry(
        self, program_id: str, name: str, on: dt.date | str | None = None
    ) -> ParameterValue | None:
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
        """Programs ranked by the evidence in the query (bot.policy.search)."""
        return self._index.score(query)

    def search(self, query: str, on: dt.date | str | None = None, limit: int = 5) -> list[Hit]:
        """Programs ranked by how well they match the query, each with the answer it
        would give and its citation. Weak matches (< 0.3) are left out."""
        day = _day(on)
        hits = []
        for s in self._score(query)[: max(0, limit)]:
            if s.score < 0.3:
                break
            program = self._programs[s.program_id]
            text, citation = self._compose(program, query, day)
            hits.append(Hit(program.id, program.name, s.score, text, citation, s.matched))
        return hits

    def answer(
        self,
        question: str | None = None,
        program: str | None = None,
        on: dt.date | str | None = None,
        context_program: str | None = None,
    ) -> Answer:
        """The spoken answer to a question, about `program` (id or alias) when given.

        `context_program` is the program of the previous turn: a follow-up such as
        那要带什么材料 that names no program is answered about it."""
        day = _day(on)
        question = question or ""
        scored = self._score(question) if question else []
        top = scored[0] if scored else None
        pid = self.resolve_program(program) if program else None
        # a benefit outside the pack named outright: where to ask, not a program sharing a
        # word with it, even when the NLU took the benefit's name for a program's
        benefit, named = self._not_covered(question, pid or (top.program_id if top else None), scored)
        if benefit is not None and not named:
            return Answer(
                text=benefit.spoken(self.coverage.reply),
                citation=None,
                confidence=top.score if top else 0.0,
                program_id=None,
                kind="not_covered",
            )
        if benefit is not None and named:
            # 高龄津贴和家庭养老床位: the program named by its own name, then the benefit
            sure = 1.0 if pid or top is None else top.score
            own = self._answer_for(named, question, day, sure)
            return dataclasses.replace(own, text=own.text + benefit.spoken(self.coverage.reply))
        if pid is not None:
            return self._answer_for(pid, question, day, 1.0)
        also = self._index.two_topics(question, scored, ANSWER_THRESHOLD) if top else []
        if also and top is not None:
            return self._answer_two([top, *also], question, day)
        confidence = SearchIndex.confidence(scored)
        if top and not top.mentions and self._is_generic(question):
            # 我想问问养老政策: no program named and nothing asked but "policy": whatever the
            # words mean most alike is a guess, not an answer
            confidence = min(confidence, SUGGEST_THRESHOLD - 0.01)
        if top and confidence >= ANSWER_THRESHOLD:
            priced = self._index.price_program(question, top)
            return self._answer_for(priced or top.program_id, question, day, confidence)
        if context_program and context_program in self._programs and facet_of(question):
            return self._answer_for(context_program, question, day, 0.7)
        if not question.strip() or self._is_generic(question):
            # nothing said yet (keypad 1, a bare "问政策" button) or too vague: ask which one
            return self._clarify()
        if top and confidence >= SUGGEST_THRESHOLD:
            p = self._programs[top.program_id]
            return Answer(
                text=WORDING.format("answer.did_you_mean", program=p.short_name),
                citation=None,
                confidence=confidence,
                program_id=None,
                kind="not_sure",
                suggestions=((p.id, p.short_name),),
            )
        return Answer(
            text=WORDING.text("answer.not_sure"),
            citation=None,
            confidence=confidence,
            program_id=None,
            kind="not_sure",
        )

    def _not_covered(
        self, question: str, pid: str | None, scored: list[_Scored]
    ) -> tuple[NotCovered | None, str | None]:
        """The benefit outside the pack the question names outright (高龄津贴, 养老金),
        unless the program that would answer (`pid`) is named by one of its own names
        elsewhere in the question (高龄津贴和家庭养老床位能一起享受吗 still answers the
        beds, then says where to ask about the benefit: the second item is that program).
        Exact characters only (after the ASR folding of bot.policy.search)."""
        q = _match_form(question)
        if not q:
            return None, None
        named: list[tuple[int, int, NotCovered]] = []
        for benefit in self.coverage.not_covered:
            for text in (benefit.name, *benefit.aliases):
                t = _match_form(text)
                at = q.find(t) if t else -1
                if at >= 0:
                    named.append((at, at + len(t), benefit))
        if not named:
            return None, None
        top = next((s for s in scored if s.program_id == pid), None)
        own = [
            m
            for m in (top.mentions if top else ())
            if m.term.kind == "alias" and not any(a < m.end and m.start < b for a, b, _ in named)
        ]
        return min(named, key=lambda n: n[0])[2], pid if own else None

    # -- composing answers -------------------------------------------------------------

    def _answer_for(self, pid: str, question: str, day: dt.date, confidence: float) -> Answer:
        program = self._programs[pid]
        text, citation, ended = self._compose_full(program, question, day)
        return Answer(text=text, citation=citation, confidence=confidence, program_id=pid, plan_ended=ended)

    def _answer_two(self, topics: list[_Scored], question: str, day: dt.date) -> Answer:
        """A question about two programs (助餐和助浴怎么收费): a short answer for each, in
        the order the caller named them, each with its own citation and each answered on
        the question without the other program's words. `also` names the later ones."""
        topics = SearchIndex.in_order(topics)
        parts, pids, citation, ended_any = [], [], None, False
        for s in topics:
            part = SearchIndex.part_for(question, s, topics)
            pid = self._index.price_program(part, s) or s.program_id
            if pid in pids:
                continue
            text, cited, ended = self._compose_full(self._programs[pid], part, day)
            parts.append(text)
            pids.append(pid)
            citation = citation or cited
            ended_any = ended_any or ended
        return Answer(
            text="".join(parts),
            citation=citation,
            confidence=min(s.evidence for s in topics),
            program_id=pids[0],
            plan_ended=ended_any,
            also=tuple(pids[1:]),
        )

    def _compose(self, program: Program, question: str, day: dt.date) -> tuple[str, Citation]:
        text, citation, _ended = self._compose_full(program, question, day)
        return text, citation

    def _compose_full(self, program: Program, question: str, day: dt.date) -> tuple[str, Citation, bool]:
        """(spoken text, the citation of what was actually used, whether it states an
        ended plan's target). The citation is the FAQ's clause when a FAQ answered, else
        the clause of the first number spoken, else the program's."""
        q = _prep(question)
        facet = facet_of(question) if q else None
        body = None
        used: list[ParameterValue] = []
        faq = self._best_faq(program, q, facet)
        citation = program.citation
        if faq is not None:
            body = _render_or_fallback(program, faq.answer, day, used)
            # a number spoken is cited by its own clause; otherwise the FAQ's clause
            citation = used[0].citation if used else (faq.citation or program.citation)
        elif facet == "documents":
            body = WORDING.format(
                "answer.documents", program=program.short_name, documents=program.documents_text
            )
        elif facet == "apply":
            body = WORDING.format("answer.apply", program=program.short_name, apply=program.apply_text)
        elif facet == "who":
            body = WORDING.format("answer.who", program=program.short_name, target_group=program.target_group)
        else:
            body = _render_or_fallback(program, program.summary, day, used)
            if used:
                citation = used[0].citation
        body = body.rstrip()
        if not body.endswith(("。", "？", "！")):
            body += "。"
        ended = next((v for v in used if v.plan_ended(day)), None)
        if ended is not None:
            body += ended_plan_text(ended)
        return f"{body}{citation.spoken()}", citation, ended is not None

    @staticmethod
    def _best_faq(program: Program, q: str, facet: str | None) -> Faq | None:
        """The FAQ that answers `q` (bot.policy.search.SearchIndex.best_faq); a price the
        documents do not give is said so, as an FAQ of the program's own clause."""
        found = SearchIndex.best_faq(program, q, facet)
        if found == NO_PRICE:
            return Faq(
                question="",
                answer=WORDING.format(
                    "answer.no_price",
                    program=program.short_name,
                    hotline_hint=WORDING.text("answer.hotline_hint"),
                ),
                facet="amount",
                citation=program.citation,
            )
        assert not isinstance(found, str)  # NO_PRICE is the only text best_faq returns
        return found

    def _is_generic(self, question: str) -> bool:
        q = _prep(question)
        return bool(q) and len(_strip(_topic(q), _GENERIC)) <= 1

    def _clarify(self) -> Answer:
        examples = [self._programs[p] for p in GENERIC_EXAMPLES if p in self._programs]
        names = "、".join(p.short_name for p in examples)
        return Answer(
            text=WORDING.format("answer.which_policy", examples=names),
            citation=None,
            confidence=0.0,
            program_id=None,
            kind="clarify",
            suggestions=tuple((p.id, p.short_name) for p in examples),
        )


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
    return KnowledgeBase(region, loader.programs, loader.sources, loader.chain, loader.coverage)


_CACHE: dict[tuple[str, str], tuple[tuple[Any, ...], KnowledgeBase]] = {}
_CHECKED: dict[tuple[str, str], float] = {}  # when the files were last compared
RELOAD_CHECK_SECONDS = 5.0  # an edited policy file is picked up within this time
_CACHE_LOCK = threading.Lock()


def _signature(root: Path) -> tuple[Any, ...]:
    """What the cached pack was read from: every YAML file under the policies folder."""
    return tuple((str(f), f.stat().st_mtime_ns) for f in sorted(root.rglob("*.yml")))


def get_kb(region: str | None = None, policies_dir: Path | str | None = None) -> KnowledgeBase:
    """The process-wide KB of a region (default POLICY_REGION). The one cache of the policy
    pack: the eligibility engine and the booking ledger read it too. Reloaded when a file
    under the policies folder changes."""
    settings = get_settings()
    key = (str(policies_dir or settings.policies_dir), region or settings.policy_region)
    cached = _CACHE.get(key)
    now = time.monotonic()
    if cached is not None and now - _CHECKED.get(key, 0.0) < RELOAD_CHECK_SECONDS:
        return cached[1]  # a chat turn does not stat every policy file
    _CHECKED[key] = now
    signature = _signature(Path(key[0]))
    if cached is None or cached[0] != signature:
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
            if cached is None or cached[0] != signature:
                kb = load_kb(key[0], key[1])
                cached = (signature, kb)
                _CACHE[key] = cached
                _CHECKED[key] = time.monotonic()  # loading takes seconds (jieba)
                log.info("policy pack %s loaded: %d programs", key[1], len(kb.program_ids()))
    return cached[1]


def clear_cache() -> None:
    """Forgets loaded packs (tests; a reload after editing policy files)."""
    with _CACHE_LOCK:
        _CACHE.clear()
        _CHECKED.clear()
