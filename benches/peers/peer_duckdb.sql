-- The night's reconciliation in DuckDB SQL; same rules as peer_pandas.py. peer_duckdb.py fills in the
-- file paths ({orders}, {stripe}, {adyen}) and a table bank(reference, amount, currency) from the
-- statements, then reads the result tables a_figures, a_amounts, b_figures, b_amounts.
CREATE TABLE orders AS
  SELECT order_id, amount, currency
  FROM read_csv('{orders}', header = true, quote = '"', escape = '"', columns = {{'order_id': 'VARCHAR', 'kind': 'VARCHAR',
    'beneficiary_id': 'VARCHAR', 'channel': 'VARCHAR', 'order_date': 'DATE', 'amount': 'DECIMAL(18,3)',
    'currency': 'VARCHAR'}});

CREATE TABLE channel AS
  WITH stripe AS (
    SELECT 'stripe:' || balance_transaction_id AS tx_id,
      CASE reporting_category WHEN 'dispute' THEN 'chargeback' ELSE reporting_category END AS kind,
      coalesce("payment_metadata[order_id]", "refund_metadata[order_id]") AS order_ref,
      coalesce(CAST(customer_facing_amount AS DECIMAL(18,3)), 0) AS amount,
      upper(customer_facing_currency) AS currency,
      'stripe:' || automatic_payout_id AS batch,
      CAST(net AS DECIMAL(18,3)) AS net, upper(currency) AS net_currency
    FROM read_csv('{stripe}', header = true, all_varchar = true, quote = '"', escape = '"')
  ), adyen AS (
    SELECT 'adyen:' || "Modification Reference" AS tx_id,
      CASE "Type" WHEN 'Settled' THEN 'charge' WHEN 'Refunded' THEN 'refund'
        WHEN 'Chargeback' THEN 'chargeback' ELSE 'fee' END AS kind,
      "Merchant Reference" AS order_ref,
      coalesce(CAST("Gross Credit (GC)" AS DECIMAL(18,3)), 0) - coalesce(CAST("Gross Debit (GC)" AS DECIMAL(18,3)), 0) AS amount,
      "Gross Currency" AS currency,
      'adyen:' || "Batch Number" AS batch,
      coalesce(CAST("Net Credit (NC)" AS DECIMAL(18,3)), 0) - coalesce(CAST("Net Debit (NC)" AS DECIMAL(18,3)), 0) AS net,
      "Net Currency" AS net_currency
    FROM read_csv('{adyen}', header = true, all_varchar = true, quote = '"', escape = '"')
    WHERE "Type" IN ('Settled', 'Refunded', 'Chargeback', 'Fee')
  )
  SELECT *, row_number() OVER () AS row FROM (SELECT * FROM stripe UNION ALL SELECT * FROM adyen);

-- Duplicated rows (same transaction id) are rejected and count nowhere else.
CREATE TABLE kept AS
  SELECT * FROM channel QUALIFY kind = 'fee' OR row_number() OVER (PARTITION BY tx_id ORDER BY row) = 1;

CREATE TABLE a_joined AS
  SELECT t.*, o.order_id, o.amount AS order_amount, o.currency AS order_currency,
    o.order_id IS NOT NULL AND t.amount = o.amount AND t.currency = o.currency AS agree
  FROM kept t LEFT JOIN orders o ON o.order_id = t.order_ref
  WHERE t.kind IN ('charge', 'refund');

CREATE TABLE a_figures AS SELECT
  (SELECT count(*) FILTER (agree) FROM a_joined) AS matches,
  (SELECT count(*) FILTER (order_id IS NOT NULL AND NOT agree) FROM a_joined) AS amount_mismatch,
  (SELECT count(*) FILTER (order_id IS NULL) FROM a_joined) AS no_order,
  (SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM a_joined j WHERE j.order_ref = o.order_id)) AS no_channel_transaction,
  (SELECT count(*) FROM kept WHERE kind = 'chargeback') AS chargeback,
  (SELECT (SELECT count(*) FROM channel) - (SELECT count(*) FROM kept)) AS duplicate_channel_transaction;

CREATE TABLE a_amounts AS SELECT order_currency AS currency, sum(order_amount) AS amount FROM a_joined WHERE agree GROUP BY 1;

-- Stage B: a batch is the net of its rows; Adyen's payout row must equal it.
CREATE TABLE batches AS SELECT batch, net_currency, sum(net) AS net FROM kept GROUP BY ALL;
CREATE TABLE bad_sums AS
  SELECT count(*) AS n FROM batches b JOIN (
    SELECT 'adyen:' || "Batch Number" AS batch,
      coalesce(CAST("Net Debit (NC)" AS DECIMAL(18,3)), 0) - coalesce(CAST("Net Credit (NC)" AS DECIMAL(18,3)), 0) AS payout
    FROM read_csv('{adyen}', header = true, all_varchar = true, quote = '"', escape = '"') WHERE "Type" = 'MerchantPayout'
  ) p USING (batch) WHERE b.net <> p.payout;

CREATE TABLE b_joined AS
  SELECT b.batch, b.net, b.net_currency, e.batch AS bank_batch, e.amount, e.currency,
    b.batch IS NOT NULL AND e.batch IS NOT NULL AND b.net = e.amount AND b.net_currency = e.currency AS same
  FROM batches b FULL OUTER JOIN (
    SELECT CASE WHEN starts_with(reference, 'po_') THEN 'stripe:' ELSE 'adyen:' END || reference AS batch,
      CAST(amount AS DECIMAL(18,3)) AS amount, currency FROM bank
  ) e ON e.batch = b.batch;

CREATE TABLE b_figures AS SELECT
  count(*) FILTER (same) AS matches,
  count(*) FILTER (batch IS NOT NULL AND bank_batch IS NOT NULL AND NOT same) AS amount_mismatch,
  count(*) FILTER (bank_batch IS NULL) AS no_bank_credit,
  count(*) FILTER (batch IS NULL) AS no_payout_batch
FROM b_joined;

CREATE TABLE b_amounts AS SELECT net_currency AS currency, sum(net) AS amount FROM b_joined WHERE same GROUP BY 1;
