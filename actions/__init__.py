"""rasa-sdk custom actions. Thin: they read the tracker and call bot/."""

import logging

logging.getLogger("jieba").setLevel(logging.WARNING)
