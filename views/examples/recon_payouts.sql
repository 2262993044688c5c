-- Where is each payout? Its balance transactions, document, bank deposit and state.
SELECT
    processor,
    payout_id,
    payout_status,
    payout_amount,
    charges_gross,
    processor_fees,
    source_difference,
    match_rule,
    bank_date,
    bank_line_amount,
    recon_state
FROM analytics.rpt_payout_reconciliation
WHERE tenant_id = 'demo'
ORDER BY expected_on, channel_id, payout_id;
