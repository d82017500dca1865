"""Hypothesis strategies for a spec's interviews (the documented public name).

The strategies live in :mod:`kvpspec.synth.strategies`; this module re-exports
them so that ``from kvpspec.testing import interviews`` keeps working.
"""

from kvpspec.synth.strategies import *  # noqa: F403
from kvpspec.synth.strategies import __all__  # noqa: F401
