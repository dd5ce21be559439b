"""The recorddata column naming rule, as a truth table (CONTRACT 5, STYLE 4)."""

from __future__ import annotations

import pytest

from genius_wh.naming import column_name


@pytest.mark.parametrize(
    ("field", "column"),
    [
        pytest.param("Postcode", "postcode", id="lower-cased"),
        pytest.param("Post Code", "post_code", id="a space becomes _"),
        pytest.param("post_code", "post_code", id="already a column name"),
        pytest.param("Post  --  Code", "post_code", id="a run of other characters is one _"),
        pytest.param("  Bal_O/S %  ", "bal_o_s", id="trimmed of _ at both ends"),
        pytest.param("__x__", "x", id="leading and trailing underscores trimmed"),
        pytest.param("", "f_", id="empty gets f_"),
        pytest.param("%%%", "f_", id="nothing left gets f_"),
        pytest.param("1st", "f_1st", id="starting with a digit gets f_"),
        pytest.param("2 Line Address", "f_2_line_address", id="digit then words"),
        pytest.param("Tel1", "tel1", id="digits inside stay"),
        pytest.param("Café Name", "caf_name", id="non a-z letters become _"),
        pytest.param("event_id", "rd_event_id", id="event_id is the key column"),
        pytest.param("Event ID", "rd_event_id", id="anything landing on event_id"),
        pytest.param("PERSON_ID", "person_id", id="upper case with underscore"),
        pytest.param("e-mail.address", "e_mail_address", id="punctuation"),
    ],
)
def test_column_name_follows_the_contract_rule(field: str, column: str) -> None:
    assert column_name(field) == column


def test_fields_whose_names_meet_share_one_column() -> None:
    assert {column_name(f) for f in ("Post Code", "post_code", "POST-CODE", "_Post Code_")} == {
        "post_code"}
