-- severity: warn
-- description: products without a product_id (left out of the models) or without a category

select
    _file_key as file_key,
    _line_number as line_number,
    product_id,
    product_category
from raw.products__cut
where product_id is null
   or trim(product_id) = ''
   or product_category is null
   or trim(product_category) = ''
