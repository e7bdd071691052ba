-- severity: error
-- description: the purchase view must have one row per (customer_id, product_id)

select
    customer_id,
    product_id,
    count(*) as occurrences
from analytics.customer_product_purchases
group by customer_id, product_id
having count(*) > 1
