"""The capabilities' wording catalogues (bot/booking/wording.yml, bot/eligibility/wording.yml,
actions/wording.yml, bot/text/wording.yml, bot/policy/wording.yml, bot/outreach/wording.yml): every key the code names is in its catalogue, a sentence's `{fields}`
are the ones the code fills, and no entry is left that no code names. The loader itself
(bot/text/wording.py) refuses a missing key or a wrong field by name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.text.wording import Catalogue, fields_of

ROOT = Path(__file__).resolve().parents[1]

# catalogue -> (the name the code calls it by, the modules that say its sentences)
CATALOGUES = {
    "bot/booking/wording.yml": ("WORDING", ("actions/booking.py", "bot/booking/ledger.py")),
    "bot/eligibility/wording.yml": (
        "WORDING",
        (
            "actions/eligibility.py",
            "bot/eligibility/summary.py",
            "bot/eligibility/focus.py",
            "bot/eligibility/rules.py",
        ),
    ),
    "actions/wording.yml": (
        "COMMON_WORDING",
        ("actions/common.py", "actions/core.py", "actions/policy.py", "actions/safety.py"),
    ),
    "bot/text/wording.yml": ("WORDING", ("bot/text/timeparse.py",)),
    "bot/policy/wording.yml": ("WORDING", ("bot/policy/kb.py",)),
    "bot/outreach/wording.yml": ("WORDING", ("bot/outreach/reminders.py",)),
}
LOOKUPS = {"text", "format", "template", "words", "keyed"}


def _calls(name: str, modules: tuple[str, ...]) -> list[tuple[str, str, list[str], str]]:
    """(method, key, field names given, where) of every `name.method(...)` in the modules;
    a key chosen by a conditional expression ("a" if x else "b") counts as both."""
    found = []
    for module in modules:
        tree = ast.parse((ROOT / module).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id == name
                and node.func.attr in LOOKUPS
            ):
                continue
            where = f"{module}:{node.lineno}"
            assert node.args, f"{where}: a lookup without a key"
            key = node.args[0]
            options = [key.body, key.orelse] if isinstance(key, ast.IfExp) else [key]
            given = [k.arg or "**" for k in node.keywords]  # "**": fields given as a mapping
            if node.func.attr == "template":  # template(key, "field", ...): the fields named
                given = [a.value for a in node.args[1:] if isinstance(a, ast.Constant)]
            for option in options:
                assert isinstance(option, ast.Constant) and isinstance(option.value, str), (
                    f"{where}: name the key with a literal, so this test can check it"
                )
                found.append((node.func.attr, option.value, given, where))
    return found


@pytest.mark.parametrize("path", sorted(CATALOGUES))
def test_every_key_the_code_names_is_in_the_catalogue_with_its_fields(path):
    catalogue = Catalogue(ROOT / path)
    name, modules = CATALOGUES[path]
    calls = _calls(name, modules)
    assert calls, f"no code reads {path}"
    for method, key, given, where in calls:
        entry = catalogue.entry(key)  # KeyError naming the file and the key
        if method == "format" and "**" in given:  # the rest are checked when it is said
            assert set(given) - {"**"} <= fields_of(entry), f"{where}: {key} has no field of {given}"
        elif method in ("format", "template"):
            assert fields_of(entry) == set(given), (
                f"{where}: {key} has fields {fields_of(entry)}, given {given}"
            )
        elif method == "text":
            assert isinstance(entry, str) and not fields_of(entry), f"{where}: {key} has fields: use format"


@pytest.mark.parametrize("path", sorted(CATALOGUES))
def test_no_entry_of_the_catalogue_is_unused(path):
    catalogue = Catalogue(ROOT / path)
    name, modules = CATALOGUES[path]
    named = {key for _, key, _, _ in _calls(name, modules)}
    unused = [
        leaf
        for leaf in catalogue.leaf_keys()
        if not any(leaf == key or leaf.startswith(key + ".") for key in named)
    ]
    assert not unused, f"entries of {path} no code names: {unused}"


def test_the_loader_names_the_file_and_key(tmp_path):
    path = tmp_path / "wording.yml"
    path.write_text("a:\n  ok: 好的\n  hello: 您好，{name}。\n  list: 好的\n", encoding="utf-8")
    catalogue = Catalogue(path)
    assert catalogue.text("a.ok") == "好的"
    assert catalogue.format("a.hello", name="王阿姨") == "您好，王阿姨。"
    with pytest.raises(KeyError, match=r"wording.yml has no a\.missing"):
        catalogue.text("a.missing")
    with pytest.raises(KeyError, match=r"a\.hello has the fields \['name'\]"):
        catalogue.format("a.hello", who="王阿姨")
    with pytest.raises(ValueError, match=r"a\.list must be a list of words"):
        catalogue.words("a.list")
    with pytest.raises(ValueError, match=r"^wording.yml: a must be a sentence"):
        catalogue.text("a")
    assert catalogue.template("a.hello", "name") == "您好，{name}。"  # filled when said
    with pytest.raises(KeyError, match=r"a\.hello has the fields \['name'\], the code gives \[\]"):
        catalogue.template("a.hello")
    assert catalogue.leaf_keys() == ["a.ok", "a.hello", "a.list"]


def test_anything_else_is_said_by_one_helper():
    """ "还有别的事吗？" has one home: actions/wording.yml, appended by with_anything_else."""
    from actions.common import with_anything_else

    assert with_anything_else("好的。") == "好的。还有别的事吗？"
    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "actions").glob("*.py"))
    code += "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "bot").rglob("*.py"))
    assert "还有别的事吗" not in code
