-- grain: one row per basket item of a loaded transaction; the same product twice in one basket is
--        two rows
-- materialized: view
--
-- Basket items as the ingest flattened them (raw.transaction_items, one row per item), restricted
-- to transactions that are loaded, with the customer and time taken from the transaction itself.

with

transactions as (

    select * from staging.stg_transactions

),

items as (

    select * from raw.transaction_items__cut

),

typed_items as (

    select
        transaction_id::varchar as transaction_id,
        item_index::integer as item_index,
        product_id::varchar as product_id,
        price::decimal(18, 2) as price
    from items

),

final as (

    select
        typed_items.transaction_id,
        typed_items.item_index,
        transactions.customer_id,
        typed_items.product_id,
        typed_items.price,
        transactions.purchased_at,
        date_trunc('month', transactions.purchased_at)::date as purchase_month
    from typed_items
    inner join transactions
        on transactions.transaction_id = typed_items.transaction_id
    qualify row_number() over (
        partition by typed_items.transaction_id, typed_items.item_index
        order by typed_items.product_id
    ) = 1

)

select * from final
