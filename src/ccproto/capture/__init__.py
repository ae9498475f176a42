"""Captured traffic: reading capture files (JSON Lines, HAR; a protocol's raw streams through its spec) and validating
them."""

from ccproto.capture.har import read_har
from ccproto.capture.output import render
from ccproto.capture.records import BadRecord, Record, detect_protocol, read_jsonl
from ccproto.capture.validator import (
    CaptureValidator,
    read_capture,
    validate_capture,
    validate_files,
    validate_message,
    validate_records,
)
from ccproto.core.coverage import Coverage, ProtocolCoverage
from ccproto.core.findings import Finding, Kind, Report, Severity

__all__ = [
    "BadRecord",
    "CaptureValidator",
    "Coverage",
    "Finding",
    "Kind",
    "ProtocolCoverage",
    "Record",
    "Report",
    "Severity",
    "detect_protocol",
    "read_capture",
    "read_har",
    "read_jsonl",
    "render",
    "validate_capture",
    "validate_files",
    "validate_message",
    "validate_records",
]
