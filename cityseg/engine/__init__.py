from . import checkpoint_backend  # noqa: F401  (registers the 'atomic_local' file backend)
from .hooks import *  # noqa: F403
from .optimizers import *  # noqa: F403
