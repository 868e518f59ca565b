from .hooks import *  # noqa: F403
from .optimizers import *  # noqa: F403
