-- Each order against its accounting document, then accuracy per tenant and month.
SELECT
    order_id,
    order_total,
    document_type,
    document_status,
    document_total,
    difference,
    recon_state
FROM analytics.rpt_order_reconciliation
WHERE tenant_id = 'demo'
ORDER BY order_id;

SELECT
    period,
    currency,
    orders,
    reconciled,
    not_reconciled,
    order_amount,
    reconciled_amount,
    accuracy_pct
FROM analytics.rpt_recon_accuracy
WHERE tenant_id = 'demo'
ORDER BY period, currency;
