-- grain: one row per product_id in the products snapshot
-- materialized: view
--
-- Typed and deduplicated products, as stg_customers. Categories are compared in lower case with
-- surrounding blanks removed, so 'House ' and 'house' are the same category; a category outside
-- the single category list is kept here and reported by accepted_values_product_category.

with

source as (

    select * from raw.products__cut

),

typed as (

    select
        product_id::varchar as product_id,
        product_description::varchar as product_description,
        nullif(lower(trim(product_category)), '') as product_category,
        _loaded_at,
        _line_number
    from source
    where product_id is not null
      and trim(product_id) <> ''

),

final as (

    select
        product_id,
        product_description,
        product_category
    from typed
    qualify row_number() over (
        partition by product_id
        order by _loaded_at desc, _line_number desc
    ) = 1

)

select * from final
