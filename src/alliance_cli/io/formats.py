"""The output formats a data table is written in, and the extensions that name them: one list
(:data:`FORMATS`), which the writers (:mod:`alliance_cli.io.sinks`) and the command line's
``--to`` choices share. Imports nothing, so that building the command line stays cheap."""

FORMATS = ("csv", "tsv", "xlsx", "parquet", "sav")
EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".xlsx": "xlsx",
    ".parquet": "parquet",
    ".sav": "sav",
}
TEXT_FORMATS = ("csv", "tsv")
