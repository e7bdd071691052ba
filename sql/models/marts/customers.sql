-- grain: one row per customer in the customers snapshot (customer 360)
-- materialized: table
--
-- A transaction is a purchase even when its basket is empty: it counts in transaction_count and in
-- the first and last purchase times. Amounts are sums of item prices; one <category>_amount column
-- per category of the single category list, and uncategorised_amount for items whose product is
-- unknown or whose category is not in the list, so the category amounts always add up to
-- total_amount. Customers seen only in transactions are not here (unique on the snapshot; the
-- relationships data test reports them).

with

customers as (

    select * from staging.stg_customers

),

products as (

    select * from staging.stg_products

),

transactions as (

    select * from staging.stg_transactions

),

items as (

    select * from staging.stg_transaction_items

),

categorised_items as (

    select
        items.customer_id,
        items.price,
        case
            when products.product_category in ({{ accepted_categories }})
                then products.product_category
        end as product_category
    from items
    left join products
        on products.product_id = items.product_id

),

transaction_facts as (

    select
        customer_id,
        min(purchased_at) as first_purchase_at,
        max(purchased_at) as last_purchase_at,
        count(*) as transaction_count
    from transactions
    group by customer_id

),

item_facts as (

    select
        customers.customer_id,
        count(categorised_items.price) as item_count,
        coalesce(sum(categorised_items.price), 0)::decimal(38, 2) as total_amount,
        {{ category_amount_columns }},
        sum(
            case
                when categorised_items.price is not null and categorised_items.product_category is null
                    then categorised_items.price
                else 0
            end
        )::decimal(38, 2) as uncategorised_amount
    from customers
    left join categorised_items
        on categorised_items.customer_id = customers.customer_id
    group by customers.customer_id

),

final as (

    select
        customers.customer_id,
        customers.loyalty_score,
        transaction_facts.first_purchase_at,
        transaction_facts.last_purchase_at,
        coalesce(transaction_facts.transaction_count, 0)::bigint as transaction_count,
        item_facts.item_count::bigint as item_count,
        item_facts.total_amount,
        {{ category_amount_names }},
        item_facts.uncategorised_amount
    from customers
    inner join item_facts
        on item_facts.customer_id = customers.customer_id
    left join transaction_facts
        on transaction_facts.customer_id = customers.customer_id

)

select * from final
