"""The centralised baseline to a target accuracy trains exactly as ``fit`` does, and stops where it reaches it."""

from workbench.federated.experiments import centralised
from workbench.federated.local_power import LocalPower

CFG = {"model": {"name": "mlp-small"}, "training": {"rounds": 2, "local_epochs": 2}, "clients": {"count": 4}}
POWER = LocalPower(10.0, "tdp-estimate")


def test_an_unreachable_target_trains_as_fit_for_every_epoch():
    plain = centralised(CFG, POWER, epochs=3)
    capped = centralised(CFG, POWER, epochs=3, target_accuracy=1.01)
    # same Adam, same seeded batch order, evaluation between epochs changes nothing: the same model
    assert capped["epochs"] == 3 and capped["reached"] is False and plain["reached"] is None
    assert capped["accuracy"] == plain["accuracy"]


def test_the_baseline_stops_at_the_first_epoch_that_reaches_the_target():
    one = centralised(CFG, POWER, epochs=1)
    hit = centralised(CFG, POWER, epochs=10, target_accuracy=one["accuracy"])
    assert hit["epochs"] == 1 and hit["reached"] and hit["accuracy"] == one["accuracy"]
    assert hit["upload_bytes"] == one["upload_bytes"] and hit["total_g"] > hit["network_g"] > 0
