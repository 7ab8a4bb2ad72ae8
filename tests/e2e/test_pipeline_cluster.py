"""The tests of ``test_pipeline_flow.py`` once more, with the worker on the local Redis Cluster.

Every ``make test`` runs them, whatever ``BONUS_REDIS_URL`` names: the cluster (three masters
on 127.0.0.1:17001-17003) is started or reused through ``deploy/local``, and this module's
worker gets ``BONUS_REDIS_CLUSTER=1``. So accruals, redemptions, refunds, repeats and the
dead-letter topic, warnings and burns fired by timers, and the HTTP view are proven on a
cluster in well under a minute. ``make test-cluster`` runs every suite on it.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e import test_pipeline_flow as flow


@pytest.fixture(scope="module")
def redis_url(redis_cluster_url: str) -> Iterator[str]:
    """The cluster, for this module's pipeline; BONUS_REDIS_CLUSTER=1 while it runs, so that
    its settings and its worker's environment say cluster."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("BONUS_REDIS_CLUSTER", "1")
        yield redis_cluster_url


pipeline = flow.pipeline  # the flow module's fixture, resolved here against the cluster URL

test_rules_stack_and_each_lot_has_its_deadline = flow.test_rules_stack_and_each_lot_has_its_deadline
test_once_per_customer_holds_across_installs = flow.test_once_per_customer_holds_across_installs
test_redemption_takes_earliest_deadline_first_and_refuses_too_much = (
    flow.test_redemption_takes_earliest_deadline_first_and_refuses_too_much
)
test_refund_claws_back_what_is_left_and_reports_the_spent = (
    flow.test_refund_claws_back_what_is_left_and_reports_the_spent
)
test_repeats_change_nothing_and_bad_inputs_go_to_the_dead_letter_topic = (
    flow.test_repeats_change_nothing_and_bad_inputs_go_to_the_dead_letter_topic
)
test_coalesced_warning_then_burns_on_time = flow.test_coalesced_warning_then_burns_on_time
test_http_health_metrics_and_unknown_customers = flow.test_http_health_metrics_and_unknown_customers
