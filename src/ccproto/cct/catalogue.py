"""The CCT SOAP operation catalogue, as data: what the public WSDLs say, and nothing more.

Source: the repository ``api-evangelist/avaya``, folder ``wsdl/`` (a copy of the WSDLs of Avaya's CCMS Open
Networking SDK, AACC 7.x), at commit :data:`WSDL_COMMIT`.  Each service has a binding WSDL (``...service.wsdl``:
the SOAPAction of every operation, which faults it binds) and an interface WSDL (``...serviceinterface.wsdl``:
the messages, hence the request, response and fault elements); the fault messages of the CCT services are in
``...sessionserviceexceptions.wsdl`` and those of the notification producer in
``...commonnotificationfaults.wsdl``.  Every :class:`Service` names its files in :attr:`Service.source`.

The table below is written compactly: an operation's request element is ``<Operation>Request`` and its response
element ``<Operation>Response`` in the service's types namespace, its SOAPAction is ``<action base>/<Operation>``
and its faults are ``SessionNotCreatedException`` and ``<Operation>Exception``, unless its row says otherwise;
every row that says otherwise is one where the WSDLs do (``tests/test_cct_soap.py`` spot-checks rows against
values read from the files).  The WSDLs' own irregularities are kept as they are, not corrected:

* SOAPActions that are not ``<base>/<Operation>``: SessionService ``GetCurrentAddressCount``
  (``.../GetCurrentAddressCouint``), AgentService ``GetType`` (``.../GetCapabilities``), ConnectionService
  ``StopRecording`` (``.../StartRecording``), ContactService ``GiveTreatment`` (``.../GiveTreatmentRequest``),
  TerminalConnectionService ``BlindTransfer`` (``.../Transfer``), TerminalService ``PickupFromTerminal`` and
  ``PickupFromAddress`` (both ``.../Pickup``).  So a SOAPAction can name two operations (:func:`by_soap_action`
  returns both); no operation has an empty one.
* Elements with a typo: SessionService ``SetToReadyStatetRequest`` and ``SetToNotReadyStatetRequest``.  Other
  elements not named after their operation: SessionService's ``GetTerminal`` and ``GetAddress`` answer with
  ``TerminalResponse`` and ``AddressResponse``, MetricsService's ``GetMonitoredTerminalsCount`` takes
  ``GetMonitoredTerminalsRequest`` and answers ``GetMonitoredTerminalsResponse``, AddressService's
  ``SendInstantMessage`` takes ``SendInstantMessage``, and the notification operations take ``Subscribe``,
  ``Renew``, ``Unsubscribe`` and ``Notify``.
* Elements shared by two services: UserService's ``GetVersion``, ``LogInToCCTServer``, ``LogOffFromCCTServer``,
  ``GetTerminals``, ``GetAddresses``, ``GetTerminal``, ``GetAddress`` and ``GetAgents`` use SessionService's
  elements (namespace ``.../types/SessionService``), so those elements name two operations.
* Fault elements shared by several faults: ``GetTerminalConnectionsException`` is bound to the element
  ``GetConnectionsException``; MetricsService's ``GetActiveSessionCountException``,
  ``GetLicenseConsumedCountException`` and ``GetMonitoredAddressCountException`` to ``MonitoredAddressesCountException``
  and ``GetMonitoredTerminalsCountException`` to ``MonitoredTerminalsCountException``;
  TerminalService's two pickups fault with ``PickupException``, TerminalConnectionService's ``BlindTransfer`` with
  ``TransferException``.
* Many output messages have no part (``response`` is ``None``): their SOAP response is an empty ``Body``.
  NotificationConsumer's ``Notify`` has no output at all (one-way).

How a shared element or SOAPAction is resolved when nothing else decides is :data:`AMBIGUITY_PREFERENCE`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import attrs

__all__ = [
    "AMBIGUITY_PREFERENCE",
    "CATALOGUE",
    "EMPTY_RESPONSE_OPERATIONS",
    "FAULTS_NS",
    "NOTIFICATION_FAULTS_NS",
    "OPERATIONS",
    "TYPES_NS",
    "WSDL_COMMIT",
    "WSDL_REPOSITORY",
    "Api",
    "Fault",
    "Operation",
    "QName",
    "Service",
    "WsdlSource",
    "by_request_element",
    "by_response_element",
    "by_soap_action",
    "fault_names",
    "operations_with_fault",
    "resolve",
    "service",
]

#: Where the WSDLs were read.
WSDL_REPOSITORY: Final = "api-evangelist/avaya"
#: The commit of :data:`WSDL_REPOSITORY` every path below was read at.
WSDL_COMMIT: Final = "b4e3151c805a9fbe53e3a183799fa1449da087c9"

_CCT = "http://www.nortel.com/soa/oi/cct"
#: The namespace of the CCT services' fault elements (``...sessionserviceexceptions.wsdl``).
FAULTS_NS: Final = f"{_CCT}/faults"
#: The namespace of the notification producer's faults (``...commonnotificationfaults.wsdl``).
NOTIFICATION_FAULTS_NS: Final = f"{_CCT}/notification/faults"
#: The namespace of the shared types (``types.xsd``, not in the repository), e.g. ``ssoToken``.
TYPES_NS: Final = f"{_CCT}/types"

#: Which API a service belongs to (the seed's lists: the Full API and the Lite API).
Api = Literal["full", "lite"]

#: Services preferred, in order, when an element or a SOAPAction names operations of several services and
#: nothing else tells them apart.  Empty: such a message stays unresolved (``operation`` is ``None`` and the
#: candidates are all reported): the WSDLs do not say which service a shared element belongs to.
AMBIGUITY_PREFERENCE: Final[tuple[str, ...]] = ()


@attrs.frozen(kw_only=True, order=True)
class QName:
    """An XML qualified name: a namespace (``""`` for none) and a local name."""

    namespace: str
    local: str

    def __str__(self) -> str:
        # Clark notation, as ElementTree writes it.
        return f"{{{self.namespace}}}{self.local}" if self.namespace else self.local


@attrs.frozen(kw_only=True)
class Fault:
    """A fault an operation declares: its name in the WSDL and the element its detail carries."""

    name: str
    element: QName


@attrs.frozen(kw_only=True)
class WsdlSource:
    """One file the catalogue was read from."""

    repository: str
    path: str
    commit: str


@attrs.frozen(kw_only=True)
class Operation:
    """One operation of one service, as its WSDLs declare it."""

    #: The service's name (the WSDL port type), e.g. ``"UserService"``.
    service: str
    #: The operation's name, e.g. ``"LogInToCCTServer"``.
    name: str
    #: The service's target namespace.
    namespace: str
    #: The binding's ``soapAction``, exactly as written (typos included).
    soap_action: str
    #: The element of the input message's part.
    request: QName
    #: The element of the output message's part; ``None`` when the output message has no part (an empty Body)
    #: or, for a one-way operation, when there is no output.
    response: QName | None
    #: No output message at all (``Notify``).
    one_way: bool = False
    #: The faults, in the binding's order.
    faults: tuple[Fault, ...] = attrs.field(default=(), repr=False)

    def fault_for(self, element: QName) -> Fault | None:
        """The fault of this operation whose detail element is ``element``, if any."""
        return next((fault for fault in self.faults if fault.element == element), None)


@attrs.frozen(kw_only=True)
class Service:
    """A CCT SOAP service: its namespace, the APIs that list it, its operations and the files they come from."""

    name: str
    namespace: str
    #: The namespace of the service's own elements (``.../types/<Service>``).
    types_namespace: str
    apis: tuple[Api, ...]
    operations: tuple[Operation, ...] = attrs.field(repr=False)
    source: tuple[WsdlSource, ...] = attrs.field(repr=False)

    def operation(self, name: str) -> Operation:
        """The service's operation ``name`` (``KeyError`` if it has none)."""
        found = next((op for op in self.operations if op.name == name), None)
        if found is None:
            raise KeyError(f"{self.name} has no operation {name!r}")
        return found


# --- the compact table ------------------------------------------------------------------------------------

_DEFAULT: Final = object()
#: A row's response when the output message has no part.
_EMPTY: Final = None

#: Fault messages of ``...sessionserviceexceptions.wsdl`` whose part names another element than the message.
_EXCEPTION_MESSAGE_ELEMENTS: Final = {"GetTerminalConnectionsException": "GetConnectionsException"}


def _exception(name: str, message: str | None = None) -> Fault:
    """A fault bound to a message of the CCT exceptions WSDL (the message defaults to the fault's name)."""
    message = name if message is None else message
    return Fault(name=name, element=QName(namespace=FAULTS_NS, local=_EXCEPTION_MESSAGE_ELEMENTS.get(message, message)))


def _fault(name: str, namespace: str) -> Fault:
    """A fault whose message's element has the fault's name, in ``namespace``."""
    return Fault(name=name, element=QName(namespace=namespace, local=name))


_SNC = _exception("SessionNotCreatedException")


@attrs.frozen
class _Row:
    name: str
    request: str | QName | object = _DEFAULT
    response: str | QName | object | None = _DEFAULT
    faults: tuple[Fault, ...] | object = _DEFAULT
    action: str | object = _DEFAULT
    one_way: bool = False


def _row(
    name: str,
    request: str | QName | object = _DEFAULT,
    response: str | QName | object | None = _DEFAULT,
    *,
    faults: tuple[Fault, ...] | object = _DEFAULT,
    action: str | object = _DEFAULT,
    one_way: bool = False,
) -> _Row:
    return _Row(name, request, response, faults, action, one_way)


def _rows(names: str) -> list[_Row]:
    """Rows that take every default, from a whitespace-separated list of operation names."""
    return [_row(name) for name in names.split()]


def _source(*files: str) -> tuple[WsdlSource, ...]:
    return tuple(
        WsdlSource(repository=WSDL_REPOSITORY, path=f"wsdl/avaya-aacc-open-interfaces-{file}.wsdl", commit=WSDL_COMMIT)
        for file in files
    )


def _element(value: str | QName | object, default: str, namespace: str) -> QName:
    if isinstance(value, QName):
        return value
    return QName(namespace=namespace, local=default if value is _DEFAULT else str(value))


def _service(
    name: str,
    *,
    apis: tuple[Api, ...],
    files: tuple[str, ...],
    rows: Iterable[_Row],
    action_base: str | None = None,
) -> Service:
    namespace = f"{_CCT}/{name}"
    types_namespace = f"{_CCT}/types/{name}"
    base = namespace if action_base is None else action_base
    operations = []
    for row in rows:
        if row.one_way:
            response: QName | None = None
        elif row.response is None:
            response = None
        else:
            response = _element(row.response, f"{row.name}Response", types_namespace)
        faults = (
            (_SNC, _exception(f"{row.name}Exception")) if row.faults is _DEFAULT else row.faults
        )
        assert isinstance(faults, tuple)
        operations.append(
            Operation(
                service=name,
                name=row.name,
                namespace=namespace,
                soap_action=f"{base}/{row.name}" if row.action is _DEFAULT else str(row.action),
                request=_element(row.request, f"{row.name}Request", types_namespace),
                response=response,
                one_way=row.one_way,
                faults=faults,
            )
        )
    return Service(
        name=name, namespace=namespace, types_namespace=types_namespace, apis=apis, operations=tuple(operations),
        source=_source(*files),
    )


def _session(local: str) -> QName:
    """An element of SessionService's types namespace (UserService uses them)."""
    return QName(namespace=f"{_CCT}/types/SessionService", local=local)


_SESSION_EXCEPTIONS = "sessionserviceexceptions"
_USER_TYPES = f"{_CCT}/types/UserService"
_PRODUCER_TYPES = f"{_CCT}/types/NotificationProducer"

#: Every service of the seed's two lists, with its operations in its binding's order.
CATALOGUE: Final[tuple[Service, ...]] = (
    _service(
        "SessionService", apis=("lite",),
        files=("sessionservice", "sessionserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            _row("CreateContact"),
            _row("UnHoldContact", response=_EMPTY),
            _row("TransferContact", response=_EMPTY),
            _row("AnswerContact", response=_EMPTY),
            _row("DropContact", response=_EMPTY),
            _row("HoldContact", response=_EMPTY),
            _row("SetToReadyState", "SetToReadyStatetRequest", _EMPTY),
            _row("SetToNotReadyState", "SetToNotReadyStatetRequest", _EMPTY),
            _row("GetReadyState"),
            _row("MakeSetBusy", response=_EMPTY, faults=(_exception("MakeSetBusyException"), _SNC)),
            _row("SetToNotReadyStateWithReasonCode", response=_EMPTY),
            _row("GetIntrinsics"),
            _row("SetIntrinsics", response=_EMPTY),
            _row("GetContactData"),
            _row("SetContactData", response=_EMPTY),
            _row("SetActivityCode", response=_EMPTY),
            _row("InitiateConference"),
            _row("CompleteConference", response=_EMPTY),
            _row("LoginAgent", response=_EMPTY),
            _row("LogoutAgent", response=_EMPTY),
            _row("LoginAgentToState", response=_EMPTY),
            _row("InitiateSupervisedTransfer"),
            _row("CompleteSupervisedTransfer", response=_EMPTY),
            _row("EmergencyKey", response=_EMPTY),
            _row("CallSupervisor", response=_EMPTY),
            _row("LogInToCCTServer", faults=(_exception("LogInToCCTServerException"),)),
            _row("LogOffFromCCTServer", response=_EMPTY),
            _row("GetTerminal", response="TerminalResponse"),
            _row("GetTerminals"),
            _row("GetTerminalAddresses"),
            _row("GetAgentTerminals"),
            _row("GetAddress", response="AddressResponse"),
            _row("GetAddresses"),
            _row("GetAgents"),
            _row("LoginAgentToTerminal", response=_EMPTY),
            _row("LogoutAgentFromTerminal", response=_EMPTY),
            _row("GetContact"),
            _row("GenerateDTMF", response=_EMPTY),
            _row("GetCurrentAddressCount", action=f"{_CCT}/SessionService/GetCurrentAddressCouint"),
            _row("GetCurrentTerminalCount"),
            _row("GetAgentAddresses"),
            _row("Dispose", response=_EMPTY),
            _row("GetVersion"),
        ],
    ),
    _service(
        "UserService", apis=("full",),
        files=("userservice", "userserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            _row("LogInToCCTServer", _session("LogInToCCTServerRequest"), _session("LogInToCCTServerResponse"),
                 faults=(_exception("LogInToCCTServerException"),)),
            _row("LogOffFromCCTServer", _session("LogOffFromCCTServerRequest"), _EMPTY,
                 faults=(_exception("LogOffFromCCTServerException"), _SNC)),
            _row("GetTerminals", _session("GetTerminalsRequest"), _session("GetTerminalsResponse")),
            _row("GetAddresses", _session("GetAddressesRequest"), _session("GetAddressesResponse")),
            _row("GetTerminal", _session("GetTerminalRequest"), _session("TerminalResponse")),
            _row("GetAddress", _session("GetAddressRequest"), _session("AddressResponse")),
            _row("GetAgents", _session("GetAgentsRequest"), _session("GetAgentsResponse")),
            _row("GetVersion", _session("GetVersionRequest"), _session("GetVersionResponse")),
            _row("Subscribe", "Subscribe", faults=(_SNC, _fault("SubscribeFailedFault", _USER_TYPES))),
            _row("Unsubscribe", "Unsubscribe", faults=(_SNC, _fault("UnsubscribeFailedFault", _USER_TYPES))),
        ],
    ),
    _service(
        "NotificationProducer", apis=("full", "lite"),
        files=("notificationproducer", "notificationproducerinterface", "commonnotificationfaults"),
        action_base="http://www.nortel.com/soa/oi/cct/notificationproducer/service",
        rows=[
            _row("Subscribe", "Subscribe", faults=tuple(
                _fault(name, NOTIFICATION_FAULTS_NS)
                for name in ("ResourceUnknownFault", "SubscribeCreationFailedFault", "TopicPathDialectUnknownFault")
            )),
            _row("Renew", "Renew", faults=tuple(
                _fault(name, NOTIFICATION_FAULTS_NS)
                for name in ("ResourceUnknownFault", "RenewSubscriptionFailedFault", "UnacceptableTerminationTimeFault")
            )),
            _row("Unsubscribe", "Unsubscribe", faults=tuple(
                _fault(name, NOTIFICATION_FAULTS_NS)
                for name in ("ResourceUnknownFault", "UnableToDestroySubscriptionFault")
            )),
            _row("GetVersion", faults=(_fault("GetVersionFault", _PRODUCER_TYPES),)),
        ],
    ),
    _service(
        "NotificationConsumer", apis=("full", "lite"),
        files=("notificationconsumer", "notificationconsumerinterface"),
        action_base="http://www.nortel.com/soa/oi/cct/notificationconsumer/service",
        rows=[_row("Notify", "Notify", one_way=True, faults=())],
    ),
    _service(
        "MetricsService", apis=("full",),
        files=("metricsservice", "metricsserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            _row("GetActiveSessionCount", faults=(
                _SNC, _exception("GetActiveSessionCountException", "MonitoredAddressesCountException"))),
            _row("GetLicenseConsumedCount", faults=(
                _SNC, _exception("GetLicenseConsumedCountException", "MonitoredAddressesCountException"))),
            _row("GetMonitoredTerminalsCount", "GetMonitoredTerminalsRequest", "GetMonitoredTerminalsResponse",
                 faults=(_SNC, _exception("GetMonitoredTerminalsCountException", "MonitoredTerminalsCountException"))),
            _row("GetMonitoredAddressCount", faults=(
                _SNC, _exception("GetMonitoredAddressCountException", "MonitoredAddressesCountException"))),
            _row("GetVersion"),
        ],
    ),
    _service(
        "AddressService", apis=("full",),
        files=("addressservice", "addressserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetCapabilities GetConnections GetDoNotDisturb GetVersion IsForwarded IsMessageWaiting"
                   " GetTerminalStatus GetTerminals GetUri GetForwarding"),
            _row("CancelForwarding", response=_EMPTY),
            _row("SetForwarding", response=_EMPTY),
            _row("PresenceSubscribe", response=_EMPTY),
            _row("PresenceUnsubscribe", response=_EMPTY),
            _row("GetPresence"),
            _row("GetMessageWaiting"),
            _row("SetMessageWaiting", response=_EMPTY),
            _row("SetDoNotDisturb", response=_EMPTY),
            *_rows("Originate GetState GetConnection"),
            _row("SendInstantMessage", "SendInstantMessage", _EMPTY),
        ],
    ),
    _service(
        "AgentService", apis=("full",),
        files=("agentservice", "agentserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            _row("GetType", action=f"{_CCT}/AgentService/GetCapabilities"),
            *_rows("GetCapabilities GetVersion"),
            _row("Login", response=_EMPTY),
            _row("Logout", response=_EMPTY),
            *_rows("Retrieve GetContactTypes IsLoggedIn IsSupervisor GetSupervisor"),
            _row("SetSupervisor", response=_EMPTY),
            _row("IsReady"),
            _row("SetReady", response=_EMPTY),
            _row("GetNotReadyReasonCode"),
            _row("SetNotReadyReasonCode", response=_EMPTY),
            _row("GetStaticVoiceTerminal"),
            _row("SetStaticVoiceTerminal", response=_EMPTY),
            _row("GetAgents"),
        ],
    ),
    _service(
        "AgentTerminalConnectionService", apis=("full",),
        files=("agentterminalconnectionservice", "agentterminalconnectionserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetConferenceConsultContact GetConsultContact GetContact GetTerminalConnectionCapabilities"
                   " GetState GetConnection GetTerminal GetTransferConsultContact GetVersion"),
            _row("EmergencyKey", response=_EMPTY),
            _row("GetActivityCode"),
            _row("SetActivityCode", response=_EMPTY),
        ],
    ),
    _service(
        "AgentTerminalService", apis=("full",),
        files=("agentterminalservice", "agentterminalserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetCapabilities GetVersion GetTerminalConnections GetRelatedAddresses GetDoNotDisturb IsForwarded"
                   " GetActivityCode"),
            _row("SetActivityCode", response=_EMPTY),
            _row("IsReady"),
            _row("SetIsReady", response=_EMPTY),
            *_rows("GetLoginId GetNotReadyReasonCode"),
            _row("SetNotReadyReasonCode", response=_EMPTY),
            _row("Login", response=_EMPTY),
            _row("Logout", response=_EMPTY),
            _row("CallSupervisor", response=_EMPTY),
        ],
    ),
    _service(
        "ConnectionService", apis=("full",),
        files=("connectionservice", "connectionserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetAddress GetConnectionCapabilities GetContact GetTerminalConnections GetState GetVersion"),
            _row("Accept", response=_EMPTY),
            _row("Reject", response=_EMPTY),
            _row("Disconnect", response=_EMPTY),
            _row("Alert", response=_EMPTY),
            *_rows("Redirect Park"),
            _row("StartRecording", response=_EMPTY),
            _row("StopRecording", response=_EMPTY, action=f"{_CCT}/ConnectionService/StartRecording"),
            *_rows("GetRecordingState GetRecordingStateReason"),
        ],
    ),
    _service(
        "ContactService", apis=("full",),
        files=("contactservice", "contactserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetCalledAddress GetCallingAddress GetCallingTerminal GetCapabilities GetConnections"
                   " GetConnection GetAttachedData"),
            _row("SetAttachedData", response=_EMPTY),
            *_rows("GetAttachedXMLData GetLastRedirectedAddress GetOriginalDestinationAddress"),
            _row("GiveTreatment", action=f"{_CCT}/ContactService/GiveTreatmentRequest"),
            *_rows("GetContactTypes GetInstantMessages"),
            _row("SetInstantMessages", response=_EMPTY),
            *_rows("GetUUI GetVersion"),
            _row("SetUUI", response=_EMPTY),
            _row("GetIntrinsics"),
            _row("SetIntrinsics", response=_EMPTY),
            *_rows("BargeIn AddParty Whisper Observe"),
            _row("Drop", response=_EMPTY),
        ],
    ),
    _service(
        "RoutePointAddressService", apis=("full",),
        files=("routepointaddressservice", "routepointaddressserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetVersion IsControlled"),
            _row("Control", response=_EMPTY),
            _row("ReleaseControl", response=_EMPTY),
        ],
    ),
    _service(
        "RoutePointConnectionService", apis=("full",),
        files=("routepointconnectionservice", "routepointconnectionserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetVersion Route"),
            _row("RoutePointRetrieve", response=_EMPTY),
            *_rows("GiveMediaTreatment GetCapabilities"),
        ],
    ),
    _service(
        "TerminalConnectionService", apis=("full",),
        files=("terminalconnectionservice", "terminalconnectionserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetConferenceConsultContact GetConsultContact GetContact GetTerminalConnectionCapabilities"
                   " GetState GetConnection GetTerminal GetTransferConsultContact GetVersion"),
            _row("Answer", response=_EMPTY),
            _row("Hold", response=_EMPTY),
            _row("Unhold", response=_EMPTY),
            _row("GetContactType"),
            _row("GenerateDTMF", response=_EMPTY),
            _row("BlindTransfer", response=_EMPTY, action=f"{_CCT}/TerminalConnectionService/Transfer",
                 faults=(_SNC, _exception("TransferException"))),
            *_rows("InitiateSupervisedTransfer InitiateConference"),
            _row("CompleteSupervisedTransfer", response=_EMPTY),
            _row("CompleteConference", response=_EMPTY),
            _row("Consult"),
        ],
    ),
    _service(
        "TerminalService", apis=("full",),
        files=("terminalservice", "terminalserviceinterface", _SESSION_EXCEPTIONS),
        rows=[
            *_rows("GetCapabilities GetTerminalConnections GetRelatedAddresses GetDoNotDisturb IsForwarded"),
            _row("SetForwarding", response=_EMPTY),
            _row("SetDoNotDisturb", response=_EMPTY),
            _row("GetForwarding"),
            _row("CancelForwarding", response=_EMPTY),
            _row("PickupFromTerminal", action=f"{_CCT}/TerminalService/Pickup",
                 faults=(_SNC, _exception("PickupException"))),
            _row("PickupFromAddress", action=f"{_CCT}/TerminalService/Pickup",
                 faults=(_SNC, _exception("PickupException"))),
            *_rows("PickupFromGroup Originate GetState GetContactTypes GetDefaultContactType GetVersion"),
        ],
    ),
)

#: Every operation of :data:`CATALOGUE`, service by service.
OPERATIONS: Final[tuple[Operation, ...]] = tuple(op for svc in CATALOGUE for op in svc.operations)

#: The operations whose output message has no part: their response is an empty SOAP Body.
EMPTY_RESPONSE_OPERATIONS: Final[tuple[Operation, ...]] = tuple(
    op for op in OPERATIONS if op.response is None and not op.one_way
)


def _index(pairs: Iterable[tuple[object, Operation]]) -> dict[object, tuple[Operation, ...]]:
    index: dict[object, list[Operation]] = {}
    for key, op in pairs:
        index.setdefault(key, []).append(op)
    return {key: tuple(ops) for key, ops in index.items()}


_BY_ACTION = _index((op.soap_action, op) for op in OPERATIONS)
_BY_REQUEST = _index((op.request, op) for op in OPERATIONS)
_BY_RESPONSE = _index((op.response, op) for op in OPERATIONS if op.response is not None)
_BY_FAULT = _index((element, op) for op in OPERATIONS for element in dict.fromkeys(f.element for f in op.faults))
_SERVICES = {svc.name: svc for svc in CATALOGUE}


def service(name: str) -> Service:
    """The service called ``name`` (``KeyError`` if the catalogue has none)."""
    return _SERVICES[name]


def by_soap_action(action: str) -> tuple[Operation, ...]:
    """The operations bound to the SOAPAction ``action``, exactly as the WSDLs write it (two share some)."""
    return _BY_ACTION.get(action, ())


def by_request_element(element: QName) -> tuple[Operation, ...]:
    """The operations whose request is ``element`` (UserService and SessionService share some)."""
    return _BY_REQUEST.get(element, ())


def by_response_element(element: QName) -> tuple[Operation, ...]:
    """The operations whose response is ``element``."""
    return _BY_RESPONSE.get(element, ())


def operations_with_fault(element: QName) -> tuple[Operation, ...]:
    """The operations declaring a fault whose detail element is ``element``."""
    return _BY_FAULT.get(element, ())


def fault_names(element: QName, operations: Iterable[Operation] | None = None) -> tuple[str, ...]:
    """The names of the faults whose element is ``element`` (among ``operations``' faults, when given), sorted."""
    pool = operations_with_fault(element) if operations is None else operations
    return tuple(sorted({fault.name for op in pool for fault in op.faults if fault.element == element}))


def resolve(candidates: Iterable[Operation], *, soap_action: str | None = None) -> Operation | None:
    """The one operation ``candidates`` leave, narrowed by ``soap_action`` and :data:`AMBIGUITY_PREFERENCE`.

    ``None`` when none or several remain.  The SOAPAction only narrows: if no candidate has it, the candidates
    are kept as they are (the caller reports the mismatch).
    """
    pool = tuple(candidates)
    if soap_action is not None:
        narrowed = tuple(op for op in pool if op.soap_action == soap_action)
        if narrowed:
            pool = narrowed
    if len(pool) > 1:
        for preferred in AMBIGUITY_PREFERENCE:
            chosen = tuple(op for op in pool if op.service == preferred)
            if len(chosen) == 1:
                return chosen[0]
    return pool[0] if len(pool) == 1 else None
