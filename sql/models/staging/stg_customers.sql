-- grain: one row per customer_id in the customers snapshot
-- materialized: view
--
-- Typed and deduplicated customers. A new customers.csv replaces the previous snapshot on load, so
-- raw.customers normally holds one row per id; staging still keeps exactly one (newest load, then
-- last line of the file) so a duplicated id in a source file can never fan out the marts. The
-- duplicate itself is reported by the data test unique_raw_customers_customer_id.

with

source as (

    select * from raw.customers__cut

),

typed as (

    select
        customer_id::varchar as customer_id,
        loyalty_score::integer as loyalty_score,
        _loaded_at,
        _line_number
    from source
    where customer_id is not null
      and trim(customer_id) <> ''

),

final as (

    select
        customer_id,
        loyalty_score
    from typed
    qualify row_number() over (
        partition by customer_id
        order by _loaded_at desc, _line_number desc
    ) = 1

)

select * from final
