"""The KPI score (streams/core/kpi_score.py): hand-worked scores and the weights' validation."""

import pytest

from streams.core.kpi_score import DEFAULT_WEIGHTS, formula, normalised_terms, parse_weights, scores
from streams.core.shop_settings import InvalidSettings, parse_settings

ROWS = [
    {"agent_id": "a1", "sales": 6000.0, "inquiry_pay_rate": 0.5, "avg_buyer_value": 300.0, "reply_rate": 1.0,
     "avg_response_s": 20.0, "online_s": 28_800.0},
    {"agent_id": "a2", "sales": 2000.0, "inquiry_pay_rate": 0.25, "avg_buyer_value": 200.0, "reply_rate": 0.8,
     "avg_response_s": 40.0, "online_s": 14_400.0},
    {"agent_id": "a3", "sales": 0.0, "inquiry_pay_rate": None, "avg_buyer_value": None, "reply_rate": None,
     "avg_response_s": None, "online_s": 0.0},
]


def test_each_term_is_normalised_as_documented() -> None:
    terms = normalised_terms(ROWS, DEFAULT_WEIGHTS, {"agents": {"a1": {"sales": 5000}, "a2": {"sales": 4000}}})
    assert terms["a1"] == {"sales_target": 1.0,  # 6000 of 5000: capped
                           "inquiry_pay_rate": 0.5, "avg_buyer_value": 1.0, "reply_rate": 1.0,
                           "avg_response_s": 1.0, "online_s": 1.0}
    assert terms["a2"] == {"sales_target": 0.5,  # 2000 of 4000
                           "inquiry_pay_rate": 0.25, "avg_buyer_value": 200 / 300, "reply_rate": 0.8,
                           "avg_response_s": 0.5,  # the fastest (20 s) ÷ 40 s
                           "online_s": 0.5}
    assert terms["a3"]["sales_target"] == 0.0  # no own target, no team target: sales ÷ top seller
    assert all(v == 0.0 for v in terms["a3"].values())


def test_scores_with_the_default_weights() -> None:
    got = scores(ROWS, {}, {"agents": {"a1": {"sales": 5000}, "a2": {"sales": 4000}}})
    # a1: 30 + 20×0.5 + 20 + 20 + 5 + 5 = 90
    assert got["a1"] == pytest.approx(90)
    # a2: 30×0.5 + 20×0.25 + 20×(2/3) + 20×0.8 + 5×0.5 + 5×0.5 = 15 + 5 + 13.33 + 16 + 2.5 + 2.5
    assert got["a2"] == pytest.approx(54.3333, abs=1e-3)
    assert got["a3"] == 0


def test_team_target_is_shared_and_scaled_by_the_days() -> None:
    # Team ¥24,000 a day, 3 agents ranked, a 2-day period: ¥16,000 each.
    terms = normalised_terms(ROWS, {"sales_target": 100}, {"sales": 24_000}, days=2)
    assert terms["a1"]["sales_target"] == pytest.approx(6000 / 16_000)
    assert scores(ROWS, {"sales_target": 100}, {}, days=2)["a2"] == pytest.approx(100 * 2000 / 6000)


def test_formula_lists_the_weights() -> None:
    assert formula({"sales_target": 30, "reply_rate": 70}) == "销售额目标完成 × 30% + 回复率 × 70%"
    assert formula({"sales_target": 30, "reply_rate": 70}, "en") == "Sales target met × 30% + Reply rate × 70%"


def test_weights_are_validated_with_clear_errors() -> None:
    assert parse_weights(None) == {}
    assert parse_settings({"kpi_weights": {"sales_target": 60, "avg_response_s": 40}}).kpi_weights == {
        "sales_target": 60, "avg_response_s": 40}
    bad = [
        ({"kpi_weights": {"sales_target": 60, "reply_rate": 30}}, "kpi_weights", "add up to 100 (they add up to 90)"),
        ({"kpi_weights": {"nonsense": 100}}, "kpi_weights.nonsense", "not a scorable term"),
        ({"kpi_weights": {"received_buyers": 100}}, "kpi_weights.received_buyers", "not a scorable term"),
        ({"kpi_weights": {"reply_rate": -10, "sales_target": 110}}, "kpi_weights.reply_rate", "≥ 0"),
        ({"kpi_weights": [30]}, "kpi_weights", "must map"),
    ]
    for document, field, words in bad:
        with pytest.raises(InvalidSettings) as caught:
            parse_settings(document)
        assert caught.value.field == field and words in caught.value.error, document
