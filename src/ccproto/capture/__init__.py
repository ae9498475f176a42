"""Captured traffic: reading capture files and validating them against the protocols."""

from ccproto.capture.findings import Finding, Kind, Report, Severity
from ccproto.capture.output import render
from ccproto.capture.records import BadRecord, Record, detect_protocol, read_jsonl
from ccproto.capture.validator import validate_files, validate_records

__all__ = [
    "BadRecord",
    "Finding",
    "Kind",
    "Record",
    "Report",
    "Severity",
    "detect_protocol",
    "read_jsonl",
    "render",
    "validate_files",
    "validate_records",
]
