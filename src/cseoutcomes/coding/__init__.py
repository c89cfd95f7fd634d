"""Qualitative coding: codebooks, coded segments, coder agreement, framework matrices.

Codebooks are instruments of kind ``coding_scheme`` (see ``instruments/practice-codebook.yaml``).
Codings are read from tidy tables (:func:`read_segments`) into :class:`CodedSegments`;
:func:`agreement` measures how far coders agree; :func:`framework_matrix` and
:func:`indicator_table` turn codings into data; :func:`read_refi_qda` and
:func:`write_refi_qda` exchange codebooks and projects with QDA programs.
"""

from cseoutcomes.coding.agreement import AgreementResult, agreement, reliability_data
from cseoutcomes.coding.matrix import framework_matrix, indicator_table, join_indicators
from cseoutcomes.coding.refi import (
    RefiCode,
    RefiProject,
    codes_from_instrument,
    read_refi_qda,
    write_refi_qda,
)
from cseoutcomes.coding.segments import COLUMNS, CodedSegments, read_segments

__all__ = [
    "COLUMNS",
    "AgreementResult",
    "CodedSegments",
    "RefiCode",
    "RefiProject",
    "agreement",
    "codes_from_instrument",
    "framework_matrix",
    "indicator_table",
    "join_indicators",
    "read_refi_qda",
    "read_segments",
    "reliability_data",
    "write_refi_qda",
]
