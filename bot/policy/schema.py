"""JSON Schemas of the policy packs (policies/<region>/pack.yml and programs/<id>.yml).

Checked at load time by bot.policy.kb: a malformed file stops start-up with an error that
names the file and the field, so a typo in a policy file never reaches a caller.
"""

from __future__ import annotations

DATE = {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
TEXT = {"type": "string", "minLength": 1}
ID = {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"}
TEXT_LIST = {"type": "array", "items": TEXT}

SOURCE_REF = {
    "type": "object",
    "required": ["document", "clause"],
    "additionalProperties": False,
    "properties": {
        "document": ID,  # a source id of this pack or of a pack it extends
        "clause": TEXT,  # where in the document, e.g. "四(一)2"
        "quote": TEXT,  # the words of the document that carry the fact
    },
}

PARAMETER_VALUE = {
    "type": "object",
    "required": ["value", "unit", "effective_from", "source"],
    "additionalProperties": False,
    "properties": {
        "value": {"anyOf": [{"type": "number"}, TEXT, {"type": "array", "items": TEXT, "minItems": 1}]},
        "unit": TEXT,
        "qualifier": TEXT,  # 不少于 / 不低于 / 约: said before the value
        "effective_from": DATE,
        "effective_to": DATE,  # inclusive; open-ended when absent
        "note": TEXT,  # spoken after the value, e.g. 这是2020年的标准
        "target": {"type": "boolean"},  # a plan's goal ("到2025年……"), not a standard in force
        "source": SOURCE_REF,
    },
}

PARAMETERS = {
    "type": "object",
    "propertyNames": ID,
    "additionalProperties": {
        "type": "object",
        "required": ["label", "values"],
        "additionalProperties": False,
        "properties": {"label": TEXT, "values": {"type": "array", "items": PARAMETER_VALUE, "minItems": 1}},
    },
}

# policies/<region>/parameters.yml: values several programs share (who is 老年人, 高龄, …)
COMMON_PARAMETERS = {
    "type": "object",
    "required": ["parameters"],
    "additionalProperties": False,
    "properties": {"parameters": PARAMETERS},
}

PROGRAM = {
    "type": "object",
    "required": [
        "id",
        "name",
        "short_name",
        "aliases",
        "target_group",
        "benefits",
        "apply",
        "documents",
        "source",
        "summary",
        "faq",
    ],
    "additionalProperties": False,
    "properties": {
        "id": ID,
        "name": TEXT,
        "short_name": TEXT,
        "aliases": {"type": "array", "items": TEXT, "minItems": 1},
        "keywords": TEXT_LIST,
        "target_group": {
            "type": "object",
            "required": ["text"],
            "additionalProperties": False,
            "properties": {"text": TEXT},
        },
        "parameters": PARAMETERS,
        "benefits": {"type": "array", "items": TEXT, "minItems": 1},
        "apply": {
            "type": "object",
            "required": ["text"],
            "additionalProperties": False,
            "properties": {"text": TEXT, "steps": TEXT_LIST, "where": TEXT_LIST},
        },
        "documents": {
            "type": "object",
            "required": ["items", "text"],
            "additionalProperties": False,
            "properties": {"items": {"type": "array", "items": TEXT}, "text": TEXT},
        },
        "source": SOURCE_REF,
        "supporting_sources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["document", "note"],
                "additionalProperties": False,
                "properties": {"document": ID, "note": TEXT},
            },
        },
        "summary": TEXT,
        # where the document allows several readings: the one chosen, and why
        "assumptions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "reading", "note"],
                "additionalProperties": False,
                "properties": {"id": ID, "reading": TEXT, "note": TEXT, "clause": TEXT},
            },
        },
        "faq": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["q", "a"],
                "additionalProperties": False,
                "properties": {
                    "q": TEXT,
                    "a": TEXT,
                    "variants": TEXT_LIST,  # other ways people ask the same question
                    "facet": {"enum": ["what", "who", "amount", "apply", "documents", "history"]},
                    "source": SOURCE_REF,  # the clause this answer rests on (cited when used)
                    "group": TEXT_LIST,  # answer only when the question names one of these
                },
            },
        },
    },
}

PACK = {
    "type": "object",
    "required": ["id", "name", "level", "sources"],
    "additionalProperties": False,
    "properties": {
        "id": ID,
        "name": TEXT,
        "level": {"enum": ["national", "province", "city", "district"]},
        "extends": ID,
        "sources": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["id", "file", "kind", "title"],
                "additionalProperties": False,
                "properties": {
                    "id": ID,
                    "file": TEXT,  # file name in the seed documents folder
                    "kind": {"enum": ["policy", "law", "study"]},
                    "title": TEXT,
                    "issuer": TEXT,
                    "date": DATE,
                    "number": TEXT,
                    "note": TEXT,
                    # the period a plan covers; after valid_to its targets are an ended plan's
                    "valid_from": DATE,
                    "valid_to": DATE,
                },
                # a policy document must say who issued it and when
                "if": {"properties": {"kind": {"const": "policy"}}},
                "then": {"required": ["issuer", "date"]},
            },
        },
    },
}

# policies/<region>/coverage.yml: what retrieval must know beyond the programs (issue 17):
# benefits the pack does not cover, named outright, and where to ask about them.
COVERAGE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "reply": {"type": "string", "pattern": r"\{name\}.*\{where\}"},
        "not_covered": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "additionalProperties": False,
                "oneOf": [{"required": ["where"]}, {"required": ["referral"]}],
                # where: what to tell the caller; referral: the id of a referral in
                # policies/national/referrals.yml whose sentence is said instead
                "properties": {"name": TEXT, "aliases": TEXT_LIST, "where": TEXT, "referral": ID},
            },
        },
    },
}
