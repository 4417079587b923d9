"""The business logic: price quotes with volume discounts."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CATALOGUE = {
    "widget": Decimal("2.50"),
    "gadget": Decimal("12.00"),
    "gizmo": Decimal("99.90"),
}
# (minimum quantity, discount) from the largest tier down.
DISCOUNTS = ((100, Decimal("0.15")), (10, Decimal("0.05")))
MAX_QUANTITY = 10_000


class PricingError(ValueError):
    """The request cannot be priced; the message says why."""


def discount_for(quantity: int) -> Decimal:
    for minimum, discount in DISCOUNTS:
        if quantity >= minimum:
            return discount
    return Decimal("0")


def quote(sku: str, quantity: str | int) -> dict:
    if sku not in CATALOGUE:
        raise PricingError(f"unknown sku {sku!r}; known: {', '.join(sorted(CATALOGUE))}")
    try:
        count = int(quantity)
    except (TypeError, ValueError):
        raise PricingError(f"quantity must be a whole number, got {quantity!r}") from None
    if not 1 <= count <= MAX_QUANTITY:
        raise PricingError(f"quantity must be between 1 and {MAX_QUANTITY}")
    unit = CATALOGUE[sku]
    discount = discount_for(count)
    total = (unit * count * (1 - discount)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "sku": sku,
        "quantity": count,
        "unit_price": str(unit),
        "discount": str(discount),
        "total": str(total),
    }
