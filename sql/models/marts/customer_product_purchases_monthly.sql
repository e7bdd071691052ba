-- grain: one row per customer_id, product_id and purchase_month with at least one item bought,
--        plus one row per customer in the snapshot who bought nothing (product_id and
--        purchase_month null, purchase_count 0)
-- materialized: table
--
-- purchase_count counts basket items, not baskets: the same product twice in one basket counts 2.
-- Purchases by a customer missing from the customers snapshot keep loyalty_score null; purchases
-- of a product missing from the products snapshot keep product_category null (the relationships
-- data tests report both).

with

customers as (

    select * from staging.stg_customers

),

products as (

    select * from staging.stg_products

),

items as (

    select * from staging.stg_transaction_items

),

monthly_counts as (

    select
        customer_id,
        product_id,
        purchase_month,
        count(*) as purchase_count
    from items
    group by customer_id, product_id, purchase_month

),

purchases as (

    select
        monthly_counts.customer_id,
        customers.loyalty_score,
        monthly_counts.product_id,
        products.product_category,
        monthly_counts.purchase_month,
        monthly_counts.purchase_count
    from monthly_counts
    left join customers
        on customers.customer_id = monthly_counts.customer_id
    left join products
        on products.product_id = monthly_counts.product_id

),

customers_without_purchases as (

    select
        customers.customer_id,
        customers.loyalty_score,
        cast(null as varchar) as product_id,
        cast(null as varchar) as product_category,
        cast(null as date) as purchase_month,
        0 as purchase_count
    from customers
    where not exists (
        select 1
        from monthly_counts
        where monthly_counts.customer_id = customers.customer_id
    )

),

final as (

    select
        customer_id,
        loyalty_score,
        product_id,
        product_category,
        purchase_month,
        purchase_count::bigint as purchase_count
    from purchases

    union all

    select
        customer_id,
        loyalty_score,
        product_id,
        product_category,
        purchase_month,
        purchase_count::bigint as purchase_count
    from customers_without_purchases

)

select * from final
