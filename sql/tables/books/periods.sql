-- books.periods: accounting periods (calendar months) and whether they are closed. A row exists
-- once a period was closed (status closed) or reopened (status open); a month without a row is
-- open. Owned by the audit/close area (listed in sql/tables/audit/LOADORDER, migration 0005);
-- read by delivery through close.period__posting_date.

CREATE TABLE books.periods (
    tenant_id text NOT NULL REFERENCES orders.tenants (tenant_id),
    period_start date NOT NULL,
    period_end date NOT NULL,
    status text NOT NULL DEFAULT 'open',
    late_policy text NOT NULL DEFAULT 'reroute',
    closed_at timestamptz,
    closed_by text,
    override_id bigint,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, period_start),
    CONSTRAINT periods_is_a_month CHECK (
        period_start = date_trunc('month', period_start)::date
        AND period_end = (period_start + interval '1 month' - interval '1 day')::date
    ),
    CONSTRAINT periods_status_known CHECK (status IN ('open', 'closed')),
    CONSTRAINT periods_late_policy_known CHECK (late_policy IN ('reroute', 'refuse')),
    CONSTRAINT periods_closed_has_closer CHECK ((status = 'closed') = (closed_at IS NOT NULL))
);

COMMENT ON TABLE books.periods IS
'Accounting periods (months) per tenant and their close state; a month without a row is open.';
COMMENT ON COLUMN books.periods.tenant_id IS 'Owning tenant.';
COMMENT ON COLUMN books.periods.period_start IS 'First day of the month.';
COMMENT ON COLUMN books.periods.period_end IS 'Last day of the month.';
COMMENT ON COLUMN books.periods.status IS 'open or closed; nothing posts into a closed period.';
COMMENT ON COLUMN books.periods.late_policy IS
'What happens to a document dated in this closed period: reroute (to the first open date) or refuse (PB721).';
COMMENT ON COLUMN books.periods.closed_at IS 'When the period was (last) closed; NULL while open.';
COMMENT ON COLUMN books.periods.closed_by IS 'Application user (or role) who closed it.';
COMMENT ON COLUMN books.periods.override_id IS
'Four-eyes override used to close or reopen it, if any (audit.overrides).';
COMMENT ON COLUMN books.periods.updated_at IS 'When the row last changed.';
