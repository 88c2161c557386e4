"""Bad input: one clear error before anything starts (no Ray), exit 2 from the CLI, nothing written."""

import pytest

from workbench.cli import main
from workbench.errors import ParameterError, UnknownNameError
from workbench.federated import parse_config, run_many


@pytest.mark.parametrize("raw, error, match", [
    ({"training": {"strategy": "fedsgd"}}, UnknownNameError, "fedavg"),
    ({"clients": {"devices": ["pixel-99"]}}, UnknownNameError, "device"),
    ({"clients": {"countries": ["XYZ"]}}, UnknownNameError, "country"),
    ({"training": {"fraction": 0}}, ParameterError, r"fraction = 0 must be a number in \(0, 1\]"),
    ({"training": {"fraction": 1.5}}, ParameterError, "fraction"),
    ({"clients": {"count": 0}}, ParameterError, "clients = 0"),
    ({"training": {"rounds": 0}}, ParameterError, "rounds = 0"),
    ({"data": {"partition": "dirichlet", "alpha": 0}}, ParameterError, "alpha"),
    ({"clients": {"count": 4, "fail": [[7, 1]]}, "training": {"rounds": 2}}, ParameterError, "fail names client 7"),
    ({"training": {"rounds": 2, "epochs": 1}}, UnknownNameError, "local_epochs"),
])
def test_bad_configuration_is_refused(raw, error, match):
    with pytest.raises(error, match=match):
        parse_config(raw)


def test_label_names_the_setup():
    cfg = parse_config({"training": {"strategy": "fedprox"}, "data": {"partition": "dirichlet", "alpha": 0.3},
                        "compression": {"method": "int8"}, "selection": {"policy": "carbon-aware"}})
    assert cfg.label() == "fl-fedprox-dirichlet0.3-int8-carbon-aware"
    assert cfg.client_profile(4) == {"device": "raspberry-pi-4b", "country": "DEU", "network": "wifi"}


def test_more_clients_than_samples_fails_before_the_simulation(tmp_store):
    with pytest.raises(ParameterError, match="2000 clients but only 1077 training samples"):
        run_many({"x": {"clients": {"count": 2000}}}, store=tmp_store)
    assert not tmp_store.files()


@pytest.mark.parametrize("text, match", [
    ('[training]\nstrategy = "fedsgd"\n', "unknown strategy 'fedsgd'"),
    ('[training]\nfraction = 0.0\n', "fraction = 0.0"),
    ('[clients]\ncount = 0\n', "clients = 0"),
    ('[data]\npartition = "dirichlet"\nalpha = -1\n', "alpha"),
    ('[clients]\ncountries = ["ATLANTIS"]\n', "unknown country"),
    ('[training\n', "not valid TOML"),
])
def test_cli_bad_input_is_one_error_line_and_exit_2(tmp_path, capsys, text, match):
    cfg = tmp_path / "fl.toml"
    cfg.write_text(text)
    store = tmp_path / "runs"
    assert main(["federate", str(cfg), "--store", str(store)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and match in err[0]
    assert not store.exists() or not any(store.rglob("*.parquet"))
