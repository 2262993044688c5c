-- Privileges on the close and audit functions (re-applied on every reload: the functions are
-- recreated). Controllers (pgbooks_closer) close, reopen, export and verify; approvers sign the
-- second half of overrides; operators request overrides and read receipts; delivery (the worker)
-- only learns the posting date of a transaction. Nobody may call the chain writers directly.

REVOKE ALL ON ALL FUNCTIONS IN SCHEMA close FROM public;
GRANT EXECUTE ON FUNCTION
close.close_period(text, text, bigint, text),
close.reopen_period(text, text, bigint),
close.export_period(text, text),
close.audit__verify(text, bigint, bigint),
close.audit__head(text),
close.audit__export(text, bigint, bigint),
close.audit__coverage(),
close.checkpoint__record(text, text, bytea, bytea),
close.checkpoint__list(text),
close.audit__receipt(text, text),
close.override__request(text, text, text, text),
close.period__posting_date(text, date)
TO pgbooks_closer;
GRANT EXECUTE ON FUNCTION close.override__approve(text, bigint, text) TO pgbooks_approver;
GRANT EXECUTE ON FUNCTION close.override__request(text, text, text, text), close.audit__receipt(text, text)
TO pgbooks_operator;
GRANT USAGE ON SCHEMA close TO pgbooks_approver, pgbooks_operator;
