-- severity: warn
-- description: a product_id appears more than once in the products snapshot (staging keeps the last row)

select
    product_id,
    count(*) as occurrences
from raw.products__cut
where product_id is not null
group by product_id
having count(*) > 1
