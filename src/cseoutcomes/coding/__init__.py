"""Qualitative coding: codebooks, coded segments, coder agreement, framework matrices.

Codebooks are instruments of kind ``coding_scheme`` (see ``instruments/practice-codebook.yaml``).
Codings are read from tidy tables (:func:`read_segments`) into :class:`CodedSegments`;
:func:`agreement` measures how far coders agree; :func:`framework_matrix` and
:func:`indicator_table` turn codings into data.
"""

from cseoutcomes.coding.agreement import AgreementResult, agreement, reliability_data
from cseoutcomes.coding.matrix import framework_matrix, indicator_table, join_indicators
from cseoutcomes.coding.segments import COLUMNS, CodedSegments, read_segments

__all__ = [
    "COLUMNS",
    "AgreementResult",
    "CodedSegments",
    "agreement",
    "framework_matrix",
    "indicator_table",
    "join_indicators",
    "read_segments",
    "reliability_data",
]
