"""Captured traffic: reading capture files (JSON Lines, HAR, raw bridge streams) and validating them."""

from ccproto.capture.coverage import Coverage, ProtocolCoverage
from ccproto.capture.findings import Finding, Kind, Report, Severity
from ccproto.capture.har import read_har
from ccproto.capture.output import render
from ccproto.capture.records import BadRecord, Record, detect_protocol, read_jsonl
from ccproto.capture.streams import read_bridge_streams
from ccproto.capture.validator import (
    CaptureValidator,
    read_capture,
    validate_capture,
    validate_files,
    validate_message,
    validate_records,
)

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
    "read_bridge_streams",
    "read_capture",
    "read_har",
    "read_jsonl",
    "render",
    "validate_capture",
    "validate_files",
    "validate_message",
    "validate_records",
]
