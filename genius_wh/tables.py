"""Warehouse table columns (CONTRACT section 5): shared by transform (Arrow schemas) and
warehouse (DuckDB DDL). Types are DuckDB type names."""

from __future__ import annotations

from typing import Final

Columns = tuple[tuple[str, str], ...]

EVENT_HEAD: Final[Columns] = (
    ("event_id", "VARCHAR"),
    ("event_timestamp", "TIMESTAMPTZ"),
    ("received_at", "TIMESTAMPTZ"),
    ("integration", "VARCHAR"),
)

SESSION_ENDED: Final[Columns] = EVENT_HEAD + (
    ("campaign", "VARCHAR"),
    ("agent", "VARCHAR"),
    ("urn", "VARCHAR"),
    ("telnumber", "VARCHAR"),
    ("agentresult", "INTEGER"),
    ("diallerresult", "INTEGER"),
    ("calltype", "INTEGER"),
    ("timestamplaunched", "TIMESTAMPTZ"),
    ("timestampconnected", "TIMESTAMPTZ"),
    ("timestampdisconnected", "TIMESTAMPTZ"),
    ("timestampsessionended", "TIMESTAMPTZ"),
    ("talktime", "DOUBLE"),
    ("wraptime", "DOUBLE"),
    ("holdtime", "DOUBLE"),
    ("ringtime", "DOUBLE"),
    ("previewtime", "DOUBLE"),
    ("queuetime", "DOUBLE"),
    ("queuenumber", "BIGINT"),
    ("cli", "VARCHAR"),
    ("id", "BIGINT"),
    ("recorddata", "JSON"),
)

AGENT_ACTIVITY: Final[Columns] = EVENT_HEAD + (
    ("campaign", "VARCHAR"),
    ("agent", "VARCHAR"),
    ("extension", "VARCHAR"),
    ("queue", "BIGINT"),
    ("agentstate", "INTEGER"),
    ("previousagentstate", "INTEGER"),
    ("timestampcurrentstate", "TIMESTAMPTZ"),
    ("timestamppreviousstate", "TIMESTAMPTZ"),
    ("breakreason", "INTEGER"),
)

QUEUE_INFO: Final[Columns] = EVENT_HEAD + (
    ("campaign", "VARCHAR"),
    ("queuenumber", "BIGINT"),
    ("queuename", "VARCHAR"),
    ("callsinqueue", "INTEGER"),
    ("oldestcall", "TIMESTAMPTZ"),
    ("averageanswer", "DOUBLE"),
    ("averageanswer5mins", "DOUBLE"),
    ("totalcalls", "BIGINT"),
    ("totalabandoned", "BIGINT"),
)

CARD_PAYMENT: Final[Columns] = EVENT_HEAD + (
    ("campaign", "VARCHAR"),
    ("agent", "VARCHAR"),
    ("payment_timestamp", "TIMESTAMPTZ"),
    ("urn", "VARCHAR"),
    ("cardtype", "VARCHAR"),
    ("card_brand", "VARCHAR"),
    ("cardholder", "VARCHAR"),
    ("last4digits", "VARCHAR"),
    ("amount", "BIGINT"),
    ("currency", "VARCHAR"),
    ("result", "VARCHAR"),
    ("succeeded", "BOOLEAN"),
)

OTHER_EVENTS: Final[Columns] = EVENT_HEAD + (
    ("action", "VARCHAR"),
    ("payload", "JSON"),
)

#: Event tables with fixed columns, by table name.
EVENT_TABLES: Final[dict[str, Columns]] = {
    "session_ended": SESSION_ENDED,
    "agent_activity": AGENT_ACTIVITY,
    "queue_info": QUEUE_INFO,
    "card_payment": CARD_PAYMENT,
    "other_events": OTHER_EVENTS,
}

#: Per event table, the column of the event object's own time that bounds the event_id
#: dedupe: a redelivery carries the same event object, hence the same value, so a new row
#: is only compared with the rows of that same time (None: no time of its own).
DEDUPE_TIME: Final[dict[str, str | None]] = {
    "session_ended": "timestampsessionended",
    "agent_activity": "timestampcurrentstate",
    "queue_info": None,
    "card_payment": "payment_timestamp",
    "other_events": None,
}

#: The recorddata table: `event_id` plus one column per field ever seen (evolves).
SESSION_RECORDDATA = "session_recorddata"

#: Types a recorddata column can have, narrowest first (JSON: objects and arrays).
RECORDDATA_TYPES: Final[tuple[str, ...]] = ("BOOLEAN", "BIGINT", "DOUBLE", "VARCHAR", "JSON")

#: Known actions (lower case) and the table each lands in.
ACTION_TABLES: Final[dict[str, str]] = {
    "sessionended": "session_ended",
    "agentactivity": "agent_activity",
    "queueinfo": "queue_info",
    "cardpayment": "card_payment",
}
