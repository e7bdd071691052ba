-- severity: error
-- description: analytics.customers must have exactly one row per customer_id

select
    customer_id,
    count(*) as occurrences
from analytics.customers
group by customer_id
having count(*) > 1
