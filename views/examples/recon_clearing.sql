-- Processor clearing accounts: what each processor still holds, and what is on its way to the bank.
SELECT
    processor,
    currency,
    settled_net,
    paid_out,
    arrived_in_bank,
    clearing_balance,
    in_transit_to_bank
FROM analytics.rpt_clearing_balance
WHERE tenant_id = 'demo'
ORDER BY processor, currency;
