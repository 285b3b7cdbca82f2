"""Every domain's tables in one metadata, for Alembic and for tests that build schemas."""

from medreach.accounts import models as accounts  # noqa: F401
from medreach.catalog import models as catalog  # noqa: F401
from medreach.core import events  # noqa: F401
from medreach.core.db import Base
from medreach.ops import models as ops  # noqa: F401
from medreach.orders import models as orders  # noqa: F401
from medreach.pipeline import models as pipeline  # noqa: F401
from medreach.profiles import models as profiles  # noqa: F401
from medreach.promotions import models as promotions  # noqa: F401
from medreach.tracking import models as tracking  # noqa: F401

metadata = Base.metadata
