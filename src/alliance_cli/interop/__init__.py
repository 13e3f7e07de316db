"""Conversions between alliance definitions/answers and other worlds: FHIR, REDCap, Qualtrics.

Library code only: functions return values or raise ``UserError``s; the CLI prints."""
