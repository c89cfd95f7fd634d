"""Psychometrics: reliability, agreement, reliable change and an instrument's evidence report.

Every statistic returns a small typed result (:class:`Estimate` or
:class:`ResultTable`) with its interval, method (and source), n and warnings.
"""

from cseoutcomes.psychometrics.agreement import cohen_kappa, fleiss_kappa, icc, krippendorff_alpha
from cseoutcomes.psychometrics.change import clinical_cutoffs, reliable_change
from cseoutcomes.psychometrics.evaluate import EvidenceReport, evaluate
from cseoutcomes.psychometrics.polychoric import polychoric
from cseoutcomes.psychometrics.reliability import (
    cronbach_alpha,
    item_analysis,
    mcdonald_omega,
    standard_error_of_measurement,
)
from cseoutcomes.psychometrics.results import Estimate, ResultTable

__all__ = [
    "Estimate",
    "EvidenceReport",
    "ResultTable",
    "clinical_cutoffs",
    "cohen_kappa",
    "cronbach_alpha",
    "evaluate",
    "fleiss_kappa",
    "icc",
    "item_analysis",
    "krippendorff_alpha",
    "mcdonald_omega",
    "polychoric",
    "reliable_change",
    "standard_error_of_measurement",
]
