-- severity: error
-- description: keys of the published models must not be null

select 'analytics.customer_product_purchases' as model, 'customer_id' as column_name, count(*) as null_rows
from analytics.customer_product_purchases
where customer_id is null
having count(*) > 0

union all

select 'analytics.customer_product_purchases_monthly', 'customer_id', count(*)
from analytics.customer_product_purchases_monthly
where customer_id is null
having count(*) > 0

union all

select 'analytics.customers', 'customer_id', count(*)
from analytics.customers
where customer_id is null
having count(*) > 0

union all

select 'analytics.next_best_category', 'customer_id or recommended_category', count(*)
from analytics.next_best_category
where customer_id is null or recommended_category is null
having count(*) > 0
