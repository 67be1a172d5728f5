"""The operator console's figures (issue #18.3-6), read from the billing records.

Nothing here stores a figure of its own: MRR and its movements come from the
subscriptions (today) and the invoices (past months), the collection figures from the
charges, receipts and invoices, the usage history from the daily account snapshots
(``snapshots``: the one table this package writes, because usage has no other history).
Every figure is per currency (rule MET-1: never summed across currencies), the currency
read through ``currency`` alone.

- ``currency``: an account's currency, in one place;
- ``mrr``: MRR and ARR today, the month-end MRR and its movements (MET-1, MET-2);
- ``collection``: active subscriptions and accounts, failed payments, amounts recovered
  by dunning and amounts past due;
- ``snapshots``: the daily account snapshot (taking it, and the usage read back);
- ``spend``: one account's invoiced amount per month (the customer's chart);
- ``exports``: the accountants' CSV files and the customer's inventory, streamed.

- ``trials``: trials in progress, converted and ended, and the conversion rate (TRI-1);
  a trial has no MRR until it converts (``mrr.in_trial``).
"""
