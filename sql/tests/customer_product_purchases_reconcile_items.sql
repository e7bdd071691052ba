-- severity: error
-- description: the purchase counts of the view add up to the number of loaded basket items

with

view_total as (

    select coalesce(sum(purchase_count), 0) as purchase_count
    from analytics.customer_product_purchases

),

items_total as (

    select count(*) as item_count
    from staging.stg_transaction_items

),

final as (

    select
        view_total.purchase_count,
        items_total.item_count
    from view_total
    cross join items_total
    where view_total.purchase_count <> items_total.item_count

)

select * from final
