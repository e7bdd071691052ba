-- grain: one row per customer in the customers snapshot
-- materialized: table
--
-- Next best category (method in docs/MODELS.md). Candidates are the categories the customer has
-- bought least (never bought, when there are any). Each candidate is scored by its affinity to what
-- the customer buys: for every category a the customer bought, the confidence of a -> candidate
-- (share of a's buyers who also bought the candidate) weighted by a's share of the customer's
-- items. The best-scoring candidate wins; when no candidate has any affinity (a new customer, or
-- nobody co-buys) the most popular candidate wins (share of buyers who bought it). Scores are
-- rounded to 6 decimals so ties break the same way on every engine: higher score, then higher
-- popularity, then category name.

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

categories as (

    select category
    from (values {{ category_values }}) as category_list (category)

),

customer_category_items as (

    select
        items.customer_id,
        products.product_category as category,
        count(*) as item_count
    from items
    inner join products
        on products.product_id = items.product_id
    inner join categories
        on categories.category = products.product_category
    group by items.customer_id, products.product_category

),

customer_item_totals as (

    select
        customer_id,
        sum(item_count) as item_count
    from customer_category_items
    group by customer_id

),

category_buyers as (

    select
        category,
        count(*) as buyer_count
    from customer_category_items
    group by category

),

all_buyers as (

    select count(distinct customer_id) as buyer_count
    from customer_category_items

),

co_buyers as (

    select
        bought.category as from_category,
        also_bought.category as to_category,
        count(*) as buyer_count
    from customer_category_items as bought
    inner join customer_category_items as also_bought
        on also_bought.customer_id = bought.customer_id
        and also_bought.category <> bought.category
    group by bought.category, also_bought.category

),

affinity as (

    select
        co_buyers.from_category,
        co_buyers.to_category,
        co_buyers.buyer_count::double / category_buyers.buyer_count as confidence
    from co_buyers
    inner join category_buyers
        on category_buyers.category = co_buyers.from_category

),

popularity as (

    select
        categories.category,
        coalesce(
            coalesce(category_buyers.buyer_count, 0)::double / nullif(all_buyers.buyer_count, 0),
            0
        ) as popularity
    from categories
    cross join all_buyers
    left join category_buyers
        on category_buyers.category = categories.category

),

candidates as (

    select
        customers.customer_id,
        categories.category,
        coalesce(customer_category_items.item_count, 0) as own_item_count
    from customers
    cross join categories
    left join customer_category_items
        on customer_category_items.customer_id = customers.customer_id
        and customer_category_items.category = categories.category

),

least_bought as (

    select *
    from candidates
    qualify own_item_count = min(own_item_count) over (partition by customer_id)

),

affinity_scores as (

    select
        least_bought.customer_id,
        least_bought.category,
        sum(
            bought.item_count::double / customer_item_totals.item_count * affinity.confidence
        ) as affinity_score
    from least_bought
    inner join customer_category_items as bought
        on bought.customer_id = least_bought.customer_id
        and bought.category <> least_bought.category
    inner join customer_item_totals
        on customer_item_totals.customer_id = least_bought.customer_id
    inner join affinity
        on affinity.from_category = bought.category
        and affinity.to_category = least_bought.category
    group by least_bought.customer_id, least_bought.category

),

scored as (

    select
        least_bought.customer_id,
        least_bought.category,
        round(coalesce(affinity_scores.affinity_score, 0), 6) as affinity_score,
        round(popularity.popularity, 6) as popularity
    from least_bought
    left join affinity_scores
        on affinity_scores.customer_id = least_bought.customer_id
        and affinity_scores.category = least_bought.category
    inner join popularity
        on popularity.category = least_bought.category

),

best as (

    select *
    from scored
    qualify row_number() over (
        partition by customer_id
        order by affinity_score desc, popularity desc, category
    ) = 1

),

categories_bought as (

    select
        customer_id,
        count(*) as category_count
    from customer_category_items
    group by customer_id

),

final as (

    select
        best.customer_id,
        best.category as recommended_category,
        case when best.affinity_score > 0 then 'affinity' else 'popularity' end as method,
        case when best.affinity_score > 0 then best.affinity_score else best.popularity end as score,
        coalesce(categories_bought.category_count, 0)::integer as categories_bought
    from best
    left join categories_bought
        on categories_bought.customer_id = best.customer_id

)

select * from final
