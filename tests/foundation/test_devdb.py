"""The "no server on this machine" path of `make test`: a private throwaway cluster."""

from __future__ import annotations

from pathlib import Path

import psycopg

from pgbooks import devdb


def test_private_cluster_starts_serves_and_is_removed() -> None:
    with devdb.private_cluster() as server:
        url = server.url("postgres")
        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()
            available = conn.execute(
                "SELECT count(*) FROM pg_available_extensions WHERE name = 'plpgsql_check'"
            ).fetchone()
            datadir = conn.execute("SHOW data_directory").fetchone()
        assert version is not None and int(version[0]) >= 150000
        assert available == (1,), "plpgsql_check must be installable in a private cluster"
        assert datadir is not None
        workdir = Path(datadir[0]).parent
        assert workdir.exists()
    assert not workdir.exists(), "the private cluster's directory must be removed afterwards"
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except psycopg.OperationalError:
        pass
    else:
        raise AssertionError("the private cluster must be stopped afterwards")
