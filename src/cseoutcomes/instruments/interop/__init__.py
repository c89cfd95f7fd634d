"""Instruments and data in the formats services already use: REDCap, XLSForm, FHIR, Frictionless.

Every conversion returns its result together with a :class:`LossReport`
naming, element by element, what the format could not hold and why:

- ``from_redcap(path)``, ``from_xlsform(path)``, ``from_fhir(path_or_dict)``
  return :class:`Imported` ``(instrument, losses)``;
- ``to_redcap(inst)``, ``to_xlsform(inst, path)``, ``to_fhir(inst)``,
  ``to_table_schema(inst)`` return :class:`Exported` ``(output, losses)``.

Both unpack as pairs (``inst, losses = from_redcap(path)``) and also name
their parts (``result.instrument``, ``result.losses``, ``result.output``).

Exports carry cseoutcomes metadata (REDCap field annotations, XLSForm
``bind::cseoutcomes:meta`` columns, FHIR extensions) unless
``metadata=False``, so ``from_X(to_X(inst))`` gives back the same instrument.
:func:`read_redcap_records` turns a REDCap records export into a table
:func:`cseoutcomes.validate` accepts. See ``docs/interop.md``.
"""

from cseoutcomes.instruments.interop._loss import Exported, Imported, Loss, LossReport
from cseoutcomes.instruments.interop.fhir import from_fhir, to_fhir
from cseoutcomes.instruments.interop.redcap import from_redcap, read_redcap_records, to_redcap
from cseoutcomes.instruments.interop.tableschema import to_table_schema
from cseoutcomes.instruments.interop.xlsform import from_xlsform, to_xlsform

__all__ = [
    "Exported",
    "Imported",
    "Loss",
    "LossReport",
    "from_fhir",
    "from_redcap",
    "from_xlsform",
    "read_redcap_records",
    "to_fhir",
    "to_redcap",
    "to_table_schema",
    "to_xlsform",
]
