"""The `deploy.promotion` block (hands-off production): defaults, and each bad value as one located line."""

# Expected messages are compared whole, so some lines are long.
# ruff: noqa: E501

from __future__ import annotations

import pytest

from cicd.config import load_environment

PRODUCTION = """\
name: production
type: production
deploy:
  runtime: {kind: process, command: [app, "{port}"]}
  colors: {blue: {port: 9001}, green: {port: 9002}}
  promotion:
    steps: [5, 25]
"""


def test_defaults_keep_the_approval_gate(config):
    config.write("environments/production.yml", PRODUCTION)
    promotion = load_environment(config.root, "production").deploy.promotion
    assert (promotion.automatic, promotion.steps, promotion.rollback_on_breach, promotion.auto_promote) == (
        False, [5, 25], True, True,
    )
    assert (promotion.step_delay_seconds, promotion.monitor_seconds) == (300.0, 1800.0)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    steps: [50, 5]", "environments/production.yml:7:12: error: steps must rise strictly, e.g. [5, 25, 50] (got [50, 5]) (deploy.promotion.steps)"),
        ("    steps: [5, 100]", "environments/production.yml:7:16: error: each item of 'steps' must be between 1 and 99, got 100 (deploy.promotion.steps[1])"),
        ("    steps: [5]\n    monitor: 60", "environments/production.yml:8:5: error: unknown key 'monitor' (did you mean 'monitor_seconds'?) (deploy.promotion)"),
        ("    steps: [5]\n    automatic: maybe", "environments/production.yml:8:16: error: 'automatic' must be true or false, got 'maybe' (deploy.promotion.automatic)"),
    ],
)
def test_a_bad_promotion_is_one_located_line(config, line, expected):
    config.write("environments/production.yml", PRODUCTION.replace("    steps: [5, 25]", line))
    assert config.problems(config.root / "environments/production.yml") == [expected]
