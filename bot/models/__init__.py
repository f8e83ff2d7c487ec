"""SQLAlchemy models of the service database, one module per area.

Every module registers its tables on `Base.metadata`; Alembic (migrations/) reads it.
"""

from bot.models.base import Base  # noqa: F401
from bot.models.people import Community, Elder, Street  # noqa: F401
from bot.models.messaging import Handoff, SafetyEvent, SmsOptOut, SmsOutbox  # noqa: F401

# Areas added by later modules register themselves here.
from bot.models import booking  # noqa: F401,E402
from bot.models import telephony  # noqa: F401,E402
from bot.models import console  # noqa: F401,E402
from bot.models import identity  # noqa: F401,E402
from bot.models import outreach  # noqa: F401,E402
from bot.models import live_chat  # noqa: F401,E402
from bot.models import casefile  # noqa: F401,E402

# What `from bot.models import X` may name (the models live in their area's module).
__all__ = ["Base", "Community", "Elder", "Street", "Handoff", "SafetyEvent", "SmsOptOut", "SmsOutbox"]
