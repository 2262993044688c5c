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
