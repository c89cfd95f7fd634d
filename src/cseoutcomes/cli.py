"""The ``cseoutcomes`` command.

Exit status: 0 success; 1 invalid content (a definition or data that fails its
checks); 2 usage errors and unreadable files; 3 an internal error (a bug). A user's mistake is one line
with a hint on standard error; ``--debug`` adds the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
import warnings
from collections.abc import Sequence

import pandas as pd

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _non_negative(text: str) -> float:
    """argparse type: a finite number, 0 or more."""
    import math

    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be a number, 0 or more")
    return value


def _positive_numbers(text: str) -> tuple[float, ...]:
    """argparse type: comma-separated finite numbers above 0."""
    import math

    values = []
    for part in (p.strip() for p in text.split(",")):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{part}' is not a number") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"'{part}' must be a number above 0")
        values.append(value)
    return tuple(values)


def _data_command(sub, name: str, help: str) -> argparse.ArgumentParser:
    """A subcommand that reads an export against an instrument (the arguments they share)."""
    p = sub.add_parser(name, help=help)
    p.add_argument("data", metavar="FILE", help="CSV, XLSX or Parquet export")
    p.add_argument("--instrument", "-i", required=True, metavar="ID")
    p.add_argument("--columns", metavar="MAP", help="YAML file naming the columns' roles")
    p.add_argument("--sheet", help="Excel sheet name (default: the first)")
    return p


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="cseoutcomes",
        description="Honest outcome measurement for child sexual exploitation support services.",
    )
    parser.add_argument("--version", action="store_true", help="print the version and exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("--path", action="append", default=[], metavar="DIR",
                        help="extra folder of instrument definitions (repeatable; also "
                             "CSEOUTCOMES_INSTRUMENTS_PATH)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    inst = sub.add_parser("instruments", help="list, show, check and describe instrument definitions")
    isub = inst.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    p = isub.add_parser("list", help="list registered instruments")
    p.add_argument("--all-versions", action="store_true", help="list every version, not only the latest")
    p = isub.add_parser("show", help="show one instrument's items, scores, bands and sources")
    p.add_argument("id", help="instrument id, optionally id@version")
    p = isub.add_parser("check", help="check definition files (exit 0 valid, 1 invalid)")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--no-conformance", action="store_true",
                   help="only validate the definition; skip the conformance checks (scoring, bands, overrides)")
    p = isub.add_parser("schema", help="print the JSON Schema of definition files")
    p.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    p = isub.add_parser("import", help="read a REDCap data dictionary, XLSForm or FHIR Questionnaire as a "
                                       "definition, and say what could not be carried")
    p.add_argument("file", metavar="FILE", help="REDCap dictionary (.csv), XLSForm (.xlsx or a folder of CSV sheets) "
                                               "or FHIR Questionnaire (.json)")
    p.add_argument("--from", dest="source_format", required=True, choices=("redcap", "xlsform", "fhir"))
    p.add_argument("-o", "--output", metavar="YAML", help="write the definition here (default: standard output)")
    p.add_argument("--form", help="REDCap: the form (instrument) to read, where there are several")
    p.add_argument("--missing-codes", metavar="CODES",
                   help="REDCap: the project's Missing Data Codes, e.g. 'UNK, Unknown | NASK, Not asked'")
    p.add_argument("--language", help="XLSForm: the label language to read, e.g. English")
    p.add_argument("--kind", help="the kind of instrument (default: questionnaire)")
    p.add_argument("--id", dest="inst_id", metavar="ID", help="the definition's id")
    p.add_argument("--no-metadata", action="store_true", help="ignore cseoutcomes metadata in the file")
    p.add_argument("--strict", action="store_true", help="exit 1 when anything could not be carried")
    p = isub.add_parser("export", help="write an instrument as a REDCap data dictionary, XLSForm, FHIR "
                                       "Questionnaire or Frictionless Table Schema, and say what is lost")
    p.add_argument("id", help="instrument id (optionally id@version) or a definition file (.yaml)")
    p.add_argument("--to", dest="target_format", required=True, choices=("redcap", "xlsform", "fhir", "table-schema"))
    p.add_argument("-o", "--output", metavar="OUT", help="output file (XLSForm: .xlsx, or a folder for CSV sheets); "
                                                         "default standard output")
    p.add_argument("--no-metadata", action="store_true",
                   help="leave out the cseoutcomes metadata (round trips then lose what the format cannot hold)")
    p.add_argument("--strict", action="store_true", help="exit 1 when anything is lost")

    p = sub.add_parser("score", help="score a table of assessments")
    p.add_argument("data", metavar="DATA", help="CSV, XLSX or Parquet file, one row per assessment")
    p.add_argument("--instrument", "-i", required=True, metavar="ID")
    p.add_argument("-o", "--output", required=True, metavar="OUT", help="output file (.csv, .xlsx, .parquet)")
    p.add_argument("--columns", metavar="MAP", help="YAML file naming the columns' roles and items (as for validate)")
    p.add_argument("--sheet", help="Excel sheet name (default: the first)")

    p = _data_command(sub, "validate", "check an export against an instrument (exit 0 no errors, 1 errors)")
    p.add_argument("--report", metavar="HTML", help="write the report as one HTML file")
    p.add_argument("--json", metavar="JSON", help="write every issue as JSON")
    p.add_argument("--valid-out", metavar="FILE", help="write the rows without errors")
    p.add_argument("--quarantine-out", metavar="FILE", help="write the rows with errors")
    p.add_argument("--today", metavar="DATE", help="treat this date as today (default: the real date)")
    p.add_argument("--jump", type=_non_negative, metavar="POINTS",
                   help="implausible-jump threshold for the main score (default: half its range)")
    p.add_argument("--disable", action="append", default=[], metavar="RULE", help="skip a rule (repeatable)")

    p = sub.add_parser("pseudonymise", help="replace identifier columns by keyed tokens (HMAC-SHA256)")
    p.add_argument("data", metavar="FILE")
    p.add_argument("--columns", required=True, metavar="COLS", help="comma-separated column names")
    p.add_argument("--key-file", metavar="KEY", help="file holding the secret key (else $CSEOUTCOMES_PSEUDONYM_KEY)")
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument("--sheet", help="Excel sheet name (default: the first)")

    p = _data_command(sub, "evaluate", "reliability and agreement of an instrument on a dataset (validated first)")
    p.add_argument("--report", metavar="HTML",
                   help="write the evidence report as one HTML page (counts through disclosure control)")
    p.add_argument("--json", metavar="JSON", help="write the statistics as JSON")
    p.add_argument("--retest-days", type=_non_negative, default=30.0, metavar="DAYS",
                   help="same rater, at most this many days apart: a test-retest pair (default 30)")
    p.add_argument("--no-omega", action="store_true", help="skip McDonald's omega (faster)")

    p = _data_command(sub, "fit", "fit a change model to an export (validated first; valid rows only)")
    p.add_argument("--outcome", "-o", required=True, metavar="NAME",
                   help="a band (total_band), a score (total) or an item / ladder domain")
    p.add_argument("--out", metavar="FIT", help="write the fit: netCDF (.nc) for pymc, JSON for statsmodels")
    p.add_argument("--backend", choices=("pymc", "statsmodels"), default="pymc")
    p.add_argument("--sampler", choices=("nutpie", "pymc", "numpyro", "blackjax"),
                   help="NUTS implementation (default nutpie)")
    p.add_argument("--family", choices=("auto", "ordinal", "gaussian", "student_t"), default="auto")
    p.add_argument("--groups", metavar="LEVELS", default="worker,service,area",
                   help="comma-separated levels with random slopes of time, among worker, service, area "
                        "(default all found; '' for none)")
    p.add_argument("--time-unit", choices=("months", "quarters", "years"), default="months")
    p.add_argument("--person-slopes", action="store_true", help="give each young person a random slope")
    p.add_argument("--covariates", metavar="COLS", default="", help="comma-separated covariate columns")
    p.add_argument("--dropout", action="store_true",
                   help="joint drop-out model: when and why a case closes depends on the latent risk (needs closure "
                        "reason and closure date columns; default: closure ignorable, missing at random)")
    p.add_argument("--observation-end", metavar="DATE",
                   help="--dropout: the date the data were extracted; open cases are followed until then "
                        "(default: the latest date in the data)")
    p.add_argument("--baseline-knots", type=_positive_numbers, default=(), metavar="TIMES",
                   help="--dropout: comma-separated times since referral (in --time-unit) at which each closure "
                        "reason's baseline hazard may change, e.g. 3 (months) when no case closes as planned "
                        "before a first review")
    p.add_argument("--selection-at-least", metavar="VALUE",
                   help="referral selection: every case was taken on because its referral assessment reached this "
                        "band (or score); models the screen, so regression to the mean is taken out of the change")
    p.add_argument("--measurement-covariates", metavar="COLS", default="",
                   help="comma-separated 0/1 or numeric columns that change how an assessment reads, not the young "
                        "person's outcome (e.g. who rated)")
    p.add_argument("--referral-apart", action="store_true",
                   help="measure the referral assessment apart: a measurement covariate 'referral' that is 1 on "
                        "each young person's first assessment (when referrals read differently, e.g. more "
                        "'unknown' answers)")
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--tune", type=int, default=None, help="tuning steps per chain (default: nutpie 300, others 1000)")
    p.add_argument("--chains", type=int, default=2)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--target-ess", type=float, default=None, metavar="N",
                   help="keep doubling the draws until R-hat <= 1.01 and bulk ESS >= N")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("summarize", help="summarise a saved fit: change, parameters, convergence, closed cases")
    p.add_argument("fit", metavar="FIT", help="a .nc file written by `cseoutcomes fit --out`")
    p.add_argument("--prob", type=float, default=0.9, help="interval probability (default 0.9)")

    p = sub.add_parser("report", help="one self-contained HTML page for a saved fit, a validation run or an "
                                      "instrument evaluation (counts through disclosure control)")
    p.add_argument("source", metavar="FILE", help="a .nc fit (`cseoutcomes fit --out`), or a CSV/XLSX/Parquet "
                                                  "export with --instrument")
    p.add_argument("-o", "--output", required=True, metavar="HTML")
    p.add_argument("--instrument", "-i", metavar="ID", help="instrument of an export (validation or evaluation)")
    p.add_argument("--kind", choices=("fit", "validation", "evaluation"),
                   help="what to report (default: fit for .nc files, validation for exports)")
    p.add_argument("--columns", metavar="MAP", help="YAML file naming the columns' roles (exports)")
    p.add_argument("--sheet", help="Excel sheet name (default: the first)")
    p.add_argument("--today", metavar="DATE", help="validation: treat this date as today")
    p.add_argument("--no-issue-list", action="store_true",
                   help="validation: leave out the row-by-row problem list (for a page shared beyond the data owner)")
    p.add_argument("--policy", choices=("nhs", "dfe", "safe_room"), default="nhs",
                   help="disclosure-control convention for counts and group statistics (default nhs)")
    p.add_argument("--prob", type=float, default=0.9, help="interval probability (default 0.9)")

    coding = sub.add_parser("coding", help="qualitative codings: import, coder agreement, export (REFI-QDA, CSV)")
    csub = coding.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    p = csub.add_parser("import", help="read codings (CSV, XLSX, JSON, .qdpx, .qdc) and report what was read")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--codebook", metavar="ID", help="coding-scheme instrument to check the codes against")
    p.add_argument("-o", "--output", metavar="OUT", help="write the codings as a tidy CSV")
    p = csub.add_parser("agreement", help="kappa and Krippendorff's alpha per code and pooled, with intervals")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--codebook", metavar="ID")
    p.add_argument("--unit", choices=("case", "source", "segment"), default="case")
    p.add_argument("--segment-length", type=int, metavar="CHARS", help="characters per segment (--unit segment)")
    p.add_argument("--boot", type=int, default=1000, metavar="N", help="bootstrap resamples of units (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="JSON", help="write the tables as JSON")
    p = csub.add_parser("export", help="write codings or a codebook as REFI-QDA (.qdpx, .qdc) or CSV")
    p.add_argument("file", metavar="FILE", nargs="?", help="codings to export (omit for --format qdc --codebook ID)")
    p.add_argument("--format", choices=("qdpx", "qdc", "csv"), required=True)
    p.add_argument("-o", "--output", required=True, metavar="OUT")
    p.add_argument("--codebook", metavar="ID")
    p.add_argument("--sources", metavar="DIR", help="folder of <source>.txt plain texts (spans need them)")

    sub.add_parser("demo", help="simulate a programme, validate, score, fit the ordinal change model and print "
                                "the naive share beside the modelled one")
    return parser


# ---------------------------------------------------------------------------
# commands


def _cmd_list(args) -> int:
    import cseoutcomes as co

    rows = [(i.id, i.version, i.kind, i.title, i.source or "") for i in
            co.list_instruments(args.path, all_versions=args.all_versions)]
    _print_table(("id", "version", "kind", "title", "source"), rows, shorten_last=True)
    return 0


def _cmd_show(args) -> int:
    import cseoutcomes as co

    inst = co.get_instrument(args.id, paths=args.path)
    print(describe_instrument(inst))
    return 0


def _cmd_check(args) -> int:
    from cseoutcomes.errors import DefinitionError
    from cseoutcomes.instruments.schema import Instrument

    status = 0
    for file in args.files:
        try:
            inst = Instrument.from_yaml(file)
        except DefinitionError as exc:
            if exc.exit_code == 2:
                raise
            for problem in exc.problems:
                print(problem)
            print(f"{file}: invalid ({len(exc.problems)} problem{'s' * (len(exc.problems) > 1)})")
            status = max(status, 1)
            continue
        if not args.no_conformance:
            from cseoutcomes.testing import check_instrument

            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    check_instrument(inst)
            except AssertionError as exc:
                lines = str(exc).splitlines()[1:]
                for line in lines:
                    print(f"{file}: {line.strip()}")
                print(f"{file}: valid definition, but fails {len(lines)} conformance check(s)")
                status = max(status, 1)
                continue
        print(f"{file}: valid ({inst.summary()})")
    return status


def _cmd_schema(args) -> int:
    from cseoutcomes.instruments.schema import Instrument

    text = json.dumps(Instrument.json_schema(), indent=2, ensure_ascii=False) + "\n"
    if args.output:
        from cseoutcomes.data.io import write_text

        write_text(text, args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _cmd_import(args) -> int:
    from cseoutcomes.instruments import interop

    options = {"kind": args.kind, "id": args.inst_id, "metadata": not args.no_metadata}
    if args.source_format == "redcap":
        result = interop.from_redcap(args.file, form=args.form, missing_codes=args.missing_codes, **options)
    elif args.source_format == "xlsform":
        result = interop.from_xlsform(args.file, language=args.language, **options)
    else:
        result = interop.from_fhir(args.file, **options)
    text = result.instrument.to_yaml()
    if args.output:
        from cseoutcomes.data.io import write_text

        write_text(text, args.output)
        print(f"wrote {args.output}: {result.instrument.summary()}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    print(str(result.losses), file=sys.stderr)
    return 1 if args.strict and not result.losses.ok else 0


def _cmd_export(args) -> int:
    from pathlib import Path

    import cseoutcomes as co
    from cseoutcomes.errors import CseOutcomesError
    from cseoutcomes.instruments import interop

    source = Path(args.id)
    if source.suffix.lower() in (".yaml", ".yml") and source.exists():
        inst = co.Instrument.from_yaml(source)
    else:
        inst = co.get_instrument(args.id, paths=args.path)
    metadata = not args.no_metadata
    out = args.output
    if args.target_format == "xlsform":
        if not out:
            raise CseOutcomesError("an XLSForm is a workbook: give -o FILE.xlsx (or -o FOLDER for CSV sheets)")
        result = interop.to_xlsform(inst, out, metadata=metadata)
    elif args.target_format == "redcap":
        result = interop.to_redcap(inst, out, metadata=metadata)
    elif args.target_format == "fhir":
        result = interop.to_fhir(inst, out, metadata=metadata)
    else:
        result = interop.to_table_schema(inst, out)
    if out:
        print(f"wrote {result.output}", file=sys.stderr)
    else:
        output = result.output
        sys.stdout.write(output if isinstance(output, str) else json.dumps(output, indent=2, ensure_ascii=False) + "\n")
    print(str(result.losses), file=sys.stderr)
    return 1 if args.strict and not result.losses.ok else 0


def _cmd_score(args) -> int:
    import pandas as pd

    import cseoutcomes as co
    from cseoutcomes.data import read_table, write_table
    from cseoutcomes.data.roles import read_column_map, resolve_columns

    inst = co.get_instrument(args.instrument, paths=args.path)
    table = read_table(args.data, sheet=args.sheet)
    # the same column map as `validate` takes: roles, `items:` and `bands:`
    roles = resolve_columns(table, inst, read_column_map(args.columns) if args.columns else None)
    scores = co.score(table, inst, columns=roles.scoring_columns(inst))
    clash = {c: f"{c}_scored" for c in scores.columns if c in table.columns}
    out = pd.concat([table, scores.rename(columns=clash)], axis=1)
    write_table(out, args.output)
    print(f"scored {len(table):,} assessment{'s' * (len(table) != 1)} on {inst.key}: "
          f"{', '.join(s.id for s in inst.scores)} -> {args.output}")
    return 0


def _cmd_validate(args) -> int:
    import cseoutcomes as co
    from cseoutcomes.data import read_assessments, write_table
    from cseoutcomes.data.roles import read_column_map

    inst = co.get_instrument(args.instrument, paths=args.path)
    columns = read_column_map(args.columns) if args.columns else None
    table = read_assessments(args.data, inst, columns=columns, sheet=args.sheet)
    settings = {"disable": tuple(args.disable)}
    if args.today:
        settings["today"] = args.today
    if args.jump is not None and inst.scores:
        settings["jump_threshold"] = {inst.scores[0].id: args.jump}
    try:
        report = co.validate(table, inst, columns, **settings)
    except ValueError as exc:  # an unknown rule name given to --disable
        from cseoutcomes.errors import CseOutcomesError

        raise CseOutcomesError(str(exc)).with_traceback(None) from None
    meta = table.attrs.get("cseoutcomes", {})
    print(meta.get("notes", [f"Read {len(table):,} rows."])[0] if meta.get("notes") else f"Read {len(table):,} rows.")
    for line in report.headline():
        print(line)
    for note in list(meta.get("notes", []))[1:] + list(report.roles.suggestions):
        print(f"  {note}")
    for finding in report.warnings[report.warnings["rule"] == "identifying-column"].itertuples():
        print(f"  {finding.message}")
    if not report.issues.empty:
        top = report.issues.head(5)
        print("First issues:")
        for r in top.itertuples():
            parts = ([f"row {int(r.row)}"] if not pd.isna(r.row) else []) + (
                [f"column '{r.column}'"] if not pd.isna(r.column) else [])
            where = ", ".join(parts) or "table"
            print(f"  {where}: {r.message}")
    if args.report:
        report.to_html(args.report)
        print(f"Report: {args.report}")
    if args.json:
        report.to_json(args.json)
        print(f"JSON: {args.json}")
    if args.valid_out:
        write_table(report.valid.reset_index(), args.valid_out)
        print(f"Valid rows: {args.valid_out}")
    if args.quarantine_out:
        write_table(report.quarantined.reset_index(), args.quarantine_out)
        print(f"Quarantined rows: {args.quarantine_out}")
    return 0 if report.ok else 1


def _cmd_evaluate(args) -> int:
    import cseoutcomes as co
    from cseoutcomes.data import read_assessments
    from cseoutcomes.data.roles import read_column_map
    from cseoutcomes.psychometrics import evaluate

    inst = co.get_instrument(args.instrument, paths=args.path)
    columns = read_column_map(args.columns) if args.columns else None
    table = read_assessments(args.data, inst, columns=columns, sheet=args.sheet)
    report = co.validate(table, inst, columns)
    if report.n_quarantined:
        print(f"{report.n_quarantined:,} row(s) with errors left out (run `cseoutcomes validate` to see them); "
              f"{report.n_valid:,} used")
    evidence = evaluate(inst, report.valid, columns=columns, retest_days=args.retest_days, omega=not args.no_omega)
    shown = evidence.table[["scope", "statistic", "estimate", "ci_lower", "ci_upper", "n"]]
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.3f}"))
    for note in evidence.notes:
        print(f"  {note}")
    if args.report:
        evidence.to_html(args.report)
        print(f"Report: {args.report}")
    if args.json:
        from cseoutcomes.data.io import write_text

        write_text(json.dumps(evidence.to_dict(), indent=2, default=str), args.json)
        print(f"JSON: {args.json}")
    return 0


def _cmd_pseudonymise(args) -> int:
    from cseoutcomes.data import read_table, write_table
    from cseoutcomes.data.privacy import pseudonymise

    table = read_table(args.data, sheet=args.sheet)
    names = list(dict.fromkeys(c.strip() for c in args.columns.split(",") if c.strip()))
    if not names:
        from cseoutcomes.errors import CseOutcomesError

        err = CseOutcomesError("--columns names no column", hint='give the identifier columns, e.g. --columns "Client Ref,Worker"')
        err.exit_code = 2
        raise err
    out = pseudonymise(table, names, key_file=args.key_file)
    write_table(out.reset_index(drop=True) if out.index.name == "spreadsheet_row" else out, args.output)
    print(f"pseudonymised {len(names)} column{'s' * (len(names) != 1)} in {len(out):,} rows -> {args.output}")
    return 0


def _model_from_roles(args, inst, report):
    """A ChangeModel whose columns are the roles the validation found."""
    from cseoutcomes.errors import CseOutcomesError
    from cseoutcomes.models import ChangeModel, Dropout, Selection

    roles = report.roles.roles
    for role in ("person", "date"):
        if role not in roles:
            raise CseOutcomesError(f"no {role} column found in the data", where=args.data,
                                   hint="name it in --columns (e.g. 'person: Client ID')")
    wanted = [g.strip() for g in args.groups.split(",") if g.strip()]
    unknown = [g for g in wanted if g not in ("worker", "service", "area")]
    if unknown:
        raise CseOutcomesError(f"--groups: unknown level {unknown[0]!r}", hint="choose among worker, service, area")
    groups = {g: roles[g] for g in wanted if g in roles}
    closure = roles.get("closure_reason") or roles.get("closure_date")
    if args.dropout and not ("closure_reason" in roles and "closure_date" in roles):
        lacking = " and ".join(r.replace("_", " ") for r in ("closure_reason", "closure_date") if r not in roles)
        raise CseOutcomesError(f"--dropout needs the {lacking} column{'s' * (' and ' in lacking)}, which the data "
                               "does not have", where=args.data,
                               hint="name them in --columns (e.g. 'closure_reason: Reason closed'), or leave out "
                                    "--dropout")
    for flag, value in (("--observation-end", args.observation_end), ("--baseline-knots", args.baseline_knots)):
        if value and not args.dropout:
            raise CseOutcomesError(f"{flag} belongs to the joint drop-out model", hint="add --dropout, or leave it out")
    measured = [c.strip() for c in args.measurement_covariates.split(",") if c.strip()]
    if args.referral_apart:
        measured.append(REFERRAL_COLUMN)
    try:
        dropout = Dropout(observation_end=args.observation_end, baseline_knots=args.baseline_knots) \
            if args.dropout else None
        selection = Selection(at_least=args.selection_at_least) if args.selection_at_least is not None else None
        return ChangeModel(instrument=inst.key, outcome=args.outcome, family=args.family, person=roles["person"],
                           time=roles["date"], time_unit=args.time_unit, groups=groups,
                           person_slopes=args.person_slopes,
                           covariates=tuple(c.strip() for c in args.covariates.split(",") if c.strip()),
                           measurement_covariates=tuple(measured),
                           closure=closure, closure_date=roles.get("closure_date"), dropout=dropout,
                           selection=selection)
    except ValueError as exc:  # pydantic's ValidationError wraps our ModelError
        cause = exc.errors()[0] if hasattr(exc, "errors") else None
        text = cause["msg"].removeprefix("Value error, ") if cause else str(exc)
        raise CseOutcomesError(text, hint="see `cseoutcomes instruments show " + inst.id + "`") from None


REFERRAL_COLUMN = "referral"  # the measurement covariate `fit --referral-apart` adds


def _cmd_fit(args) -> int:
    import cseoutcomes as co
    from cseoutcomes.data import read_assessments
    from cseoutcomes.data.roles import read_column_map

    inst = co.get_instrument(args.instrument, paths=args.path)
    columns = read_column_map(args.columns) if args.columns else None
    table = read_assessments(args.data, inst, columns=columns, sheet=args.sheet)
    report = co.validate(table, inst, columns)
    model = _model_from_roles(args, inst, report)
    valid = _items_by_id(report)
    if args.referral_apart:
        valid = model.with_referral_flag(valid, REFERRAL_COLUMN)
    n_q = len(report.quarantined)
    print(f"Read {len(table):,} assessments; {len(report.valid):,} valid"
          + (f", {n_q:,} quarantined and left out (see `cseoutcomes validate`)" if n_q else ""))
    print(f"Model: {model.describe()}")
    if args.backend == "statsmodels":
        fit = model.fit(valid, backend="statsmodels")
        print(fit.summary().to_string(float_format=lambda v: f"{v:.4g}"))
        print(fit.change().to_string(float_format=lambda v: f"{v:.4g}"))
        if args.out:
            from cseoutcomes.data.io import write_text

            payload = {"model": json.loads(model.model_dump_json()),
                       "estimates": fit.summary()["estimate"].to_dict(),
                       "se": fit.summary()["se"].dropna().to_dict(),
                       "converged": bool(fit.result.converged)}
            write_text(json.dumps(payload, indent=2), args.out)
            print(f"Fit: {args.out}")
        return 0
    if not args.out:
        from cseoutcomes.errors import CseOutcomesError

        raise CseOutcomesError("--out is required for a Bayesian fit", hint="e.g. --out fit.nc")
    fit = model.fit(valid, sampler=args.sampler, draws=args.draws, tune=args.tune, chains=args.chains,
                    seed=args.seed, progress=not args.no_progress, target_ess=args.target_ess)
    fit.save(args.out)
    print(f"Fit: {args.out} (read it with `cseoutcomes summarize {args.out}`)")
    _print_fit(fit, 0.9)
    return 0


def _items_by_id(report):
    """The valid rows with item (and recency) columns renamed to the ids the model scores them by.

    ``--columns`` may map items to a service's own column names; the model reads items by id.
    """
    from cseoutcomes.errors import CseOutcomesError

    rename = {col: key for key, col in report.roles.scoring_columns(report.instrument).items() if col != key}
    clash = sorted(set(rename.values()) & (set(report.valid.columns) - set(rename)))
    if clash:
        raise CseOutcomesError(f"column {clash[0]!r} is in the data but --columns maps item {clash[0]!r} to "
                               f"column {next(c for c, k in rename.items() if k == clash[0])!r}",
                               hint="rename or drop one of the two columns")
    return report.valid.rename(columns=rename)


def _print_fit(fit, prob: float) -> None:
    from cseoutcomes.models.design import first_and_last

    fmt = {"float_format": lambda v: f"{v:.3f}"}
    for line in fit._headline():
        print(line)
    diag = fit.diagnostics(warn=False)
    print("Convergence: " + ("all checks passed (R-hat <= 1.01, ESS >= 400, no divergences)" if diag.attrs["ok"]
                             else "FAILED: " + "; ".join(fit._problems(diag))))
    print()
    print(f"Change ({prob:.0%} intervals):")
    print(fit.change(prob).to_string(**fmt))
    print()
    print("Population parameters (slopes per " + fit.model.time_unit[:-1] + ", latent scale):")
    print(fit.summary(prob).to_string(**fmt))
    d = fit._design
    if d.person_closed is not None and d.person_closed.any():
        print()
        print("Closed cases at lower risk than at referral:")
        print(fit.proportion_lower_risk(prob=prob).to_string(na_rep="", **fmt))
    if (first_and_last(d)[2] > 1).any():
        rtm = fit.regression_to_the_mean(prob)
        print()
        print(f"Naive pre-post change and regression to the mean ({rtm.attrs['assumption']}):")
        print(rtm.drop(columns="n_people").to_string(na_rep="", **fmt))


def _cmd_summarize(args) -> int:
    from cseoutcomes.errors import CseOutcomesError
    from cseoutcomes.models import load_fit

    if not 0 < args.prob < 1:
        raise CseOutcomesError(f"--prob must be between 0 and 1, not {args.prob}")
    fit = load_fit(args.fit)
    _print_fit(fit, args.prob)
    return 0


def _cmd_report(args) -> int:
    from pathlib import Path

    from cseoutcomes import report as pages
    from cseoutcomes.errors import CseOutcomesError

    if not 0 < args.prob < 1:
        raise CseOutcomesError(f"--prob must be between 0 and 1, not {args.prob}")
    kind = args.kind or ("fit" if Path(args.source).suffix.lower() == ".nc" else "validation")
    if kind == "fit":
        from cseoutcomes.models import load_fit

        pages.fit_report(load_fit(args.source), args.output, prob=args.prob, policy=args.policy)
    else:
        import cseoutcomes as co
        from cseoutcomes.data import read_assessments
        from cseoutcomes.data.roles import read_column_map

        if not args.instrument:
            raise CseOutcomesError(f"a {kind} report of {args.source} needs the instrument",
                                   hint="add --instrument ID (see `cseoutcomes instruments list`)")
        inst = co.get_instrument(args.instrument, paths=args.path)
        columns = read_column_map(args.columns) if args.columns else None
        table = read_assessments(args.source, inst, columns=columns, sheet=args.sheet)
        validation = co.validate(table, inst, columns, **({"today": args.today} if args.today else {}))
        if kind == "validation":
            pages.validation_report(validation, args.output, policy=args.policy, issues=not args.no_issue_list)
        else:
            from cseoutcomes.psychometrics import evaluate

            evidence = evaluate(inst, validation.valid, columns=columns)
            pages.evaluation_report(evidence, args.output, policy=args.policy)
    print(f"Report: {args.output}")
    return 0


def _read_codings(path: str, codebook: str | None):
    """Codings from any supported file, and what the import repaired or skipped."""
    from pathlib import Path

    from cseoutcomes.coding import read_refi_qda, read_segments

    if Path(path).suffix.lower() in (".qdpx", ".qdc", ".qde"):
        project = read_refi_qda(path, codebook=codebook)
        return project.segments, project
    return read_segments(path, codebook), None


def _cmd_coding_import(args) -> int:
    segments, project = _read_codings(args.file, args.codebook)
    if project is not None:
        n_codes = sum(1 for top in project.codes for _ in top.walk())
        print(f"{args.file}: {n_codes} codes in the codebook")
    if segments is not None:
        print(f"{len(segments):,} codings of {len(segments.codes)} codes by {len(segments.coders)} coders "
              f"({', '.join(segments.coders)}) in {len(segments.sources)} sources, {len(segments.cases)} cases")
    notes = project.notes if project is not None else (segments.notes if segments is not None else [])
    for note in dict.fromkeys(notes):
        print(f"  note: {note}")
    if args.output:
        from cseoutcomes.errors import DataError

        if segments is None:
            raise DataError("there are no codings to write", where=args.file)
        print(f"wrote {segments.write_csv(args.output)}")
    return 0


def _cmd_coding_agreement(args) -> int:
    import json

    from cseoutcomes.coding import agreement
    from cseoutcomes.errors import DataError

    segments, _ = _read_codings(args.file, args.codebook)
    if segments is None:
        raise DataError("the file has no codings", where=args.file)
    result = agreement(segments, args.unit, segment_length=args.segment_length, n_boot=args.boot, seed=args.seed)
    fmt = {"float_format": lambda v: f"{v:.3f}", "na_rep": ""}
    print(f"Coder agreement at the {args.unit} level ({result.ci_level:.0%} bootstrap intervals, {args.boot} "
          "resamples of units); alpha >= 0.800 reliable, 0.667-0.800 tentative (Krippendorff 2004)")
    print(result.overall.to_string(**fmt))
    print()
    print(result.by_code.to_string(**fmt))
    for note in result.notes:
        print(f"  note: {note}")
    if args.json:
        from cseoutcomes.data.io import write_text

        payload = {"unit": args.unit, "overall": json.loads(result.overall.to_json(orient="records"))[0],
                   "by_code": json.loads(result.by_code.reset_index().to_json(orient="records")),
                   "confusion": json.loads(result.confusion.to_json(orient="records")), "notes": result.notes}
        write_text(json.dumps(payload, indent=2), args.json)
    return 0


def _cmd_coding_export(args) -> int:
    from pathlib import Path

    from cseoutcomes.coding import write_refi_qda
    from cseoutcomes.errors import DataError

    segments = None
    if args.file:
        segments, _ = _read_codings(args.file, args.codebook)
    elif args.format != "qdc" or not args.codebook:
        raise DataError("give the codings FILE (or, for --format qdc, a --codebook ID)")
    if args.format == "csv":
        if segments is None:
            raise DataError("there are no codings to write", where=args.file)
        print(f"wrote {segments.write_csv(args.output)}")
        return 0
    sources = None
    if args.sources:
        folder = Path(args.sources)
        if not folder.is_dir():
            raise DataError("not a folder", where=args.sources, hint="give a folder of <source>.txt files")
        sources = {p.stem: p.read_bytes().decode("utf-8-sig") for p in sorted(folder.glob("*.txt"))}
    if Path(args.output).suffix.lower() != f".{args.format}":
        raise DataError(f"--format {args.format} writes a .{args.format} file", where=args.output,
                        hint=f"name the output something.{args.format}")
    # the codebook defaults to the codings' own, else the codes they use ('::' paths as the hierarchy)
    out = write_refi_qda(args.output, segments, codebook=args.codebook, sources=sources)
    print(f"wrote {out}")
    return 0


class _Steps:
    """The demo's progress display: each step's title, then how long it took."""

    def __init__(self, total: int) -> None:
        import time

        self.total, self.n, self.clock, self.start = total, 0, time.perf_counter, time.perf_counter()
        self._began: float | None = None

    def __call__(self, title: str) -> _Steps:
        self.n += 1
        print(f"[{self.n}/{self.total}] {title}", flush=True)
        return self

    def __enter__(self) -> _Steps:
        self._began = self.clock()
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            print(f"      done in {self.clock() - self._began:.1f} s", flush=True)

    def elapsed(self) -> float:
        return self.clock() - self.start


def _cmd_demo(args) -> int:
    import importlib.util
    from pathlib import Path

    import cseoutcomes as co
    from cseoutcomes.models import ChangeModel
    from cseoutcomes.simulate import hub_and_spoke

    plots = importlib.util.find_spec("matplotlib") is not None
    step = _Steps(5 if plots else 4)
    inst = co.get_instrument("cse-risk-indicators")
    with step("Simulate the default Hub and Spoke programme (seed 0), with a known truth"):
        sim = hub_and_spoke(seed=0)
        people = sim.truth["people"]
        closed = people["closed_in_window"].to_numpy(bool)
        print(f"      {len(people):,} young people, {int(closed.sum()):,} cases closed by the end; "
              f"{len(sim.assessments):,} assessments on {inst.key}.")
    with step("Validate against the instrument"):
        report = co.validate(sim.assessments, inst, today=sim.programme.end)
        for line in report.headline():
            print(f"      {line.strip()}")
    with step("Score: SERAF-style bands at referral and at each review"):
        scores = co.score(report.valid, inst, scores=["total"])
        naive = sim.naive_share_lower()
        print(f"      Naive: {naive:.0%} of closed cases were in a lower band at their last assessment than at "
              "referral (the kind of figure services report).")
    model = ChangeModel(instrument=inst.key, outcome="total_band", groups={"service": "service", "worker": "worker"})
    with step(f"Fit the ordinal change model: {model.describe()}"):
        print("      (compiled, then 2 chains run until every population parameter has R-hat <= 1.01 and "
              "ESS >= 400)", flush=True)
        data = report.valid.assign(total_band=scores["total_band"])
        fit = model.fit(data, seed=0, draws=300, target_ess=400, progress=sys.stderr.isatty())
        diag = fit.diagnostics(warn=False)
        print("      convergence: " + ("all checks passed" if diag.attrs["ok"] else "; ".join(fit._problems(diag))))
    folder = Path("cseoutcomes-demo")
    if plots:
        from cseoutcomes.report import fit_report, validation_report

        with step(f"Write the HTML reports to {folder}/ (counts through disclosure control)"):
            folder.mkdir(exist_ok=True)
            fit_report(fit, folder / "report.html", title="Demo: change in risk band on a simulated programme")
            validation_report(report, folder / "validation.html", title="Demo: validation of the simulated export")
    share = fit.proportion_lower_risk(at="closure")
    change = fit.change().loc[("outcome", "year")]
    print()
    print(f"Closed cases at lower risk ({share['n_cases'].iloc[0]} cases; 90% intervals):")
    rep, lat = share.loc["replicated"], share.loc["latent"]
    truth_lower = float(people.loc[closed, "truly_lower_at_closure"].mean())
    print(f"  naive share, as usually reported          {naive:6.1%}   (no interval)")
    print(f"  the same share re-measured (model)        {rep['mean']:6.1%}   [{rep['lower']:.1%}, {rep['upper']:.1%}]")
    print(f"  share in a lower latent band (model)      {lat['mean']:6.1%}   [{lat['lower']:.1%}, {lat['upper']:.1%}]")
    print(f"  truly in a lower band (simulation truth)  {truth_lower:6.1%}")
    print(f"Average change in risk band per year: {change['mean']:+.2f} bands "
          f"[{change['lower']:+.2f}, {change['upper']:+.2f}]")
    print(textwrap.fill(
        "The naive share has no interval, and it mixes real change with measurement noise and with regression "
        "to the mean: young people are referred when their observed risk is high.", width=88))
    print()
    print(f"Finished in {step.elapsed():.0f} s. Where to look next:")
    if plots:
        print(f"  {folder / 'report.html'}: the model's report (plots, groups, drop-out, checks)")
        print(f"  {folder / 'validation.html'}: what validation found in the export, and its scores")
    else:
        print('  pip install "cseoutcomes[plot]" for the HTML reports with plots')
    print("  cseoutcomes validate YOUR_EXPORT.csv -i cse-risk-indicators: check your own data")
    print("  cseoutcomes fit --help: fit the model to it")
    return 0


# ---------------------------------------------------------------------------
# presentation helpers


def _print_table(header: Sequence[str], rows: list[Sequence[str]], *, shorten_last: bool = False) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=False)] if rows else [len(h) for h in header]
    if shorten_last and widths:
        widths[-1] = min(widths[-1], 40)
    for row in (header, *rows):
        cells = [str(c) for c in row]
        if shorten_last and len(cells[-1]) > 40:
            cells[-1] = "..." + cells[-1][-37:]
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=False)).rstrip())


def describe_instrument(inst) -> str:
    """A readable multi-line description of an instrument (used by `instruments show`)."""
    lines = [f"{inst.title} ({inst.key}, {inst.kind})", ""]
    if inst.description:
        lines += [textwrap.fill(inst.description, 88), ""]
    lic = inst.licence
    lines.append(f"Licence: {lic.name}" + (f", {lic.holder}" if lic.holder else "")
                 + ("" if lic.wording_may_ship else "; item wording is not shipped"))
    if lic.notice:
        lines.append(f"Notice: {lic.notice}")
    if inst.age_range:
        lines.append(f"Ages: {inst.age_range[0]:g} to {inst.age_range[1]:g}")
    if inst.informants:
        lines.append(f"Informants: {', '.join(inst.informants)}")
    lines.append("Sources:")
    lines += [textwrap.fill(f"- {r.text}" + (f" doi:{r.doi}" if r.doi else ""), 88, subsequent_indent="  ")
              for r in inst.citation]
    if inst.kind == "coding_scheme":
        lines += ["", "Codes:"]
        for parents, code in inst.all_codes():
            link = f"  -> indicator {code.indicator.id}" if code.indicator else ""
            lines.append(f"{'  ' * (len(parents) + 1)}{code.id}: {code.name}{link}")
        return "\n".join(lines)
    lines += ["", "Response scales:"]
    for name, scale in inst.response_scales.items():
        cats = " / ".join(scale.codes)
        miss = " / ".join(scale.missing_codes)
        lines.append(f"  {name} ({scale.type}): {cats}" + (f"; missing: {miss}" if miss else ""))
    lines += ["", f"Items ({len(inst.items)}):"]
    section = object()
    for item in inst.items:
        if item.section != section:
            section = item.section
            if section:
                sec = next(s for s in inst.sections if s.id == section)
                lines.append(f"  [{sec.label}]")
        extra = []
        if item.recency:
            extra.append("points " + ", ".join(f"{w.weight:g} within {w.within_months:g} months"
                                               for w in item.recency.windows))
        elif item.weight != 1:
            extra.append(f"weight {item.weight:g}")
        if item.reverse:
            extra.append("reversed")
        if item.tag:
            extra.append(item.tag)
        lines.append(f"    {item.id}: {item.label}" + (f" ({'; '.join(extra)})" if extra else ""))
    lines += ["", "Scores:"]
    for s in inst.scores:
        lo, hi, _ = inst.score_range(s)
        rule = s.missing.rule + (f", at least {s.missing.min_answered} answered" if s.missing.min_answered else "")
        lines.append(f"  {s.id}: {s.label} [{s.method}, {lo:g} to {hi:g}; missing: {rule}]")
        if s.transform:
            lines.append(f"    converted by a lookup table ({s.transform.source})")
        if s.step:
            lines.append(f"    scoring step: {s.step}")
        for b in s.bands:
            span = f"{b.min:g} to {b.max:g}" if b.max is not None else f"{b.min:g}+"
            lines.append(f"    band {b.code}: {span}  {b.label}")
        for o in s.overrides:
            lines.append(f"    override {o.id}: {o.action} {o.band} when {o.when.describe()}")
        if s.change:
            lines.append(f"    change: {s.change.direction.replace('_', ' ')}"
                         + (f"; reliability {s.change.reliability.value:g}" if s.change.reliability else ""))
    if inst.evidence:
        lines += ["", "Evidence:"]
        for e in inst.evidence:
            ci = f" [{e.ci[0]:g}, {e.ci[1]:g}]" if e.ci else ""
            lines.append(textwrap.fill(f"  {e.statistic} = {e.value:g}{ci}" + (f", n = {e.n}" if e.n else "")
                                       + f" ({e.source})", 88, subsequent_indent="    "))
    return "\n".join(lines)


# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.version:
        import cseoutcomes

        print(f"cseoutcomes {cseoutcomes.__version__}")
        return 0
    handlers = {
        ("instruments", "list"): _cmd_list,
        ("instruments", "show"): _cmd_show,
        ("instruments", "check"): _cmd_check,
        ("instruments", "schema"): _cmd_schema,
        ("instruments", "import"): _cmd_import,
        ("instruments", "export"): _cmd_export,
        ("score", None): _cmd_score,
        ("validate", None): _cmd_validate,
        ("evaluate", None): _cmd_evaluate,
        ("pseudonymise", None): _cmd_pseudonymise,
        ("fit", None): _cmd_fit,
        ("summarize", None): _cmd_summarize,
        ("demo", None): _cmd_demo,
        ("report", None): _cmd_report,
        ("coding", "import"): _cmd_coding_import,
        ("coding", "agreement"): _cmd_coding_agreement,
        ("coding", "export"): _cmd_coding_export,
    }
    key = (args.command, getattr(args, "action", None))
    if args.command is None or key not in handlers:
        sub = f" {args.command}" if args.command else ""
        parser.exit(2, f"cseoutcomes{sub}: error: choose a command (see 'cseoutcomes{sub} --help')\n")
    from cseoutcomes.errors import CseOutcomesError, CseOutcomesWarning

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"cseoutcomes: warning: {message}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("default", CseOutcomesWarning)
            warnings.showwarning = show  # restored when the block exits
            return handlers[key](args)
    except CseOutcomesError as exc:
        if args.debug:
            raise
        print(f"cseoutcomes: error: {exc.one_line()}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in cseoutcomes, not the user's mistake: still one line
        if args.debug:
            raise
        print(f"cseoutcomes: internal error: {type(exc).__name__} (this is a bug in cseoutcomes; rerun with "
              "--debug and report the traceback, after removing any data from it)", file=sys.stderr)
        return 3
    except BrokenPipeError:  # e.g. piped into `head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
