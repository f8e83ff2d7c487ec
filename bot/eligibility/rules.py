"""The eligibility engine: which programs of the active policy pack a person can use, and why.

Rules are data (policies/<pack>/rules/<program_id>.yml, format in the README.md next to
them); this module only knows how to read and evaluate them. Each program gets one of
three results:

    eligible      every condition holds
    not_eligible  some condition fails (the reasons say which, with the clause)
    unknown       nothing fails yet, but a fact is missing (`missing` says which)

    >>> results = evaluate({"age": 88, "street": "五老村"}, on=date(2026, 11, 23))
    >>> [r.program_id for r in results if r.status == "eligible"]
    ['free_home_care_80plus', ...]

Conditions are evaluated in three-valued logic (true / false / unknown): `all` is false
as soon as one part is false, `any` is true as soon as one part is true, so a result is
decided with as few facts as possible and `relevant_missing_facts` can tell the
conversation which questions are still worth asking.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import yaml
from jsonschema import Draft202012Validator

from bot.text import facts as factlib
from bot.policy import kb as policy_kb
from bot.clock import age_on, today
from bot.config import get_settings
from bot.eligibility.wording import WORDING

# The colloquial readers live in bot/text/facts.py; re-exported so callers need one import.
from bot.text.facts import (  # noqa: F401
    DONT_KNOW,
    extract_facts,
    parse_age,
    parse_care_level,
    parse_dementia,
    parse_economic_status,
    parse_living_situation,
    parse_relation,
    parse_special_family,
    parse_street,
    parse_yes_no,
    read_age,
)


STATUSES = ("eligible", "not_eligible", "unknown")


class RuleError(ValueError):
    """A rule file is malformed; the message names the file and the field."""


class FactError(ValueError):
    """A fact value cannot be used; `message_zh` is for the person, str() for the log."""

    def __init__(self, key: str, value: Any, message_zh: str):
        super().__init__(f"fact {key!r} has unusable value {value!r}")
        self.key = key
        self.message_zh = message_zh


# --- rule file format ---------------------------------------------------------------------

_DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
_SCALAR = {"type": ["string", "number", "boolean"]}
CONDITION_SCHEMA = {
    "oneOf": [
        {
            "type": "object",
            "required": ["all"],
            "additionalProperties": False,
            "properties": {"all": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/condition"}}},
        },
        {
            "type": "object",
            "required": ["any"],
            "additionalProperties": False,
            "properties": {"any": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/condition"}}},
        },
        {
            "type": "object",
            "required": ["not"],
            "additionalProperties": False,
            "properties": {"not": {"$ref": "#/$defs/condition"}},
        },
        {
            "type": "object",
            "required": ["always"],
            "additionalProperties": False,
            "properties": {"always": {"type": "boolean"}},
        },
        # a reading the document leaves open (an `assumptions` id of the program): the
        # engine does not guess, the result is unknown and says 请社区认定
        {
            "type": "object",
            "required": ["review"],
            "additionalProperties": False,
            "properties": {"review": {"type": "string"}},
        },
        {
            "type": "object",
            "required": ["fact", "op"],
            "additionalProperties": False,
            "properties": {
                "fact": {"type": "string"},
                "op": {"enum": ["eq", "ne", "in", "not_in", ">=", ">", "<=", "<", "is_true", "is_false"]},
                "value": {"oneOf": [_SCALAR, {"type": "array", "items": _SCALAR}]},
                "param": {"type": "string"},
            },
        },
    ]
}
RULE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["program_id", "eligible_when"],
    "additionalProperties": False,
    "properties": {
        "program_id": {"type": "string", "pattern": "^[a-z0-9_]+$"},
        "benefit": {"type": "string"},
        "summary_rank": {"type": "integer"},
        "in_force": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"from": _DATE, "to": _DATE},
        },
        "eligible_when": {"$ref": "#/$defs/condition"},
        "tiers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["name", "when"],
                "additionalProperties": False,
                "properties": {"name": {"type": "string"}, "when": {"$ref": "#/$defs/condition"}},
            },
        },
        "hints": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["when", "text"],
                "additionalProperties": False,
                "properties": {
                    "when": {"$ref": "#/$defs/condition"},
                    "text": {"type": "string"},
                    "speak": {"type": "boolean"},
                    "for": {"type": "array", "items": {"enum": list(STATUSES)}},
                },
            },
        },
    },
    "$defs": {"condition": CONDITION_SCHEMA},
}
PACK_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["pack", "region", "streets", "ask_order"],
    "additionalProperties": False,
    "properties": {
        "pack": {"type": "string"},
        "region": {"type": "string"},
        "streets": {
            "type": "object",
            "required": ["names"],
            "additionalProperties": False,
            "properties": {
                "names": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                # 四(二)1: the seven streets inside the Ming city wall
                "inside_city_wall": {"type": "array", "items": {"type": "string"}},
                "source": {
                    "type": "object",
                    "required": ["document", "clause"],
                    "properties": {"document": {"type": "string"}, "clause": {"type": "string"}},
                },
            },
        },
        "ask_order": {"type": "array", "items": {"type": "string"}},
        "volunteered_only": {"type": "array", "items": {"type": "string"}},
    },
}

# Facts rules may name: Elder.facts() keys plus `resident` (derived from street).
KNOWN_FACTS = set(factlib.FACT_KEYS) | {"resident"}
# Where a derived fact comes from: what to ask when it is missing.
FACT_SOURCES = {"resident": "street", "age": "age"}
# An approximate age this close to a threshold (in years) decides nothing: the birth date is asked.
APPROXIMATE_AGE_MARGIN = 1


# --- loaded rules -------------------------------------------------------------------------


@dataclass(frozen=True)
class Program:
    program_id: str
    name: str  # the policy pack's name of the program (one home)
    benefit: str
    summary_rank: int
    citation: policy_kb.Citation  # the program's clause in the policy pack
    in_force: dict[str, Any]
    eligible_when: dict[str, Any]
    tiers: tuple[dict[str, Any], ...]
    hints: tuple[dict[str, Any], ...]
    source: str
    kb_program: policy_kb.Program = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def assumption(self, assumption_id: str) -> dict[str, Any] | None:
        return next((a for a in self.kb_program.assumptions if a["id"] == assumption_id), None)


@dataclass(frozen=True)
class Pack:
    name: str
    region: str
    streets: tuple[str, ...]
    ask_order: tuple[str, ...]
    programs: tuple[Program, ...]
    volunteered_only: tuple[str, ...] = ()  # used when said, never asked
    kb: policy_kb.KnowledgeBase = field(repr=False, compare=False, default=None)  # type: ignore[assignment]

    def parameter(self, program: Program, name: str) -> policy_kb.Parameter:
        """A parameter of the program, or one the region shares (policies/*/parameters.yml):
        the numbers live once, in the policy pack; the rules only name them."""
        param = program.kb_program.parameter(name)
        if param is None:
            raise KeyError(name)
        return param

    def names(self, program: Program) -> set[str]:
        return set(program.kb_program.parameters) | set(program.kb_program.common)

    @staticmethod
    def cite(citation: policy_kb.Citation) -> str:
        return f"《{citation.title}》{citation.clause}"


def _jsonable(value: Any) -> Any:
    """YAML dates to ISO strings so the schema (and the API) see one type."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return value


class _RuleLoader(yaml.SafeLoader):  # type: ignore[misc]  # yaml is untyped (no stubs installed)
    """SafeLoader that keeps dates as text, so a bad date is reported with its field."""


_RuleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _read_yaml(path: Path, schema: dict[str, Any]) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_RuleLoader)
    except yaml.YAMLError as exc:
        raise RuleError(f"{path}: not valid YAML: {exc}") from exc
    data = _jsonable(data)
    errors = sorted(
        Draft202012Validator(schema).iter_errors(data),
        key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
    )
    if errors:
        err = max(errors, key=lambda e: len(e.absolute_path))
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        raise RuleError(f"{path}: field {where}: {err.message}")
    return cast("dict[str, Any]", data)


def _check_condition(
    cond: dict[str, Any], where: str, path: Path, params: set[str], assumptions: set[str]
) -> None:
    for key in ("all", "any"):
        if key in cond:
            for i, part in enumerate(cond[key]):
                _check_condition(part, f"{where}/{key}/{i}", path, params, assumptions)
            return
    if "not" in cond:
        _check_condition(cond["not"], f"{where}/not", path, params, assumptions)
        return
    if "always" in cond:
        return
    if "review" in cond:
        if cond["review"] not in assumptions:
            raise RuleError(
                f"{path}: field {where}/review: {cond['review']!r} is not an "
                f"assumption of the program's policy file (known: "
                f"{', '.join(sorted(assumptions)) or 'none'})"
            )
        return
    if cond["fact"] not in KNOWN_FACTS:
        raise RuleError(
            f"{path}: field {where}/fact: unknown fact {cond['fact']!r} "
            f"(known: {', '.join(sorted(KNOWN_FACTS))})"
        )
    needs_operand = cond["op"] not in ("is_true", "is_false")
    if needs_operand and ("value" in cond) == ("param" in cond):
        raise RuleError(f"{path}: field {where}: operator {cond['op']!r} needs exactly one of value or param")
    if "param" in cond and cond["param"] not in params:
        raise RuleError(
            f"{path}: field {where}/param: parameter {cond['param']!r} is defined "
            f"neither in the program's policy file nor in the region's "
            f"parameters.yml"
        )
    if cond["op"] in ("in", "not_in") and not isinstance(cond.get("value", []), list):
        raise RuleError(f"{path}: field {where}/value: operator {cond['op']!r} needs a list")


def load_pack(pack: str | None = None, policies_dir: Path | str | None = None) -> Pack:
    """Reads and checks a rule pack with the policy pack it rests on (POLICY_REGION, the one
    setting for both). Cached with the policy pack: reloaded when a file under the policies
    folder changes."""
    settings = get_settings()
    pack = pack or settings.policy_region
    root = Path(policies_dir or settings.policies_dir)
    rules_dir = root / pack / "rules"
    if not rules_dir.is_dir():
        raise RuleError(f"{rules_dir}: no rule pack {pack!r}")
    try:
        kb = policy_kb.get_kb(pack, root)
    except policy_kb.PolicyPackError as exc:
        raise RuleError(str(exc)) from exc
    key = str(rules_dir)
    with _cache_lock:
        cached = _cache.get(key)
        if cached and cached[0] is kb:
            return cached[1]
    loaded = _load(rules_dir, sorted(rules_dir.glob("*.yml")), kb)
    with _cache_lock:
        _cache[key] = (kb, loaded)
    return loaded


_cache: dict[str, tuple[policy_kb.KnowledgeBase, Pack]] = {}
_cache_lock = threading.Lock()


def _load(rules_dir: Path, files: list[Path], kb: policy_kb.KnowledgeBase) -> Pack:
    pack_file = rules_dir / "_pack.yml"
    if not pack_file.exists():
        raise RuleError(f"{pack_file}: missing (every rule pack has one)")
    meta = _read_yaml(pack_file, PACK_SCHEMA)
    street_source = meta["streets"].get("source", {}).get("document")
    if street_source and street_source not in kb.sources:
        raise RuleError(
            f"{pack_file}: field streets/source/document: unknown document "
            f"{street_source!r} (not a source of the policy pack)"
        )
    unknown_order = (set(meta["ask_order"]) | set(meta.get("volunteered_only", ()))) - set(factlib.FACT_KEYS)
    if unknown_order:
        raise RuleError(f"{pack_file}: field ask_order: unknown facts {sorted(unknown_order)}")
    programs = []
    for path in files:
        if path.name.startswith("_"):
            continue
        raw = _read_yaml(path, RULE_SCHEMA)
        if raw["program_id"] != path.stem:
            raise RuleError(
                f"{path}: field program_id: {raw['program_id']!r} must match the file name {path.stem!r}"
            )
        if raw["program_id"] not in kb.program_ids():
            raise RuleError(
                f"{path}: field program_id: {raw['program_id']!r} is not a program "
                f"of the policy pack (policies/*/programs/)"
            )
        kb_program = kb.program(raw["program_id"])
        for key, value in raw.get("in_force", {}).items():
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise RuleError(f"{path}: field in_force/{key}: {value!r} is not a date") from None
        names = set(kb_program.parameters) | set(kb_program.common)
        assumptions = {a["id"] for a in kb_program.assumptions}
        _check_condition(raw["eligible_when"], "eligible_when", path, names, assumptions)
        for i, tier in enumerate(raw.get("tiers", [])):
            _check_condition(tier["when"], f"tiers/{i}/when", path, names, assumptions)
        for i, hint in enumerate(raw.get("hints", [])):
            _check_condition(hint["when"], f"hints/{i}/when", path, names, assumptions)
            for ref in re.findall(r"{(\w+)}", hint["text"]):
                if ref not in names:
                    raise RuleError(f"{path}: field hints/{i}/text: unknown parameter {ref!r}")
        for ref in re.findall(r"{(\w+)}", raw.get("benefit", "")):
            if ref not in names and ref != "tier":
                raise RuleError(f"{path}: field benefit: unknown parameter {ref!r}")
        programs.append(
            Program(
                program_id=raw["program_id"],
                name=kb_program.name,
                benefit=raw.get("benefit", kb_program.short_name),
                summary_rank=raw.get("summary_rank", 100),
                citation=kb_program.citation,
                in_force=raw.get("in_force", {}),
                eligible_when=raw["eligible_when"],
                tiers=tuple(raw.get("tiers", [])),
                hints=tuple(raw.get("hints", [])),
                source=str(path),
                kb_program=kb_program,
            )
        )
    if not programs:
        raise RuleError(f"{rules_dir}: no rule files")
    return Pack(
        name=meta["pack"],
        region=meta["region"],
        streets=tuple(meta["streets"]["names"]),
        ask_order=tuple(meta["ask_order"]),
        volunteered_only=tuple(meta.get("volunteered_only", ())),
        programs=tuple(sorted(programs, key=lambda p: (p.summary_rank, p.program_id))),
        kb=kb,
    )


# --- facts --------------------------------------------------------------------------------

_CHOICES = {
    "economic_status": (factlib.ECONOMIC_STATUSES, factlib.parse_economic_status),
    "care_level": (factlib.CARE_LEVELS, factlib.parse_care_level),
    "living_situation": (factlib.LIVING_SITUATIONS, factlib.parse_living_situation),
}
# the facts' labels and yes/no readings, as the reasons say them (bot/eligibility/wording.yml)
FACT_LABELS = WORDING.keyed("reasons.labels")
_HELD, _NOT_HELD = WORDING.keyed("reasons.held"), WORDING.keyed("reasons.not_held")


def _is_blank(value: object) -> bool:
    return value is None or value == "" or value == factlib.DONT_KNOW


def _as_bool(key: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in ("true", "yes", "1", "是", "有", "对"):
            return True
        if low in ("false", "no", "0", "否", "没有", "无", "不是"):
            return False
        answer = factlib.parse_yes_no(value)
        if answer is not None:
            return answer
    raise FactError(key, value, f"“{FACT_LABELS.get(key, key)}”应该填“是”或“否”。")


def normalize_facts(raw: dict[str, Any], on: dt.date | None = None) -> dict[str, Any]:
    """Canonical facts from what the API, the database or the conversation gives:
    numbers or Chinese numerals for age, ISO or Chinese birth dates, colloquial words for
    the choice facts. Blank and "unknown" values are dropped (the fact is missing).
    Raises FactError on a value that cannot be read."""
    on = on or today()
    if not isinstance(raw, dict):
        raise FactError("facts", raw, "facts 必须是一个对象。")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in factlib.FACT_KEYS and key not in ("age_approximate", "age_upper", "resident"):
            raise FactError(
                key, value, f"不认识的信息项“{key}”。可以用的有：" + "、".join(factlib.FACT_KEYS) + "。"
            )
        if _is_blank(value):
            continue
        if key == "age":
            if isinstance(value, bool):
                raise FactError(key, value, "年龄应该是数字，比如 85。")
            age: int | None
            if isinstance(value, (int, float)):
                age = int(value)
            else:
                age = factlib.parse_age(str(value), on)
            if age is None or not 0 <= age <= 130:
                raise FactError(key, value, "年龄没看明白，请填周岁数字，比如 85。")
            out["age"] = age
        elif key == "age_upper":
            # the top of an age said as a range (七八十岁: age 70, age_upper 89)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 130:
                raise FactError(key, value, "年龄范围的上限应该是数字，比如 89。")
            out["age_upper"] = int(value)
        elif key == "birth_date":
            born = _read_birth_date(value, on)
            if born is None or born > on:
                raise FactError(key, value, "出生日期没看明白，请用 1938-03-12 这样的格式。")
            out["birth_date"] = born.isoformat()
        elif key == "street":
            if not isinstance(value, str):
                raise FactError(key, value, "街道应该是文字，比如 五老村。")
            street = factlib.parse_street(value) or value.strip()
            out["street"] = street
        elif key in _CHOICES:
            allowed, parser = _CHOICES[key]
            text = str(value).strip()
            canonical = text if text in allowed else parser(text)
            if canonical not in allowed:
                raise FactError(key, value, f"“{FACT_LABELS[key]}”只能是：" + "、".join(allowed) + "。")
            out[key] = canonical
        elif key in factlib.YES_NO_FACTS or key in ("age_approximate", "resident"):
            out[key] = _as_bool(key, value)
    return out


def _read_birth_date(value: object, on: dt.date) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        reading = factlib.read_age(value, on)
        return reading.birth_date if reading else None


def derive(facts: dict[str, Any], on: dt.date, pack: Pack) -> dict[str, Any]:
    """Adds what follows from the facts: age on the day from the birth date, and whether
    the person lives in the district (`resident`) from the street."""
    derived = dict(facts)
    if derived.get("birth_date"):
        derived["age"] = age_on(dt.date.fromisoformat(derived["birth_date"]), on)
        # a birth date is exact: an age guessed or said as a range before no longer counts
        derived.pop("age_approximate", None)
        derived.pop("age_upper", None)
    if derived.get("age_upper") is not None and (
        derived.get("age") is None or derived["age_upper"] <= derived["age"]
    ):
        derived.pop("age_upper")  # not a range (or no age to be the bottom of one)
    if derived.get("street"):
        derived["resident"] = derived["street"] in pack.streets
    return derived


# --- evaluation ---------------------------------------------------------------------------


@dataclass
class Reason:
    fact: str
    value: Any
    rule: str
    holds: bool | None
    text: str
    citation: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "fact": self.fact,
            "value": self.value,
            "rule": self.rule,
            "holds": self.holds,
            "text": self.text,
            "citation": self.citation,
        }


@dataclass
class ProgramResult:
    program_id: str
    name: str
    status: str
    reasons: list[Reason]
    missing: list[str]
    citation: str
    citation_text: str
    hint: str | None = None
    hint_spoken: bool = False  # the rule says the hint is worth saying in a short summary
    tier: str | None = None
    tier_missing: list[str] = field(default_factory=list)  # could still raise the tier
    benefit: str = ""
    summary_rank: int = 100
    parameters: dict[str, Any] = field(default_factory=dict)
    review: list[str] = field(default_factory=list)  # open readings: 请社区认定
    plan_ended: list[str] = field(default_factory=list)  # parameters that are an ended plan's targets
    tier_reasons: list[str] = field(default_factory=list)  # why this tier (是计划生育特殊家庭)

    def to_dict(self) -> dict[str, Any]:
        return {
            "program_id": self.program_id,
            "name": self.name,
            "status": self.status,
            "reasons": [r.to_dict() for r in self.reasons],
            "missing": self.missing,
            "citation": self.citation,
            "citation_text": self.citation_text,
            "hint": self.hint,
            "tier": self.tier,
            "tier_missing": self.tier_missing,
            "benefit": self.benefit,
            "review": self.review,
            "plan_ended": self.plan_ended,
            "parameters": self.parameters,
        }


class _Evaluator:
    def __init__(self, pack: Pack, program: Program, facts: dict[str, Any], on: dt.date):
        self.pack, self.program, self.facts, self.on = pack, program, facts, on
        self.used_params: dict[str, Any] = {}

    def param_value(self, name: str) -> tuple[Any, policy_kb.Parameter, policy_kb.ParameterValue | None]:
        param = self.pack.parameter(self.program, name)
        entry = param.at(self.on)
        if entry is None:
            return None, param, None
        self.used_params[name] = entry.value
        return entry.value, param, entry

    def params_on_day(self) -> dict[str, Any]:
        values = {}
        for name in self.pack.names(self.program):
            entry = self.pack.parameter(self.program, name).at(self.on)
            if entry is not None:
                values[name] = policy_kb.spoken_number(entry.value)
        return values

    def run(self, cond: dict[str, Any]) -> tuple[bool | None, list[Reason], set[str]]:
        """(truth, reasons that decide it, facts whose absence leaves it open)."""
        if "always" in cond:
            return bool(cond["always"]), [], set()
        if "review" in cond:
            assumption = self.program.assumption(cond["review"]) or {}
            text = WORDING.format(
                "reasons.community_decides", reading=assumption.get("reading", cond["review"])
            )
            citation = self.pack.cite(self.program.citation)
            return None, [Reason("review", None, f"review {cond['review']}", None, text, citation)], set()
        if "not" in cond:
            value, reasons, missing = self.run(cond["not"])
            return (None if value is None else not value), reasons, missing
        for key in ("all", "any"):
            if key in cond:
                decisive = key == "any"  # the value that settles the whole: True for any
                parts = [self.run(c) for c in cond[key]]
                settled = [p for p in parts if p[0] is decisive]
                if settled:
                    return decisive, [r for p in settled for r in p[1]], set()
                open_parts = [p for p in parts if p[0] is None]
                if open_parts:
                    return (None, [r for p in parts for r in p[1]], set().union(*(p[2] for p in open_parts)))
                return (not decisive), [r for p in parts for r in p[1]], set()
        return self.leaf(cond)

    def leaf(self, cond: dict[str, Any]) -> tuple[bool | None, list[Reason], set[str]]:
        fact, op = cond["fact"], cond["op"]
        citation = self.pack.cite(self.program.citation)
        operand, operand_unit, rule_text = cond.get("value"), "", ""
        if "param" in cond:
            operand, param, entry = self.param_value(cond["param"])
            rule_text = f"{fact} {op} {cond['param']}"
            if entry is None:
                text = WORDING.format(
                    "reasons.rule_not_yet_in_force", label=param.label, day=self.on.isoformat()
                )
                return False, [Reason(fact, self.facts.get(fact), rule_text, False, text, citation)], set()
            operand_unit = entry.unit
            citation = self.pack.cite(entry.citation)
            rule_text += f" ({operand}{operand_unit})"
        else:
            rule_text = f"{fact} {op} {operand}" if operand is not None else f"{fact} {op}"
        value = self.facts.get(fact)
        if value is None:
            source = FACT_SOURCES.get(fact, fact)
            text = WORDING.format("reasons.not_known", label=FACT_LABELS.get(source, source))
            return None, [Reason(fact, None, rule_text, None, text, citation)], {source}
        if (
            fact == "age"
            and op in (">=", ">", "<=", "<")
            and self.facts.get("age_approximate")
            and self.facts.get("age_upper") is None
            and isinstance(operand, (int, float))
            and abs(value - operand) <= APPROXIMATE_AGE_MARGIN
        ):
            # 虚岁八十一, 八十岁左右, 快八十了: too close to the line to decide; ask the birth date
            text = WORDING.format("reasons.age_approximate", value=value, limit=operand, unit=operand_unit)
            return None, [Reason(fact, value, rule_text, None, text, citation)], {"birth_date"}
        upper = self.facts.get("age_upper") if fact == "age" else None
        if upper is not None and isinstance(operand, (int, float)) and op in (">=", ">", "<=", "<"):
            # 七八十岁 (70..89): decided only when the whole range is on one side of the line
            if _compare(op, value, operand) != _compare(op, upper, operand):
                text = WORDING.format(
                    "reasons.age_range", low=value, high=upper, limit=operand, unit=operand_unit
                )
                return None, [Reason(fact, value, rule_text, None, text, citation)], {"birth_date"}
        holds = _compare(op, value, operand)
        text = self._describe(fact, op, value, operand, operand_unit, holds)
        return holds, [Reason(fact, value, rule_text, holds, text, citation)], set()

    def _describe(self, fact: str, op: str, value: Any, operand: Any, unit: str, holds: bool) -> str:
        if fact == "resident":
            street = self.facts.get("street")
            region = self.pack.region
            if value:
                return WORDING.format("reasons.resident", region=region, street=street)
            return WORDING.format("reasons.not_resident", region=region, street=street)
        if fact == "age":
            approx = WORDING.text("reasons.approximately") if self.facts.get("age_approximate") else ""
            if self.facts.get("age_upper") is not None:  # a range: "年龄70到89周岁，满60周岁"
                value, approx = (
                    WORDING.format("reasons.age_span", low=value, high=self.facts["age_upper"]),
                    "",
                )
            age = {"value": value, "approx": approx, "limit": operand, "unit": unit}
            if op in (">=", ">"):
                return WORDING.format("reasons.age_reached" if holds else "reasons.age_under", **age)
            if op in ("<", "<="):
                return WORDING.format("reasons.age_under" if holds else "reasons.age_over", **age)
        if fact in _HELD:
            return _HELD[fact] if value else _NOT_HELD[fact]
        label = FACT_LABELS.get(fact, fact)
        if op in ("in", "not_in"):
            options = "、".join(map(str, operand))
            return _said(label, value, None if value in operand else options)
        if op in ("eq", "ne"):
            return _said(label, value, None if value == operand else operand)
        return _said(label, value, None)


def _said(label: str, value: Any, options: Any) -> str:
    """ "经济状况：普通", and the choices it is not when a rule wanted one of them."""
    said = WORDING.format("reasons.value", label=label, value=value)
    return said if options is None else WORDING.format("focus.not_options", said=said, options=options)


def _compare(op: str, value: Any, operand: Any) -> bool:
    if op == "is_true":
        return value is True
    if op == "is_false":
        return value is False
    if op == "eq":
        return cast(bool, value == operand)
    if op == "ne":
        return cast(bool, value != operand)
    if op == "in":
        return value in operand
    if op == "not_in":
        return value not in operand
    try:
        return cast(
            bool,
            {">=": value >= operand, ">": value > operand, "<=": value <= operand, "<": value < operand}[op],
        )
    except TypeError:
        return False


def _evaluate_program(pack: Pack, program: Program, facts: dict[str, Any], on: dt.date) -> ProgramResult:
    ev = _Evaluator(pack, program, facts, on)
    citation = pack.cite(program.citation)
    in_force = program.in_force
    if (in_force.get("from") and on < dt.date.fromisoformat(in_force["from"])) or (
        in_force.get("to") and on > dt.date.fromisoformat(in_force["to"])
    ):
        reason = Reason(
            "date",
            on.isoformat(),
            "in_force",
            False,
            WORDING.format("reasons.program_not_in_force", day=on.isoformat()),
            citation,
        )
        return ProgramResult(
            program.program_id,
            program.name,
            "not_eligible",
            [reason],
            [],
            citation,
            program.citation.quote or "",
            summary_rank=program.summary_rank,
        )
    truth, reasons, missing = ev.run(program.eligible_when)
    status = {True: "eligible", False: "not_eligible", None: "unknown"}[truth]
    tier = None
    tier_reasons: list[str] = []
    tier_missing: set[str] = set()
    tier_review: list[str] = []
    if truth and program.tiers:
        open_missing: set[str] = set()
        for t in program.tiers:
            t_truth, t_reasons, t_missing = ev.run(t["when"])
            if t_truth is None:
                open_missing |= t_missing  # a higher tier might still apply
                if not t_missing and any(r.fact == "review" for r in t_reasons):
                    # only an open reading stands between this tier and the person: no
                    # lower tier is claimed, the community decides
                    tier_review = [r.text for r in t_reasons if r.fact == "review"]
                    break
                continue
            if t_truth:
                tier = t["name"]
                reasons = reasons + [r for r in t_reasons if r.holds]
                tier_reasons = [r.text for r in t_reasons if r.holds and r.text]
                break
        tier_missing = open_missing
    params = ev.params_on_day()
    hint, hint_spoken = None, False
    for h in program.hints:
        if status not in h.get("for", ["not_eligible", "unknown"]):
            continue
        if ev.run(h["when"])[0]:
            hint = _fill(h["text"], params, None)
            if hint:
                hint_spoken = bool(h.get("speak"))
                break
    benefit = _fill(program.benefit, {**params, "tier": tier or ""}, program.name)
    ended = [
        name
        for name in re.findall(r"{(\w+)}", program.benefit)
        if name != "tier"
        and (entry := pack.parameter(program, name).at(on)) is not None
        and entry.plan_ended(on)
    ]
    if benefit and ended:
        entry = pack.parameter(program, ended[0]).at(on)
        end = entry.plan_end if entry is not None else None
        assert end is not None  # `ended` names only parameters in force whose plan ended
        benefit += WORDING.format("reasons.plan_target", year=end.year)
    review = [r.text for r in reasons if r.fact == "review" and status == "unknown"] + tier_review
    return ProgramResult(
        program.program_id,
        program.name,
        status,
        reasons,
        _in_order(missing, pack),
        citation,
        program.citation.quote or "",
        review=review,
        hint=hint,
        hint_spoken=hint_spoken,
        tier=tier,
        tier_missing=_in_order(tier_missing, pack),
        benefit=benefit,
        summary_rank=program.summary_rank,
        parameters=dict(sorted(ev.used_params.items())),
        plan_ended=ended,
        tier_reasons=tier_reasons,
    )


_Fallback = TypeVar("_Fallback", bound=str | None)


def _fill(template: str, values: dict[str, Any], fallback: _Fallback) -> str | _Fallback:
    """Puts the parameter values of the day into a text; `fallback` when one is not in force."""
    try:
        return template.format_map(values)
    except KeyError:
        return fallback


def _in_order(names: set[str], pack: Pack) -> list[str]:
    return [f for f in pack.ask_order if f in names] + sorted(f for f in names if f not in pack.ask_order)


def evaluate(
    facts: dict[str, Any], on: dt.date | None = None, pack: str | None = None
) -> list[ProgramResult]:
    """Every program of the pack for these facts on day `on` (default: today), eligible
    first, then unknown, then not eligible; within each in the pack's summary order."""
    on = on or today()
    rules = load_pack(pack)
    known = derive(normalize_facts(facts, on), on, rules)
    results = [_evaluate_program(rules, p, known, on) for p in rules.programs]
    order = {"eligible": 0, "unknown": 1, "not_eligible": 2}
    return sorted(results, key=lambda r: (order[r.status], r.summary_rank, r.program_id))


def relevant_missing_facts(
    facts: dict[str, Any],
    on: dt.date | None = None,
    pack: str | None = None,
    skip: tuple[str, ...] | list[str] | set[str] = (),
    include_tiers: bool = True,
    programs: tuple[str, ...] | list[str] | None = None,
) -> list[str]:
    """The facts whose answer could still change some result, in the pack's asking order.
    `skip` names facts not to ask again (the caller said they do not know);
    `include_tiers=False` leaves out facts that would only change a tier of a program the
    person already qualifies for (the phone conversation does that to stay short);
    `programs` limits the results that count to these (the programs the caller asked about)."""
    wanted: set[str] = set()
    now = [r for r in evaluate(facts, on, pack) if programs is None or r.program_id in programs]
    for result in now:
        wanted.update(result.missing)
        if include_tiers:
            wanted.update(result.tier_missing)
    rules = load_pack(pack)
    wanted -= set(skip) | set(rules.volunteered_only)
    wanted = {f for f in wanted if _could_decide(f, facts, now, on, pack, include_tiers, programs)}
    return _in_order(wanted, rules)


# The answers a question may get, for the facts whose answers are a short list.
_ANSWERS: dict[str, tuple[Any, ...]] = {
    "economic_status": factlib.ECONOMIC_STATUSES,
    "care_level": factlib.CARE_LEVELS,
    "living_situation": factlib.LIVING_SITUATIONS,
    **{fact: (True, False) for fact in factlib.YES_NO_FACTS},
}


def _could_decide(
    fact: str,
    facts: dict[str, Any],
    now: list[ProgramResult],
    on: dt.date | None,
    pack: str | None,
    include_tiers: bool,
    programs: tuple[str, ...] | list[str] | None,
) -> bool:
    """Whether some answer to `fact` changes a result (or, with `include_tiers`, a tier)
    while the facts the caller could not say stay unknown: 建档立卡 decides nothing about
    适老化改造 when the money question was skipped, so it is not asked."""
    answers = _ANSWERS.get(fact)
    if answers is None:  # the age, the birth date, the street: always worth asking
        return True
    before = {r.program_id: (r.status, r.tier if include_tiers else None) for r in now}
    for value in answers:
        for result in evaluate({**facts, fact: value}, on, pack):
            if result.program_id not in before:
                continue
            if (result.status, result.tier if include_tiers else None) != before[result.program_id]:
                return True
    return False


def programs(pack: str | None = None) -> list[tuple[str, str]]:
    """(program_id, name) of every program the pack has rules for."""
    return [(p.program_id, p.name) for p in load_pack(pack).programs]
