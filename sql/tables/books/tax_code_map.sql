-- books.tax_code_map: for the per_line_codes tax model, which QuickBooks TaxCode a source tax
-- line maps to. Keyed by the tax line title as the platform names it (e.g. "VAT 20%"), or
-- 'rate:<decimal>' (e.g. 'rate:0.2') when titles vary; 'exempt' for untaxed lines.

CREATE TABLE books.tax_code_map (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    tax_key text NOT NULL,
    tax_code_id text NOT NULL,
    tax_code_name text,
    source text NOT NULL DEFAULT 'manual',
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, tax_key),
    CONSTRAINT tax_code_map_tax_key_not_blank CHECK (btrim(tax_key) <> ''),
    CONSTRAINT tax_code_map_source_known CHECK (source IN ('discovered', 'manual'))
);

COMMENT ON TABLE books.tax_code_map IS
'Source tax line (title, rate:<r> or exempt) → QuickBooks TaxCode id, used by the per_line_codes tax model.';
COMMENT ON COLUMN books.tax_code_map.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.tax_code_map.tax_key IS
'Tax line title as sent by the platform, rate:<decimal rate>, or exempt.';
COMMENT ON COLUMN books.tax_code_map.tax_code_id IS 'QuickBooks TaxCode Id (or the pseudo codes TAX / NON).';
COMMENT ON COLUMN books.tax_code_map.tax_code_name IS 'TaxCode name in QuickBooks (informational).';
COMMENT ON COLUMN books.tax_code_map.source IS 'discovered (TaxCode name equals the key) or manual.';
COMMENT ON COLUMN books.tax_code_map.updated_at IS 'When the row last changed.';
