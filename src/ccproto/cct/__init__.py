"""Avaya's Communication Control Toolkit (CCT): a CCT SOAP client's session and high-availability duties.

What public material specifies, and what it does not, is in ``docs/cct.md``: the SOAP operation catalogue of the
public WSDLs (:mod:`ccproto.cct.catalogue`), a reader that tells which operation a SOAP text is
(:mod:`ccproto.cct.soap`), and the client's session supervisor (:mod:`ccproto.cct.supervisor`, its table in
:mod:`ccproto.cct.states`, its configuration in :mod:`ccproto.cct.config`).
"""

from ccproto.cct.catalogue import CATALOGUE, OPERATIONS, Fault, Operation, QName, Service
from ccproto.cct.config import SupervisorConfig
from ccproto.cct.soap import SoapDecodeError, SoapFault, SoapMessage, read_soap
from ccproto.cct.states import FaultKind, State
from ccproto.cct.supervisor import (
    Call,
    CallFailed,
    GiveUp,
    HaSwitch,
    KeepAlive,
    KeepAliveSucceeded,
    LoggedIn,
    LoggedOff,
    LogIn,
    LogOff,
    Outcome,
    Probe,
    ProbeSucceeded,
    SessionTerminated,
    SessionTerminationImminent,
    Subscribe,
    Subscribed,
    Supervisor,
    UnexpectedOutcomeError,
    Unsubscribe,
    Unsubscribed,
)

__all__ = [
    "CATALOGUE", "OPERATIONS", "Call", "CallFailed", "Fault", "FaultKind", "GiveUp", "HaSwitch", "KeepAlive",
    "KeepAliveSucceeded", "LogIn", "LogOff", "LoggedIn", "LoggedOff", "Operation", "Outcome", "Probe",
    "ProbeSucceeded", "QName", "Service", "SessionTerminated", "SessionTerminationImminent", "SoapDecodeError",
    "SoapFault", "SoapMessage", "State", "Subscribe", "Subscribed", "Supervisor", "SupervisorConfig",
    "UnexpectedOutcomeError", "Unsubscribe", "Unsubscribed", "read_soap",
]
