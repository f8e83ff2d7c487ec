"""Text: normalising what callers say or type (`norm`), numbers, ages and yes/no facts
(`facts`), time expressions (`timeparse`), sound-alike correction of speech recognition
(`fuzzy`) and masking of personal data in logs and pages (`masking`). Pure functions, no
database."""
