"""rbm/report.py: the export and the summary open the database with the run's memory limit and spill folder
(issue: scale; 100M messages must complete with the DuckDB memory limit at 8 GiB)."""
from __future__ import annotations

import duckdb

from conftest import ROOT
from rbm import report


def test_export_connection_uses_the_memory_limit_and_spill_folder(tmp_path, monkeypatch):
    database = tmp_path / "rbm.duckdb"
    duckdb.connect(str(database)).close()
    monkeypatch.setenv("RBM_DUCKDB_PATH", str(database))
    monkeypatch.setenv("RBM_DUCKDB_MEMORY_LIMIT", "300MB")
    monkeypatch.setenv("RBM_DUCKDB_TEMP_DIR", str(tmp_path / "spill"))
    with report.connect() as con:
        limit, temp = con.sql("select current_setting('memory_limit'), current_setting('temp_directory')").fetchall()[0]
    assert limit == "286.1 MiB"  # 300 MB
    assert temp == str(tmp_path / "spill")


def test_default_spill_folder_is_dbts(monkeypatch):
    monkeypatch.delenv("RBM_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("RBM_DUCKDB_TEMP_DIR", raising=False)
    assert report.duckdb_settings() == {"memory_limit": "6GB", "temp_directory": str(ROOT / ".duckdb_tmp")}
