-- books.qbo_close_dates: the QuickBooks books closing date (Preferences
-- AccountingInfoPrefs.BookCloseDate) of each tenant's company, as last read: at discovery
-- (pgbooks connect), on the worker's schedule (qbo_close_refresh) and after a 6210 "Account
-- Period Closed" fault. A row changes only when the date changes, so every change is one audited
-- write (reason SETTING_CHANGE). Honoured like a local close (logic.books_period__closed_through).

CREATE TABLE books.qbo_close_dates (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    realm_id text NOT NULL,
    book_close_date date,
    source text NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, realm_id),
    CONSTRAINT qbo_close_dates_source_known CHECK (source IN ('discovery', 'schedule', 'fault_6210', 'manual'))
);

COMMENT ON TABLE books.qbo_close_dates IS
'QuickBooks books closing date per tenant and realm (company preferences), as last read; honoured as a closed period.';
COMMENT ON COLUMN books.qbo_close_dates.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.qbo_close_dates.realm_id IS 'QuickBooks company (realmId) the date was read from.';
COMMENT ON COLUMN books.qbo_close_dates.book_close_date IS
'AccountingInfoPrefs.BookCloseDate: QuickBooks refuses (6210) transactions dated on or before it; NULL = books open.';
COMMENT ON COLUMN books.qbo_close_dates.source IS
'What read the current value: discovery (connect), schedule (worker job qbo_close_refresh), fault_6210, manual.';
COMMENT ON COLUMN books.qbo_close_dates.changed_at IS 'When the stored closing date last changed (or was first read).';
