-- severity: error
-- description: customer 360: first purchase <= last purchase, both set exactly when there are transactions

select
    customer_id,
    first_purchase_at,
    last_purchase_at,
    transaction_count
from analytics.customers
where first_purchase_at > last_purchase_at
   or (transaction_count > 0 and (first_purchase_at is null or last_purchase_at is null))
   or (transaction_count = 0 and (first_purchase_at is not null or last_purchase_at is not null))
