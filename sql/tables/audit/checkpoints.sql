-- audit.checkpoints: signed statements "the chain of tenant T had head H at seq N at time X".
-- The Ed25519 key lives outside the database (pgbooks audit checkpoint --key / PGBOOKS_AUDIT_KEY);
-- the database only stores what was signed, so an auditor can check offline, with the public key
-- alone, that a later chain still contains every checkpointed head (the chain only grew).

CREATE TABLE audit.checkpoints (
    tenant_id text NOT NULL,
    seq bigint NOT NULL,
    head_hash bytea NOT NULL,
    signed_at timestamptz NOT NULL,
    statement text NOT NULL,
    public_key bytea NOT NULL,
    signature bytea NOT NULL,
    recorded_by text NOT NULL DEFAULT session_user,
    PRIMARY KEY (tenant_id, seq, public_key),
    CONSTRAINT checkpoints_seq_positive CHECK (seq >= 1),
    CONSTRAINT checkpoints_head_is_sha256 CHECK (octet_length(head_hash) = 32),
    CONSTRAINT checkpoints_public_key_is_ed25519 CHECK (octet_length(public_key) = 32),
    CONSTRAINT checkpoints_signature_is_ed25519 CHECK (octet_length(signature) = 64)
);

COMMENT ON TABLE audit.checkpoints IS
'Signed checkpoints of each tenant chain (Ed25519, key held outside the database); append-only.';
COMMENT ON COLUMN audit.checkpoints.tenant_id IS 'Tenant whose chain is checkpointed.';
COMMENT ON COLUMN audit.checkpoints.seq IS 'Sequence number of the chain head at signing time.';
COMMENT ON COLUMN audit.checkpoints.head_hash IS 'hash of audit.events at (tenant_id, seq) when signed.';
COMMENT ON COLUMN audit.checkpoints.signed_at IS 'When the statement was signed (also inside the statement).';
COMMENT ON COLUMN audit.checkpoints.statement IS
'The exact signed bytes (UTF-8 JSON: v, tenant_id, seq, head, signed_at); verifiers check the signature over it.';
COMMENT ON COLUMN audit.checkpoints.public_key IS 'Raw 32-byte Ed25519 public key of the signer.';
COMMENT ON COLUMN audit.checkpoints.signature IS 'Raw 64-byte Ed25519 signature over statement.';
COMMENT ON COLUMN audit.checkpoints.recorded_by IS 'Database login that stored the checkpoint.';
