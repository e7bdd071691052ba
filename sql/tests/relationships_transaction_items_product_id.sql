-- severity: warn
-- description: basket items whose product_id is not in the products snapshot (product_category is null for them)

select
    items.product_id,
    count(*) as items
from staging.stg_transaction_items as items
left join staging.stg_products as products
    on products.product_id = items.product_id
where products.product_id is null
group by items.product_id
