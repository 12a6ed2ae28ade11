"""The spec API: what a protocol author imports, and nothing of any engine.

``from agree.spec import Spec, action, invariant`` is all a model needs (with the
declared speed hooks ``history`` and ``per_state``, see agree.spec.api); engines,
renderers and the command line build on this package, never the other way round.
"""

# The public API is agree.spec.api.__all__, listed there once.
from agree.spec.api import *  # noqa: F403
from agree.spec.api import __all__ as __all__
