"""Eligibility: the rules engine over the policy pack (`rules`), what a caller says turned
into facts (`caller`), which program a question is about (`focus`), and the summary read to
the caller (`summary`)."""
