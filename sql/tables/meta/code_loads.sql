-- meta.code_loads: which version of the replaceable code each reload installed.

CREATE TABLE meta.code_loads (
    load_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checksum text NOT NULL,
    file_count integer NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    loaded_by text NOT NULL DEFAULT current_user,
    CONSTRAINT code_loads_checksum_is_sha256 CHECK (checksum ~ '^[0-9a-f]{64}$')
);

COMMENT ON TABLE meta.code_loads IS
'One row per reload of the replaceable code (sql/code, views); the newest checksum is what runs.';
COMMENT ON COLUMN meta.code_loads.load_id IS 'Surrogate key, increasing with each reload.';
COMMENT ON COLUMN meta.code_loads.checksum IS 'sha256 over the code files (paths and bytes) in LOADORDER order.';
COMMENT ON COLUMN meta.code_loads.file_count IS 'Number of code files loaded.';
COMMENT ON COLUMN meta.code_loads.loaded_at IS 'When the reload committed.';
COMMENT ON COLUMN meta.code_loads.loaded_by IS 'Database role that ran the reload.';
