"""Parameters files for `workbench report --params`: read when valid, one clear error otherwise."""

from __future__ import annotations

import pytest

from workbench.errors import ParameterError
from workbench.reports.params import load_params


def test_valid_files_of_each_kind(tmp_path):
    (tmp_path / "p.toml").write_text('repeats = 5\nmodels = ["lenet"]\n')
    (tmp_path / "p.json").write_text('{"repeats": 5, "models": ["lenet"]}')
    for name in ("p.toml", "p.json"):
        assert load_params(tmp_path / name) == {"repeats": 5, "models": ["lenet"]}


@pytest.mark.parametrize("name, content, message", [
    ("dir", None, r"parameters file path .*dir is a directory, not a file\. Fix: give the path of one parameters"),
    ("missing.toml", "", r"missing\.toml: no such file\. Fix: pass an existing --params FILE"),
    ("utf16.toml", "repeats = 5\n".encode("utf-16"), r"is not UTF-8 text .*Fix: save it as UTF-8"),
    ("p.ini", "repeats = 5\n", r"has suffix '\.ini'; use \.toml, \.json, \.yaml or \.yml"),
    ("bad.toml", "repeats = = 5\n", r"cannot parse parameters file .*line 1"),
    ("list.json", "[1, 2]", r"must hold a mapping of parameter = value, got list"),
])
def test_bad_files_are_one_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    if content is None:
        path.mkdir()
    elif name != "missing.toml":
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ParameterError, match=message):
        load_params(path)
