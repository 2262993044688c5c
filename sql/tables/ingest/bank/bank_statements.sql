-- ingest.bank_statements: one row per account statement read from an imported bank file (a
-- file may hold several accounts or periods). Importing the same file again finds the same
-- rows (file_sha256, statement_index) and adds nothing.

CREATE TABLE ingest.bank_statements (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    statement_id bigint GENERATED ALWAYS AS IDENTITY,
    file_sha256 text NOT NULL,
    statement_index integer NOT NULL,
    file_name text,
    format text NOT NULL,
    account_id text NOT NULL,
    currency character(3) NOT NULL,
    bank text,
    bank_statement_id text,
    period_start date,
    period_end date,
    opening_balance numeric(20, 4),
    closing_balance numeric(20, 4),
    line_count integer NOT NULL,
    new_line_count integer NOT NULL,
    imported_by text NOT NULL DEFAULT current_user,
    imported_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, statement_id),
    CONSTRAINT bank_statements_one_per_file_index UNIQUE (tenant_id, file_sha256, statement_index),
    CONSTRAINT bank_statements_sha256_format CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    CONSTRAINT bank_statements_format_known CHECK (format IN ('ofx', 'camt', 'bai2', 'mt940', 'csv')),
    CONSTRAINT bank_statements_currency_format CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT bank_statements_account_not_blank CHECK (btrim(account_id) <> ''),
    CONSTRAINT bank_statements_counts_valid CHECK (line_count >= 0 AND new_line_count BETWEEN 0 AND line_count)
);

COMMENT ON TABLE ingest.bank_statements IS
'Bank statements imported from files (OFX/QFX, camt.05x, BAI2, MT940, CSV); one row per account statement.';
COMMENT ON COLUMN ingest.bank_statements.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN ingest.bank_statements.statement_id IS 'Surrogate key (unique within the tenant).';
COMMENT ON COLUMN ingest.bank_statements.file_sha256 IS 'sha256 (hex) of the imported file''s bytes.';
COMMENT ON COLUMN ingest.bank_statements.statement_index IS 'Position of this statement in its file (0-based).';
COMMENT ON COLUMN ingest.bank_statements.file_name IS 'File name as given to the import, for the operator.';
COMMENT ON COLUMN ingest.bank_statements.format IS 'File format: ofx, camt, bai2, mt940 or csv.';
COMMENT ON COLUMN ingest.bank_statements.account_id IS 'Bank account as the file names it (IBAN, account number).';
COMMENT ON COLUMN ingest.bank_statements.currency IS 'ISO 4217 currency of the account.';
COMMENT ON COLUMN ingest.bank_statements.bank IS 'Bank (BIC, routing number or name) when the file says.';
COMMENT ON COLUMN ingest.bank_statements.bank_statement_id IS 'The bank''s own statement id, when given.';
COMMENT ON COLUMN ingest.bank_statements.period_start IS 'First day the statement covers, when known.';
COMMENT ON COLUMN ingest.bank_statements.period_end IS 'Last day the statement covers, when known.';
COMMENT ON COLUMN ingest.bank_statements.opening_balance IS 'Opening booked balance stated by the bank.';
COMMENT ON COLUMN ingest.bank_statements.closing_balance IS 'Closing booked balance stated by the bank.';
COMMENT ON COLUMN ingest.bank_statements.line_count IS 'Lines the statement holds.';
COMMENT ON COLUMN ingest.bank_statements.new_line_count IS
'Lines this import stored; the rest were already stored by an earlier import (dedup).';
COMMENT ON COLUMN ingest.bank_statements.imported_by IS 'Application user (pgbooks.user) or role that imported it.';
COMMENT ON COLUMN ingest.bank_statements.imported_at IS 'When it was imported.';
