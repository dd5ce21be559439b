"""Card payment rules: the brand of a card type and whether a result means success. Pure."""

from __future__ import annotations

from typing import Final

_BRANDS: Final = (("VISA", "VISA"), ("MASTERCARD", "MASTERCARD"), ("MC", "MASTERCARD"),
                  ("AMEX", "AMEX"), ("AMERICANEXPRESS", "AMEX"))


def card_brand(cardtype: str | None) -> str | None:
    """VISA, MASTERCARD, AMEX or OTHER for a card type as sent; None when none was sent.

    - case, spaces and punctuation are ignored ("Visa", "VISA DEBIT" -> VISA);
    - MASTERCARD also from "MC", "Master Card"; AMEX also from "American Express";
    - anything else is OTHER.
    """
    if cardtype is None or not cardtype.strip():
        return None
    squashed = "".join(ch for ch in cardtype.upper() if ch.isalnum())
    for prefix, brand in _BRANDS:
        if squashed.startswith(prefix):
            return brand
    return "OTHER"


def payment_succeeded(result: str | None) -> bool | None:
    """True when the result is "Success" (case and spaces ignored); None when none was sent."""
    if result is None:
        return None
    return "".join(result.split()).lower() == "success"
