"""The simulated contact centre's campaigns, queues, agents and record data."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

BREAK_REASONS = (1, 2, 3, 4)  # lunch, comfort, training, team meeting
CARD_TYPES = ("VISA", "Visa", "VISA", "MC", "MASTERCARD", "Mastercard", "Amex")
DECLINES = ("Declined", "Insufficient funds", "Card expired", "3DS authentication failed")
FIRST = ("Kenny", "Aisha", "Tom", "Priya", "Sean", "Maria", "Owen", "Chloe", "Ravi", "Ellie")
LAST = ("Anderson", "Khan", "Jones", "Patel", "Murphy", "Silva", "Evans", "Brown", "Shah")


@dataclass(frozen=True, kw_only=True)
class Campaign:
    """One campaign: how it dials and which record fields it carries."""

    name: str
    calltype: int
    cli: str
    agents: int
    outcomes: tuple[int, ...]
    payment_share: float
    queues: tuple[tuple[int, str], ...] = ()


CAMPAIGNS = (
    Campaign(name="Sales_Predictive", calltype=0, cli="01412800275", agents=5,
             outcomes=(100, 101, 102, 103), payment_share=0.12),
    Campaign(name="Renewals_Preview", calltype=3, cli="01412800276", agents=3,
             outcomes=(200, 205, 206), payment_share=0.2),
    Campaign(name="Customer_Service", calltype=5, cli="03301234567", agents=4,
             outcomes=(300, 301, 302, 303), payment_share=0.1,
             queues=((67890, "Billing queue"), (67891, "Support queue"))),
)


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
