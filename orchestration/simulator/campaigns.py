"""The simulated contact centre's campaigns, queues, agents, agent result codes and record
data."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from typing import Any

BREAK_REASONS = (1, 2, 3, 4)  # lunch, comfort, training, team meeting
CARD_TYPES = ("VISA", "Visa", "VISA", "MC", "MASTERCARD", "Mastercard", "Amex")
DECLINES = ("Declined", "Insufficient funds", "Card expired", "3DS authentication failed")
FIRST = ("Kenny", "Aisha", "Tom", "Priya", "Sean", "Maria", "Owen", "Chloe", "Ravi", "Ellie")
LAST = ("Anderson", "Khan", "Jones", "Patel", "Murphy", "Silva", "Evans", "Brown", "Shah")


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """An agent result code: its meaning, how often agents pick it, what follows it."""

    code: int
    name: str
    group: str
    positive: bool
    weight: int
    #: Chance that the call takes a card payment (only sales and payments do).
    payment: float = 0.0
    #: The customer asked to be called again: the record is redialled the next day.
    callback: bool = False


@dataclass(frozen=True, kw_only=True)
class Campaign:
    """One campaign: how it dials, its agent results and which record fields it carries."""

    name: str
    calltype: int
    cli: str
    agents: int
    outcomes: tuple[Outcome, ...]
    queues: tuple[tuple[int, str], ...] = ()


CAMPAIGNS = (
    Campaign(name="Sales_Predictive", calltype=0, cli="01412800275", agents=5, outcomes=(
        Outcome(code=100, name="Sale", group="sale", positive=True, weight=14, payment=0.85),
        Outcome(code=101, name="No interest", group="no_sale", positive=False, weight=44),
        Outcome(code=102, name="Call back", group="callback", positive=False, weight=16,
                callback=True),
        Outcome(code=103, name="Wrong person", group="not_contacted", positive=False,
                weight=10),
        Outcome(code=104, name="Already a customer", group="no_sale", positive=False,
                weight=10),
        Outcome(code=105, name="Do not call", group="do_not_call", positive=False, weight=6))),
    Campaign(name="Renewals_Preview", calltype=3, cli="01412800276", agents=3, outcomes=(
        Outcome(code=200, name="Renewed", group="sale", positive=True, weight=25, payment=0.8),
        Outcome(code=205, name="Not renewing", group="no_sale", positive=False, weight=35),
        Outcome(code=206, name="Call back", group="callback", positive=False, weight=20,
                callback=True),
        Outcome(code=207, name="Renewed elsewhere", group="no_sale", positive=False,
                weight=20))),
    Campaign(name="Customer_Service", calltype=5, cli="03301234567", agents=4, outcomes=(
        Outcome(code=300, name="Query resolved", group="resolved", positive=True, weight=50),
        Outcome(code=301, name="Payment taken", group="payment", positive=True, weight=10,
                payment=1.0),
        Outcome(code=302, name="Escalated", group="unresolved", positive=False, weight=15),
        Outcome(code=303, name="Transferred", group="unresolved", positive=False, weight=10),
        Outcome(code=304, name="Complaint", group="complaint", positive=False, weight=15)),
             queues=((67890, "Billing queue"), (67891, "Support queue"))),
)


def pick_outcome(campaign: Campaign, rng: random.Random) -> Outcome:
    """The result the agent chooses at wrap, by the outcomes' weights."""
    return rng.choices(campaign.outcomes, weights=[o.weight for o in campaign.outcomes])[0]


def dispositions_csv(campaigns: tuple[Campaign, ...] = CAMPAIGNS) -> str:
    """The agent result codes as the CSV `genius-wh dispositions load` takes (shipped as
    orchestration/simulator/dispositions.csv)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["code", "name", "outcome_group", "is_positive"])
    for campaign in campaigns:
        writer.writerows([o.code, o.name, o.group, str(o.positive).lower()]
                         for o in campaign.outcomes)
    return buffer.getvalue()


def telnumber(rng: random.Random) -> str:
    """A UK mobile number, leading zero kept."""
    return "07" + "".join(str(rng.randrange(10)) for _ in range(9))


def person(rng: random.Random) -> tuple[str, str]:
    """A forename and surname."""
    return rng.choice(FIRST), rng.choice(LAST)


def postcode(rng: random.Random) -> str:
    """A plausible UK postcode."""
    area = rng.choice(("G", "EH", "M", "LS", "B", "CF", "BT"))
    return f"{area}{rng.randrange(1, 30)} {rng.randrange(1, 10)}{rng.choice('ABDEFGHJ')}Z"


def recorddata(campaign: Campaign, urn: str, tel: str, rng: random.Random) -> dict[str, Any]:
    """The record fields of one call; each campaign has its own set."""
    fore, sur = person(rng)
    if campaign.calltype == 0:
        return {"URN": urn, "Forename": fore, "Surname": sur, "Postcode": postcode(rng),
                "Tel1": tel, "Tel2": "", "Product": rng.choice(("Broadband", "Mobile", "TV")),
                "Bal_O_S": round(rng.uniform(0, 900), 2), "MaxAttempts": 10, "Round": None}
    if campaign.calltype == 3:
        return {"URN": urn, "Name": f"{fore} {sur}", "PolicyNumber": f"POL{rng.randrange(10**7)}",
                "RenewalDate": f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
                "Premium": round(rng.uniform(80, 1200), 2), "Tel1": tel,
                "email": f"{fore.lower()}.{sur.lower()}@example.com"}
    return {"CallerName": f"{fore} {sur}", "AccountNumber": f"{rng.randrange(10**8):08d}",
            "Reason": rng.choice(("Bill query", "Payment", "Fault", "Move home")),
            "VIP": rng.random() < 0.1}
