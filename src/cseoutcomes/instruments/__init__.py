"""The instrument model, its registry and the scoring engine."""

from cseoutcomes.instruments.registry import get_instrument, list_instruments, refresh
from cseoutcomes.instruments.schema import Instrument
from cseoutcomes.instruments.scoring import register_scoring_step, score

__all__ = ["Instrument", "get_instrument", "list_instruments", "refresh", "register_scoring_step", "score"]
