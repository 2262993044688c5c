-- books.document_lines: the lines of each document in provider-neutral form, for analysts and
-- for the totals check. Rebuilt with the document (deleted and re-inserted on every version).
-- amount is what the document carries; source_amount is what the platform stated; when the
-- platform's rounding differs from QuickBooks' round_half_up(qty × unit_price, 2) the line is
-- sent as an amount without qty × price and rounding_note says so (no plug line).

CREATE TABLE books.document_lines (
    tenant_id text NOT NULL,
    document_id bigint NOT NULL,
    line_no integer NOT NULL,
    kind text NOT NULL,
    description text,
    sku text,
    qty numeric(20, 6),
    unit_price numeric(20, 6),
    amount numeric(20, 4) NOT NULL,
    source_amount numeric(20, 4),
    account_role text,
    tax_key text,
    rounding_note text,
    PRIMARY KEY (tenant_id, document_id, line_no),
    CONSTRAINT document_lines_document_fk FOREIGN KEY (tenant_id, document_id)
    REFERENCES books.documents (tenant_id, document_id) ON DELETE CASCADE,
    CONSTRAINT document_lines_kind_known CHECK (kind IN (
        'item', 'discount', 'shipping', 'tax', 'gift_card', 'tender', 'payment', 'refund', 'fee',
        'charge', 'adjustment', 'deposit', 'summary'
    ))
);

COMMENT ON TABLE books.document_lines IS
'Provider-neutral lines of each document (amounts signed as the document shows them), for analysts and checks.';
COMMENT ON COLUMN books.document_lines.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.document_lines.document_id IS 'Document the line belongs to.';
COMMENT ON COLUMN books.document_lines.line_no IS 'Position of the line in the document (1-based).';
COMMENT ON COLUMN books.document_lines.kind IS
'item, discount, shipping, tax, gift_card, tender, payment, refund, fee, charge, adjustment, deposit or summary.';
COMMENT ON COLUMN books.document_lines.description IS 'Line text.';
COMMENT ON COLUMN books.document_lines.sku IS 'SKU of the product line, if any.';
COMMENT ON COLUMN books.document_lines.qty IS 'Quantity sent (NULL when the line is sent as an amount only).';
COMMENT ON COLUMN books.document_lines.unit_price IS 'Unit price sent (NULL when the line is sent as an amount only).';
COMMENT ON COLUMN books.document_lines.amount IS 'Line amount in the document currency, as QuickBooks will hold it.';
COMMENT ON COLUMN books.document_lines.source_amount IS 'Amount the platform stated for this line.';
COMMENT ON COLUMN books.document_lines.account_role IS
'books.account_map role the line posts to, when it names an account.';
COMMENT ON COLUMN books.document_lines.tax_key IS 'Tax key of the line (per_line_codes model).';
COMMENT ON COLUMN books.document_lines.rounding_note IS
'Set when the platform''s qty × price rounding differs from QuickBooks'' and the line is sent amount-only.';
