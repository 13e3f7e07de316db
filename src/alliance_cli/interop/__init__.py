"""Conversions between alliance definitions and other systems' formats (FHIR, REDCap,
Qualtrics): library code that returns values or raises ``UserError``s, never prints."""
