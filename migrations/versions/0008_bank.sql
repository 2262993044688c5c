-- 0008 bank: imported bank statements, their lines and payout matches (schema ingest).
-- Mirrors sql/tables/ingest/bank/*.sql.

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

-- ingest.bank_matches: which payout was found in which bank deposit line. One payout matches at
-- most one bank line; a bank line may carry several payouts (many-to-one: the bank batched
-- them). Written by api.bank__match and by an operator; no foreign key to orders.payouts so a
-- payout's row may be rewritten by its normalizer without touching the match.

CREATE TABLE ingest.bank_matches (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    channel_id text NOT NULL,
    payout_id text NOT NULL,
    bank_line_id bigint NOT NULL,
    rule text NOT NULL,
    payout_amount numeric(20, 4) NOT NULL,
    reason text,
    matched_by text NOT NULL DEFAULT current_user,
    matched_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, channel_id, payout_id),
    CONSTRAINT bank_matches_bank_line_fk FOREIGN KEY (tenant_id, bank_line_id)
    REFERENCES ingest.bank_lines (tenant_id, bank_line_id),
    CONSTRAINT bank_matches_rule_known CHECK (rule IN ('reference', 'amount_date', 'batch', 'manual')),
    CONSTRAINT bank_matches_manual_has_reason CHECK (rule <> 'manual' OR btrim(reason) <> '')
);

CREATE INDEX bank_matches_bank_line_idx ON ingest.bank_matches (tenant_id, bank_line_id);

COMMENT ON TABLE ingest.bank_matches IS
'Payout to bank deposit matches: one-to-one, or many payouts to one deposit line (batch).';
COMMENT ON COLUMN ingest.bank_matches.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN ingest.bank_matches.channel_id IS 'Channel (provider account) of the payout.';
COMMENT ON COLUMN ingest.bank_matches.payout_id IS 'Matched payout (orders.payouts).';
COMMENT ON COLUMN ingest.bank_matches.bank_line_id IS 'Bank deposit line the payout arrived in.';
COMMENT ON COLUMN ingest.bank_matches.rule IS
'How it was matched: reference (bank reference found), amount_date (unique amount within the date window), '
'batch (several payouts summing to one deposit) or manual.';
COMMENT ON COLUMN ingest.bank_matches.payout_amount IS 'Payout amount at match time (detects a later change).';
COMMENT ON COLUMN ingest.bank_matches.reason IS 'Why an operator matched it by hand (manual matches).';
COMMENT ON COLUMN ingest.bank_matches.matched_by IS 'Application user (pgbooks.user) or role that matched.';
COMMENT ON COLUMN ingest.bank_matches.matched_at IS 'When it was matched.';
