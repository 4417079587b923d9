import pytest

from sample_service.pricing import PricingError, quote


def test_quote_without_discount():
    assert quote("widget", "4") == {
        "sku": "widget", "quantity": 4, "unit_price": "2.50", "discount": "0", "total": "10.00",
    }


@pytest.mark.parametrize(("quantity", "total"), [(9, "108.00"), (10, "114.00"), (100, "1020.00")])
def test_volume_discount_tiers(quantity, total):
    assert quote("gadget", quantity)["total"] == total


@pytest.mark.parametrize(
    ("sku", "quantity", "message"),
    [
        ("nope", 1, "unknown sku 'nope'"),
        ("widget", "x", "whole number"),
        ("widget", 0, "between 1 and"),
        ("widget", 10_001, "between 1 and"),
    ],
)
def test_bad_requests_are_refused(sku, quantity, message):
    with pytest.raises(PricingError, match=message):
        quote(sku, quantity)
