-- grain: one row per customer_id and product_id with at least one item bought, plus one row per
--        customer in the snapshot who bought nothing (product_id null, purchase_count 0)
-- materialized: view
--
-- The view the data scientists asked for (docs/ARCHITECTURE.md §6), exactly these five columns in this
-- order. It reads the monthly table of the same rebuild, so the view, the monthly table and the
-- weekly export always show the same tested snapshot.

with

monthly as (

    select * from analytics.customer_product_purchases_monthly

),

final as (

    select
        customer_id,
        loyalty_score,
        product_id,
        product_category,
        sum(purchase_count)::bigint as purchase_count
    from monthly
    group by customer_id, loyalty_score, product_id, product_category

)

select * from final
