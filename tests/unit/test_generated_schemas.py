"""The committed JSON Schema and AsyncAPI files are what the models generate today."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from schemas import CATALOG, DEFAULT_TOPIC_PREFIX, topic_name
from schemas.generate import GENERATED_DIR, main, render, stale_files


def test_committed_files_are_up_to_date(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--check"])
    out = capsys.readouterr().out
    assert code == 0, f"generated files are stale; run python -m schemas.generate\n{out}"


def test_check_names_stale_and_extra_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "generated"
    shutil.copytree(GENERATED_DIR, target)
    (target / "Purchase.schema.json").write_text("{}\n", encoding="utf-8")
    (target / "asyncapi.yaml").unlink()
    (target / "Gone.schema.json").write_text("{}\n", encoding="utf-8")
    assert stale_files(target) == ["Gone.schema.json", "Purchase.schema.json", "asyncapi.yaml"]
    assert main(["--check", "--dir", str(target)]) == 1
    out = capsys.readouterr().out
    assert "Purchase.schema.json" in out
    assert "Gone.schema.json" in out
    assert main(["--dir", str(target)]) == 0
    assert stale_files(target) == []
    assert not (target / "Gone.schema.json").exists()


def test_rendering_is_deterministic() -> None:
    assert render() == render()


def test_asyncapi_describes_every_topic() -> None:
    doc = yaml.safe_load(render()["asyncapi.yaml"])
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {topic_name(DEFAULT_TOPIC_PREFIX, s.topic) for s in CATALOG.values()}
    accrued = doc["components"]["messages"]["BonusAccrued"]
    assert accrued["payload"] == {"$ref": "./BonusAccrued.schema.json"}
    headers = accrued["headers"]["properties"]
    assert set(headers) == {
        "ce_specversion",
        "ce_id",
        "ce_type",
        "ce_source",
        "ce_time",
        "content-type",
    }
    assert headers["ce_type"]["const"] == "bonus.accrued"
    assert doc["operations"]["receive-purchases"]["action"] == "receive"
    assert doc["operations"]["send-dlq"]["action"] == "send"


def test_json_schemas_name_the_contract_fields() -> None:
    files = render()
    purchase = json.loads(files["Purchase.schema.json"])
    assert set(purchase["required"]) == {
        "event_id",
        "occurred_at",
        "customer_id",
        "order_id",
        "amount",
        "currency",
        "channel",
    }
    burned = json.loads(files["BonusBurned.schema.json"])
    assert burned["properties"]["type"]["const"] == "bonus.burned"
    assert "type" in burned["required"]
