-- severity: warn
-- description: transactions whose customer_id is not in the customers snapshot (loyalty_score is null for them)

select
    transactions.customer_id,
    count(*) as transactions
from staging.stg_transactions as transactions
left join staging.stg_customers as customers
    on customers.customer_id = transactions.customer_id
where customers.customer_id is null
group by transactions.customer_id
