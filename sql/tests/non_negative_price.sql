-- severity: error
-- description: no basket item has a negative price

select
    transaction_id,
    item_index,
    product_id,
    price
from staging.stg_transaction_items
where price < 0
