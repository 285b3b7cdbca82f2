from pathlib import Path

from medreach.core.settings import Settings, normalize_db_url


def test_embedded_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDREACH_DATABASE_URL", raising=False)
    monkeypatch.delenv("MEDREACH_REDIS_URL", raising=False)
    s = Settings(var_dir=tmp_path)
    assert s.db_url == f"sqlite:///{tmp_path.resolve() / 'medreach.db'}"
    assert s.lake_path == tmp_path / "lake" and s.redis_url is None


def test_environment_selects_servers(monkeypatch):
    monkeypatch.setenv("MEDREACH_DATABASE_URL", "mysql://root@127.0.0.1:3306/medreach")
    monkeypatch.setenv("MEDREACH_REDIS_URL", "redis://127.0.0.1:6379/0")
    s = Settings()
    assert s.db_url == "mysql+pymysql://root@127.0.0.1:3306/medreach"
    assert s.redis_url == "redis://127.0.0.1:6379/0"
    assert normalize_db_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"


def test_generated_keys_persist_in_var(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDREACH_SECRET_KEY", raising=False)
    monkeypatch.delenv("MEDREACH_ENCRYPTION_KEY", raising=False)
    first, second = Settings(var_dir=tmp_path), Settings(var_dir=tmp_path)
    assert first.signing_key == second.signing_key and len(first.data_key) == 32
    assert (Path(tmp_path) / "secrets" / "encryption_key").stat().st_mode & 0o077 == 0
