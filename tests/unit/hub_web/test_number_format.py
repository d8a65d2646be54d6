"""How pages print numbers (the templates' ``num`` macro)."""

from __future__ import annotations

from crowdperf.hub.web.rendering import template_environment


def test_small_numbers_keep_significant_digits() -> None:
    num = template_environment().get_template("_macros.html").module.num
    assert str(num(0.0041)) == "0.0041"  # a cost per million samples, not "0.00"
    assert str(num(12345.678)) == "12,345.68"
    assert str(num(0.0)) == "0.00"
    assert str(num(0.4, 0)) == "0.4"
    assert "–" in str(num(None))
