-- severity: error
-- description: every customer of the snapshot appears in the purchase view

select
    customers.customer_id
from staging.stg_customers as customers
where not exists (
    select 1
    from analytics.customer_product_purchases as purchases
    where purchases.customer_id = customers.customer_id
)
