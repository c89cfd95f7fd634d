"""Assessment tables: reading, column roles, validation and the bundled example data."""

from cseoutcomes.data.examples import example_path, load_example
from cseoutcomes.data.io import read_table, write_table
from cseoutcomes.data.layout import detect_layout, to_long, to_wide
from cseoutcomes.data.privacy import identifying_columns, pseudonymise
from cseoutcomes.data.report import ValidationReport
from cseoutcomes.data.roles import ColumnRoles, resolve_columns
from cseoutcomes.data.rules import ValidationOptions
from cseoutcomes.data.validation import read_assessments, rule_table, validate

__all__ = [
    "ColumnRoles",
    "ValidationOptions",
    "ValidationReport",
    "detect_layout",
    "example_path",
    "identifying_columns",
    "load_example",
    "pseudonymise",
    "read_assessments",
    "read_table",
    "resolve_columns",
    "rule_table",
    "to_long",
    "to_wide",
    "validate",
    "write_table",
]
