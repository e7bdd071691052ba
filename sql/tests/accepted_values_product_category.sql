-- severity: error
-- description: every product category is one of the category list in shared/products.ts

select
    product_id,
    product_category
from staging.stg_products
where product_category is null
   or product_category not in ({{ accepted_categories }})
