-- severity: warn
-- description: a customer_id appears more than once in the customers snapshot (staging keeps the last row)

select
    customer_id,
    count(*) as occurrences
from raw.customers__cut
where customer_id is not null
group by customer_id
having count(*) > 1
