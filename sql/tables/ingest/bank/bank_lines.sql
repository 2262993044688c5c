-- ingest.bank_lines: each booked movement of a bank account, stored once. The dedup key is the
-- bank's transaction id when the bank gives a unique one, else a fingerprint (sha256 of
-- account, date, amount, currency, description and the ordinal among identical lines).

CREATE TABLE ingest.bank_lines (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    bank_line_id bigint GENERATED ALWAYS AS IDENTITY,
    statement_id bigint NOT NULL,
    account_id text NOT NULL,
    dedup_key text NOT NULL,
    bank_transaction_id text,
    fingerprint text NOT NULL,
    booking_date date NOT NULL,
    value_date date,
    amount numeric(20, 4) NOT NULL,
    currency character(3) NOT NULL,
    description text NOT NULL DEFAULT '',
    counterparty_name text,
    counterparty_ref text,
    reference text,
    transaction_code text,
    source text NOT NULL DEFAULT '',
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, bank_line_id),
    CONSTRAINT bank_lines_statement_fk FOREIGN KEY (tenant_id, statement_id)
    REFERENCES ingest.bank_statements (tenant_id, statement_id),
    CONSTRAINT bank_lines_once_per_account UNIQUE (tenant_id, account_id, dedup_key),
    CONSTRAINT bank_lines_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT bank_lines_fingerprint_format CHECK (fingerprint ~ '^[0-9a-f]{64}$'),
    CONSTRAINT bank_lines_dedup_key_not_blank CHECK (btrim(dedup_key) <> '')
);

CREATE INDEX bank_lines_deposit_idx ON ingest.bank_lines (tenant_id, currency, amount, booking_date)
WHERE amount > 0;
CREATE INDEX bank_lines_statement_idx ON ingest.bank_lines (tenant_id, statement_id);

COMMENT ON TABLE ingest.bank_lines IS
'Bank statement lines, each stored once per account (dedup by bank transaction id or fingerprint).';
COMMENT ON COLUMN ingest.bank_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN ingest.bank_lines.bank_line_id IS 'Surrogate key (unique within the tenant).';
COMMENT ON COLUMN ingest.bank_lines.statement_id IS 'Statement (import) that first stored the line.';
COMMENT ON COLUMN ingest.bank_lines.account_id IS 'Bank account as the file names it.';
COMMENT ON COLUMN ingest.bank_lines.dedup_key IS
'Bank transaction id when unique in its file, else the fingerprint: the line''s identity within the account.';
COMMENT ON COLUMN ingest.bank_lines.bank_transaction_id IS 'The bank''s transaction id (FITID, AcctSvcrRef, ...).';
COMMENT ON COLUMN ingest.bank_lines.fingerprint IS
'sha256 of account|date|amount|currency|description|ordinal, stable across re-imports of the same file.';
COMMENT ON COLUMN ingest.bank_lines.booking_date IS 'Date the bank booked the movement.';
COMMENT ON COLUMN ingest.bank_lines.value_date IS 'Value date, when given.';
COMMENT ON COLUMN ingest.bank_lines.amount IS 'Signed amount: positive into the account (deposit), negative out.';
COMMENT ON COLUMN ingest.bank_lines.currency IS 'ISO 4217 currency of the amount.';
COMMENT ON COLUMN ingest.bank_lines.description IS 'Narrative / remittance text, whitespace collapsed.';
COMMENT ON COLUMN ingest.bank_lines.counterparty_name IS 'Name of the other party, when given.';
COMMENT ON COLUMN ingest.bank_lines.counterparty_ref IS 'Account of the other party (IBAN, ...), when given.';
COMMENT ON COLUMN ingest.bank_lines.reference IS 'End-to-end / customer reference, used to match payouts.';
COMMENT ON COLUMN ingest.bank_lines.transaction_code IS 'Bank transaction code (BAI2 type code, MT940 GV code, ...).';
COMMENT ON COLUMN ingest.bank_lines.source IS 'Where in the file the line was read (line N or element path).';
COMMENT ON COLUMN ingest.bank_lines.imported_at IS 'When it was stored.';
