"""Assessment tables: reading, writing and the bundled example data."""

from cseoutcomes.data.examples import example_path, load_example
from cseoutcomes.data.io import read_table, write_table

__all__ = ["example_path", "load_example", "read_table", "write_table"]
